"""The `scripted` callee's far end: an AudioSocket server where `[callee-sim]` `scripted` connects
(`AudioSocket(${UUID()},${MINIBOT_SCRIPTED})`). It speaks what the test gives it, at the times
given, and records what the callee hears from MiniBot, timed on the wire.

AudioSocket() hangs up after 2 s without audio either way, so it streams 20 ms frames of slin 8 kHz
continuously, silence included, paced by the monotonic clock.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np

from audiosocket.codec import Decoder, Kind, encode_audio, encode_hangup
from bot.speech.pcm import Audio

RATE = 8000
FRAME = RATE // 50 * 2  # bytes in 20 ms


@dataclass
class Heard:
    connected_at: float | None = None  # monotonic: Asterisk connected (the callee answered)
    frames: list[tuple[float, bytes]] = field(default_factory=list)  # (monotonic, 20 ms of slin 8 kHz)

    def _loud(self, threshold: float) -> list[tuple[float, bool]]:
        out = []
        for at, pcm in self.frames:
            samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
            out.append((at, bool(len(samples)) and float(np.sqrt((samples**2).mean())) > threshold))
        return out

    def first_sound_at(self, threshold: float = 300.0) -> float | None:
        """When the callee first heard sound (RMS of a frame over `threshold`)."""
        return next((at for at, loud in self._loud(threshold) if loud), None)

    def quiet_from(self, after: float, *, hold: float = 0.3, threshold: float = 300.0) -> float | None:
        """The first instant after `after` from which the callee heard `hold` seconds of silence
        (a stopped prompt, on the wire). Asterisk sends no frames at all while nothing plays: a
        gap is silence too."""
        since, previous = None, after
        for at, loud in [*self._loud(threshold), (float("inf"), True)]:
            if at < after:
                continue
            if since is None and at - previous > 0.06:
                since = previous + 0.02  # nothing came: silent since the last frame
            if since is not None and at - since >= hold:
                return since
            if loud:
                since = None
            elif since is None:
                since = at
            previous = at
        return None


class ScriptedCallee:
    """`lines`: (seconds after connection, audio) the callee says; `hangup_after`: seconds after
    connection when it hangs up (sends the AudioSocket hang-up)."""

    def __init__(self, address: tuple[str, int], lines: list[tuple[float, Audio]], hangup_after: float) -> None:
        self.address, self.lines, self.hangup_after = address, lines, hangup_after
        self.heard = Heard()
        self.done = asyncio.Event()

    async def __aenter__(self) -> ScriptedCallee:
        self._server = await asyncio.start_server(self._handle, *self.address)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    def _timeline(self) -> bytes:
        """Everything the callee sends, as one slin 8 kHz buffer (silence between lines)."""
        total = int(self.hangup_after * RATE) * 2
        out = bytearray(total)
        for at, audio in self.lines:
            pcm = audio.at_rate(RATE).pcm
            start = int(at * RATE) * 2
            out[start:start + len(pcm)] = pcm[: max(0, total - start)]
        return bytes(out)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.heard.connected_at = start = time.monotonic()
        sender = asyncio.create_task(self._send(writer, start))
        decoder = Decoder()
        try:
            while not sender.done():
                try:
                    data = await asyncio.wait_for(reader.read(4096), 0.5)
                except TimeoutError:
                    continue
                if not data:
                    break
                now = time.monotonic()
                for message in decoder.feed(data):
                    if message.is_audio and message.kind is Kind.SLIN8:
                        self.heard.frames.append((now, message.payload))
                    elif message.kind is Kind.HANGUP:
                        return
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            writer.close()
            self.done.set()

    async def _send(self, writer: asyncio.StreamWriter, start: float) -> None:
        timeline = self._timeline()
        for n, offset in enumerate(range(0, len(timeline), FRAME)):
            delay = start + n * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(encode_audio(timeline[offset:offset + FRAME].ljust(FRAME, b"\0"), RATE))
            await writer.drain()
        writer.write(encode_hangup())
        await writer.drain()
