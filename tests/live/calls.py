"""Placing calls on the live Asterisk through the real `CallController`, and what a test checks
after each: nothing of the call left in Asterisk, and its recording."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

from audiosocket import AudioSocketServer
from bot.call.call import CallRecord
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.speech.pcm import Audio


def call_config(server: AudioSocketServer, *, ring_timeout: int = 10) -> CallConfig:
    return CallConfig(audiosocket_address=server.address, ring_timeout=ring_timeout,
                      caller_id="MiniBot <0162000000>")


async def place(asterisk, recognizer, callee: str, conversation, *, ring_timeout: int = 10,
                timeout: float = 90) -> CallRecord:
    """One call to Local/<callee>@callee-sim; asserts Asterisk holds nothing of it afterwards."""
    async with AudioSocketServer("127.0.0.1", 0) as server, \
            CallController(asterisk.ari_config(), call_config(server, ring_timeout=ring_timeout),
                           server, recognizer) as ctl:
        record = await asyncio.wait_for(ctl.place_call(f"Local/{callee}@callee-sim", conversation), timeout)
    assert_nothing_left(asterisk)
    return record


def assert_nothing_left(asterisk) -> None:
    assert asterisk.channels() == [], asterisk.rx("core show channels")
    assert asterisk.bridges() == [], asterisk.rx("bridge show all")


def recording(asterisk, record: CallRecord) -> Audio:
    """The call's recording as Asterisk wrote it (8 kHz WAV in its spool)."""
    assert record.recording, "the call has no recording"
    path = Path(record.recording)
    if not path.is_absolute():
        path = asterisk.recordings / f"{record.recording}.wav"
    with wave.open(str(path)) as w:
        return Audio(w.readframes(w.getnframes()), w.getframerate())


def loud_seconds(audio: Audio, threshold: float = 300.0) -> float:
    """Seconds of the recording louder than `threshold` (RMS of 20 ms frames)."""
    import numpy as np

    samples = np.frombuffer(audio.pcm, dtype="<i2").astype(np.float64)
    frame = audio.sample_rate // 50
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
    rms = np.sqrt((frames**2).mean(axis=1)) if len(frames) else np.zeros(0)
    return float((rms > threshold).sum()) * 0.02


class Observer:
    """Every event of the live Asterisk (an ARI app subscribed to everything), for checking what
    happened to channels MiniBot does not own (the far side of a Local channel, a refused call)."""

    def __init__(self, asterisk) -> None:
        self.asterisk = asterisk
        self.events: list[dict] = []
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Observer:
        import aiohttp

        config = self.asterisk.ari_config()
        self._session = aiohttp.ClientSession(headers=config.auth_headers(), timeout=aiohttp.ClientTimeout(total=10))
        url = f"ws://127.0.0.1:{self.asterisk.http_port}/ari/events?app=observer&subscribeAll=true"
        self._ws = await self._session.ws_connect(url)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self._ws.close()
        await self._session.close()

    async def _read(self) -> None:
        import json

        async for message in self._ws:
            self.events.append(json.loads(message.data))
            self._changed.set()

    async def wait_for(self, predicate, timeout: float) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

    async def dial_in(self, *, caller: str, called: str, callee: str) -> str:
        """An inbound call: Local/<called>@minibot-inbound from `caller`; the far side (the person
        calling) is `[callee-sim]` `callee`. Returns the far side's channel id."""
        config = self.asterisk.ari_config()
        params = {"endpoint": f"Local/{called}@minibot-inbound", "context": "callee-sim", "extension": callee,
                  "priority": "1", "callerId": f"<{caller}>"}
        async with self._session.post(f"{config.url}/channels", params=params) as response:
            assert response.status == 200, await response.text()
            return (await response.json())["id"]
