"""The Asterisk side of an AudioSocket connection, for the simulator, tests and benchmarks.

It behaves as chan_audiosocket does (facts §1.3): connects, sends the UUID first, then one
message per 20 ms frame in real time, and nothing at all while the caller is silent unless
told to stream silence (the snoop path sends silent frames every 20 ms). Audio MiniBot sends
back is collected with its arrival times.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field

from .codec import AUDIO_RATES, Decoder, Kind, encode_audio, encode_uuid

FRAME_SEC = 0.020


@dataclass
class Received:
    frames: list[tuple[float, bytes]] = field(default_factory=list)
    hangup: bool = False


class AsteriskPeer:
    def __init__(self, host: str, port: int, call_uuid: uuid.UUID, *, sample_rate: int = 16000) -> None:
        self.host, self.port = host, port
        self.uuid = call_uuid
        self.sample_rate = sample_rate
        self.frame_bytes = int(sample_rate * FRAME_SEC) * 2
        self.received = Received()
        self.frames_sent = 0
        self.send_times: list[float] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._rx_task: asyncio.Task[None] | None = None
        self._deadline = 0.0

    async def connect(self, timeout: float = 2.0) -> None:
        # chan_audiosocket gives up after 2000 ms (MAX_CONNECT_TIMEOUT_MSEC).
        async with asyncio.timeout(timeout):
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.write(encode_uuid(self.uuid))
        await self._writer.drain()
        self._rx_task = asyncio.get_running_loop().create_task(self._receive(), name="peer-rx")
        self._deadline = time.monotonic()

    async def _receive(self) -> None:
        decoder = Decoder()
        assert self._reader is not None
        while True:
            data = await self._reader.read(65536)
            if not data:
                return
            now = time.monotonic()
            for msg in decoder.feed(data):
                if msg.kind is Kind.HANGUP:
                    self.received.hangup = True
                elif msg.kind in AUDIO_RATES:
                    self.received.frames.append((now, msg.payload))

    def _frames(self, pcm: bytes) -> list[bytes]:
        n = self.frame_bytes
        out = [pcm[i : i + n] for i in range(0, len(pcm), n)]
        if out and len(out[-1]) < n:
            out[-1] += b"\x00" * (n - len(out[-1]))
        return out

    async def stream(self, pcm: bytes) -> None:
        """Send ``pcm`` as 20 ms frames on a real-time monotonic schedule."""
        assert self._writer is not None
        now = time.monotonic()
        if now - self._deadline > 0.060:  # idle since: restart the clock (silence sent nothing)
            # A frame leaves once its 20 ms have been captured: the first one 20 ms from now.
            self._deadline = now + FRAME_SEC
        for frame in self._frames(pcm):
            delay = self._deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._writer.write(encode_audio(frame, self.sample_rate))
            self.send_times.append(time.monotonic())
            self.frames_sent += 1
            self._deadline += FRAME_SEC

    async def silence(self, seconds: float, *, send_frames: bool = False) -> None:
        """Caller silent: nothing on the wire (chan_audiosocket), or silent frames (snoop)."""
        if send_frames:
            await self.stream(b"\x00" * (int(seconds / FRAME_SEC) * self.frame_bytes))
        else:
            await asyncio.sleep(seconds)
            self._deadline = float("-inf")  # the next audio restarts the frame clock

    async def send_raw(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._writer.wait_closed()
        if self._rx_task is not None:
            self._rx_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rx_task

    async def wait_closed_by_server(self, timeout: float = 2.0) -> bool:
        """True if the server closed the connection within ``timeout``."""
        if self._rx_task is None:
            return False
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._rx_task)
            return True
        except TimeoutError:
            return False
