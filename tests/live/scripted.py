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
    # What it said: (start, end of its last voiced frame, how), monotonic; the end is the speech's,
    # not the file's (a fixture's trailing silence would shorten the reply time measured from it).
    said: list[tuple[float, float, str]] = field(default_factory=list)

    def bot_done(self, since: float, now: float, quiet: float, threshold: float = 300.0) -> bool:
        """The bot spoke after `since` and has been quiet for `quiet` seconds (its prompt ended).
        Asterisk sends nothing while nothing plays: no frame is silence too."""
        loud = [at for at, is_loud in self._loud_since(since, threshold) if is_loud]
        return bool(loud) and now - loud[-1] >= quiet

    def _loud_since(self, since: float, threshold: float) -> list[tuple[float, bool]]:
        out = []
        for at, pcm in reversed(self.frames):
            if at < since:
                break
            samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
            out.append((at, bool(len(samples)) and float(np.sqrt((samples**2).mean())) > threshold))
        return out[::-1]

    def _loud(self, threshold: float) -> list[tuple[float, bool]]:
        out = []
        for at, pcm in self.frames:
            samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
            out.append((at, bool(len(samples)) and float(np.sqrt((samples**2).mean())) > threshold))
        return out

    def first_sound_at(self, threshold: float = 300.0) -> float | None:
        """When the callee first heard sound (RMS of a frame over `threshold`)."""
        return next((at for at, loud in self._loud(threshold) if loud), None)

    def first_sound_after(self, after: float, threshold: float = 300.0) -> float | None:
        """When the callee next heard sound after `after` (a reply, on the wire)."""
        return next((at for at, loud in self._loud(threshold) if loud and at >= after), None)

    def onsets(self, *, quiet: float = 0.3, threshold: float = 300.0) -> list[float]:
        """When the bot started talking: its first sound, and each sound after `quiet` seconds of
        silence (no frame at all is silence too)."""
        out, last = [], None
        for at, loud in self._loud(threshold):
            if loud:
                if last is None or at - last > quiet:
                    out.append(at)
                last = at
        return out

    def sound_within(self, start: float, end: float, threshold: float = 300.0) -> bool:
        """Whether the callee heard any sound between `start` and `end` (the bot talking then)."""
        return any(loud and start <= at <= end for at, loud in self._loud(threshold))

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
        self.heard = Heard()  # the latest connection's (a test's one call)
        self.calls: list[Heard] = []  # every connection's, in order (a bench's several calls)
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
        self.heard = heard = Heard(connected_at=time.monotonic())
        self.calls.append(heard)
        start = heard.connected_at
        sender = asyncio.create_task(self._send(writer, start, heard))
        decoder = Decoder()
        try:
            while not sender.done():
                try:
                    data = await asyncio.wait_for(reader.read(4096), 0.5)
                except TimeoutError:
                    continue
                except ConnectionError:
                    break  # Asterisk hung up while the callee was still sending: the call ended
                if not data:
                    break
                now = time.monotonic()
                for message in decoder.feed(data):
                    if message.is_audio and message.kind is Kind.SLIN8:
                        heard.frames.append((now, message.payload))
                    elif message.kind is Kind.HANGUP:
                        return
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            writer.close()
            self.done.set()

    async def _send(self, writer: asyncio.StreamWriter, start: float, heard: Heard) -> None:
        timeline = self._timeline()
        for n, offset in enumerate(range(0, len(timeline), FRAME)):
            delay = start + n * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(encode_audio(timeline[offset:offset + FRAME].ljust(FRAME, b"\0"), RATE))
            await writer.drain()
        writer.write(encode_hangup())
        await writer.drain()


AFTER_PROMPT = "after_prompt"


def voiced_for(pcm: bytes, threshold: float = 300.0) -> float:
    """Seconds from a line's start to the end of its last voiced 20 ms frame."""
    samples = np.frombuffer(pcm[: len(pcm) // FRAME * FRAME], dtype="<i2").astype(np.float64).reshape(-1, FRAME // 2)
    loud = np.flatnonzero(np.sqrt((samples**2).mean(axis=1)) > threshold)
    return float(loud[-1] + 1) * 0.02 if len(loud) else 0.0


class ReactiveCallee(ScriptedCallee):
    """A callee who waits for the bot, as a person does: each line is said at a time after the
    connection (a number: over the bot or not) or ``AFTER_PROMPT`` (once the bot has spoken since
    the callee's last line and then been quiet `pause` seconds). `scripts` gives each connection
    its lines in turn (a bench's calls cycle through them). It hangs up `idle` seconds after its
    last line once the bot is quiet, or at `hangup_after`. What it said is in `Heard.said`."""

    def __init__(self, address: tuple[str, int], scripts: list[list[tuple[float | str, Audio]]], *,
                 hangup_after: float = 30.0, pause: float = 1.2, idle: float = 2.5) -> None:
        super().__init__(address, [], hangup_after)
        self.scripts, self.pause, self.idle = scripts, pause, idle

    async def _send(self, writer: asyncio.StreamWriter, start: float, heard: Heard) -> None:
        queue = list(self.scripts[(len(self.calls) - 1) % len(self.scripts)])
        current, pos, line_start, last_end, how = b"", 0, 0.0, start, ""
        n = 0
        while True:
            delay = start + n * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            n += 1
            now = time.monotonic()
            if now - start >= self.hangup_after:
                break
            if pos >= len(current):
                if current:  # a line just ended
                    heard.said.append((line_start, line_start + voiced_for(current), how))
                    current, last_end = b"", now
                if queue:
                    when, audio = queue[0]
                    due = heard.bot_done(last_end, now, self.pause) if when == AFTER_PROMPT else now - start >= when
                    if due:
                        queue.pop(0)
                        current, pos, line_start = audio.at_rate(RATE).pcm, 0, now
                        how = "after the bot" if when == AFTER_PROMPT else f"at {when} s"
                elif heard.bot_done(last_end, now, self.idle) or now - last_end > self.idle * 4:
                    break
            frame = current[pos:pos + FRAME]
            pos += FRAME
            writer.write(encode_audio(frame.ljust(FRAME, b"\0"), RATE))
            await writer.drain()
        writer.write(encode_hangup())
        await writer.drain()
