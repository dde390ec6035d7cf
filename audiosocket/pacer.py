"""Paced outbound audio: one 20 ms frame every 20 ms on an absolute monotonic deadline.

Asterisk keeps no jitter buffer on AudioSocket and drops single messages of 100 ms or more
(facts §1.4), so the server must pace. Each frame is written as header+payload in one call:
a payload that trails its header by more than ~5 ms makes Asterisk tear the channel down.
Barge-in is ``flush()``: Asterisk holds nothing, so what we have not sent is never heard.

``keep_line_fed()`` sends 20 ms of silence whenever nothing is queued, as a media stream does.
Asterisk 22's chan_audiosocket needs it: woken with no data on the socket, its read waits for a
message header in 5 ms polls for as long as none comes, holding the channel's lock. Every ARI
request that looks a channel up (they take the channel container's lock, then each channel's)
then waits too: "Asterisk unreachable" on every request for up to 30 s, until MiniBot closed
the socket (caught live with gdb: the ExternalMedia channel's thread in
``ast_audiosocket_receive_frame_with_hangup``, the originate and hang-up requests behind it).
With a frame every 20 ms, such a read finds one within 20 ms.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time

from .codec import encode_audio

FRAME_SEC = 0.020
# If the loop stalls longer than this, restart the schedule instead of bursting to catch up
# (a burst would overflow softmix buffers and be lost anyway).
MAX_LATE_SEC = 0.060


class OutboundPacer:
    def __init__(self, writer: asyncio.StreamWriter, *, sample_rate: int = 16000) -> None:
        self._writer = writer
        self.sample_rate = sample_rate
        self._frame_bytes = int(sample_rate * FRAME_SEC) * 2
        self._frames: collections.deque[bytes] = collections.deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._silence: bytes | None = None  # sent when nothing is queued (keep_line_fed)
        self.silence_sent = 0
        self.frames_sent = 0
        self.late_resets = 0

    @property
    def queued_ms(self) -> int:
        return len(self._frames) * 20

    def enqueue(self, pcm: bytes) -> None:
        """Queue PCM at ``sample_rate``; it is cut into 20 ms frames (the last one zero-padded)."""
        if self._stopped:
            raise RuntimeError("pacer is stopped (the call's media is closed)")
        fb = self._frame_bytes
        for i in range(0, len(pcm), fb):
            frame = pcm[i : i + fb]
            if len(frame) < fb:
                frame = frame + b"\x00" * (fb - len(frame))
            self._frames.append(frame)
        if self._frames:
            self._idle.clear()
            self._wakeup.set()
            if self._task is None:
                self._task = asyncio.get_running_loop().create_task(self._run(), name="audiosocket-pacer")

    def keep_line_fed(self) -> None:
        """From now on, 20 ms of silence goes out whenever no audio is queued (see the module
        docstring: Asterisk's AudioSocket read must never wait long for a message)."""
        if self._stopped:
            return
        self._silence = b"\x00" * self._frame_bytes
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="audiosocket-pacer")

    def flush(self) -> int:
        """Drop everything not yet sent; returns how many frames were dropped."""
        dropped = len(self._frames)
        self._frames.clear()
        self._idle.set()
        return dropped

    async def drained(self) -> None:
        await self._idle.wait()

    def stop(self) -> None:
        self._stopped = True
        self.flush()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        deadline = time.monotonic()
        while not self._stopped:
            if not self._frames:
                self._idle.set()
                if self._silence is None:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    deadline = time.monotonic()
                    continue
            now = time.monotonic()
            if now - deadline > MAX_LATE_SEC:
                self.late_resets += 1
                deadline = now
            elif deadline > now:
                await asyncio.sleep(deadline - now)
                if not self._frames and self._silence is None:
                    continue
            if self._writer.is_closing():
                self.flush()
                return
            if self._frames:
                self._writer.write(encode_audio(self._frames.popleft(), self.sample_rate))
                self.frames_sent += 1
            else:
                assert self._silence is not None
                self._writer.write(encode_audio(self._silence, self.sample_rate))
                self.silence_sent += 1
            deadline += FRAME_SEC
            if self._writer.transport.get_write_buffer_size() > 64 * 1024:
                # A peer that stopped reading: wait, bounded, rather than grow memory.
                with contextlib.suppress(ConnectionError, TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._writer.drain()
