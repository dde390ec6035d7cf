"""The bot's first words on a real Asterisk 22, measured on the wire (issue 14, defect 5): the
`scripted` callee (an AudioSocket server on the callee side) says "allô" when a real person
would, and hears what the bot sends. The bot must never start while the callee is speaking.
Before the fix it greeted a fixed 1.0 s after StasisStart, over this "allô" every time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from audiosocket import AudioSocketServer
from audiosocket.codec import Decoder, encode_audio, parse_uuid
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.interruption import InterruptionTiming
from bot.call.outcome import Outcome
from bot.call.runtime import demo_conversation
from bot.speech.asr.vosk_server import VoskServerRecognizer
from bot.speech.pcm import rms_dbfs
from tests.fake_vosk_server import FakeVoskServer

pytestmark = [pytest.mark.slow]

SPEECH = Path(__file__).resolve().parents[1] / "fixtures" / "speech"
RATE = 8000
FRAME = RATE // 50 * 2  # bytes in 20 ms of slin 8 kHz
VOICED_DBFS = -40.0


def _clip(name: str) -> bytes:
    import soundfile as sf

    data, rate = sf.read(SPEECH / f"{name}_8k.wav", dtype="int16")
    assert rate == RATE
    return data.tobytes()


@dataclass
class ScriptedCallee:
    """Streams 20 ms frames to Asterisk (silence, then ``clip`` ``say_at`` s after connecting),
    and notes when the bot's audio arrives. Times are monotonic."""

    clip: bytes
    say_at: float
    over_bot: bytes = b""  # said this long after the bot's audio begins (a backchannel, a barge-in)
    over_bot_after: float = 1.0
    connected_at: float | None = None
    over_bot_at: float | None = None  # when that clip began
    voice: tuple[float, float] | None = None  # when the clip's voiced frames were sent
    heard: list[float] = field(default_factory=list)  # arrival of each voiced frame from the bot
    levels: list[tuple[float, float]] = field(default_factory=list)  # (arrival, dBFS) of every frame

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = Decoder()
        sender: asyncio.Task | None = None
        try:
            while True:
                data = await asyncio.wait_for(reader.read(4096), 30)
                if not data:
                    return
                for message in decoder.feed(data):
                    if sender is None:
                        parse_uuid(message)
                        self.connected_at = time.monotonic()
                        sender = asyncio.create_task(self._send(writer))
                    elif message.is_audio:
                        level = rms_dbfs(message.payload)
                        self.levels.append((time.monotonic(), level))
                        if level > VOICED_DBFS:
                            self.heard.append(time.monotonic())
        except (ConnectionError, TimeoutError):
            return
        finally:
            if sender is not None:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await sender
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter) -> None:
        silence = bytes(FRAME)
        start = time.monotonic()
        first = int(self.say_at * 50)
        frames = [self.clip[i:i + FRAME].ljust(FRAME, b"\0") for i in range(0, len(self.clip), FRAME)]
        extra = [self.over_bot[i:i + FRAME].ljust(FRAME, b"\0") for i in range(0, len(self.over_bot), FRAME)]
        k = j = 0
        while True:
            i = k - first
            pcm = frames[i] if 0 <= i < len(frames) else silence
            if extra and self.heard and time.monotonic() >= self.heard[0] + self.over_bot_after and j < len(extra):
                self.over_bot_at = self.over_bot_at or time.monotonic()
                pcm, j = extra[j], j + 1
            writer.write(encode_audio(pcm, RATE))
            await writer.drain()
            if 0 <= i < len(frames) and rms_dbfs(pcm) > VOICED_DBFS:
                now = time.monotonic()
                self.voice = (self.voice[0] if self.voice else now, now)
            k += 1
            await asyncio.sleep(max(0.0, start + k * 0.02 - time.monotonic()))  # paced on a deadline


async def _scripted_call(asterisk, recognizer, callee: ScriptedCallee, **config):
    host, port = asterisk.scripted_address
    scripted = await asyncio.start_server(callee.handle, host, port)
    try:
        async with AudioSocketServer("127.0.0.1", 0) as server:
            calls = CallConfig(audiosocket_address=server.address, ring_timeout=10, caller_id="MiniBot <0162000000>",
                               **config)
            async with CallController(asterisk.ari_config(), calls, server, recognizer) as ctl:
                record = await asyncio.wait_for(ctl.place_call("Local/scripted@callee-sim", demo_conversation()), 60)
    finally:
        scripted.close()
        await scripted.wait_closed()
    return record


async def test_the_bot_never_greets_over_a_real_lines_allo(live_asterisk, whisper):
    # "bonjour oui" 0.6 s after the callee's side connects: about 1.0 s after StasisStart, when
    # the old fixed greeting started.
    callee = ScriptedCallee(_clip("bonjour_oui"), say_at=0.6)
    record = await _scripted_call(live_asterisk, whisper, callee)
    print(record.timeline)
    assert record.outcome is Outcome.ANSWERED
    assert callee.voice is not None and callee.heard, "the callee spoke and heard the bot"
    voice_start, voice_end = callee.voice
    over = [t for t in callee.heard if voice_start <= t <= voice_end]
    assert not over, f"the bot spoke {len(over) * 20} ms over the callee's greeting\n{record.timeline}"
    assert callee.heard[0] > voice_end
    print(f"callee's greeting end -> bot audio on the wire: {(callee.heard[0] - voice_end) * 1000:.0f} ms")
    assert live_asterisk.channels() == []


async def test_a_silent_callee_hears_the_bot(live_asterisk, whisper):
    callee = ScriptedCallee(b"", say_at=0.0)
    record = await _scripted_call(live_asterisk, whisper, callee)
    assert record.outcome is Outcome.ANSWERED and callee.heard, record.timeline
    assert record.answer_to_first_audio is not None




async def test_a_backchannel_over_the_bot_resumes_its_line_on_a_real_asterisk(live_asterisk):
    # "d'accord" 1.2 s into the bot's greeting: the playback is stopped (DELETE), then played on
    # from the cut with ARI's offsetms. Words from the French vosk-server stand-in (real protocol).
    callee = ScriptedCallee(_clip("bonjour_oui"), say_at=0.6, over_bot=_clip("daccord"), over_bot_after=1.2)
    async with FakeVoskServer() as vosk:
        record = await _scripted_call(live_asterisk, VoskServerRecognizer(vosk.url), callee,
                                      interruptions=InterruptionTiming(verdict_max=20.0))
    timeline = str(record.timeline)
    print(timeline)
    assert record.barge_ins >= 1 and "false interruption" in timeline, timeline
    assert callee.over_bot_at is not None
    resumed = [t for t in callee.heard if t > callee.over_bot_at + 0.9]
    assert resumed, f"the bot's line did not come back after the backchannel\n{timeline}"


async def test_a_backchannel_over_the_bot_lowers_its_line_on_a_real_asterisk_and_never_stops_it(live_asterisk):
    # "d'accord" 2.2 s into the bot's greeting (past the moments where a callee's "allô" stops it):
    # the prompt, played on the call's bridge, plays on 20 dB lower (VOLUME(TX) over ARI, at
    # once) until the words say it was only an acknowledgement, then at full voice again.
    callee = ScriptedCallee(_clip("bonjour_oui"), say_at=0.6, over_bot=_clip("daccord"), over_bot_after=2.2)
    async with FakeVoskServer() as vosk:
        record = await _scripted_call(live_asterisk, VoskServerRecognizer(vosk.url), callee,
                                      interruptions=InterruptionTiming(verdict_max=20.0))
    timeline = str(record.timeline)
    print(timeline)
    assert record.backchannels == 1 and record.barge_ins == 0, timeline
    assert "backchannel (" in timeline and "the line stops" not in timeline, timeline
    assert timeline.count("play bonjour") == 1, timeline
    at = {what.split(" (")[0]: record.timeline.started + t for t, what in record.timeline.entries}
    lowered, restored = at["barge-in"], at["backchannel"]

    def level(lo: float, hi: float) -> float:
        voiced = sorted(db for t, db in callee.levels if lo <= t < hi and db > -60)
        return voiced[len(voiced) // 2] if voiced else -99.0

    before = level(lowered - 1.2, lowered - 0.2)
    during = level(lowered + 0.1, restored - 0.05)
    after = level(restored + 0.1, restored + 1.1)
    print(f"bot's line on the wire: {before:.1f} dBFS, lowered {during:.1f}, then {after:.1f}")
    assert before - during > 12, (before, during, after)  # -20 dB asked; words and pauses vary
    assert abs(after - before) < 8, (before, during, after)
    assert live_asterisk.channels() == [] and live_asterisk.bridges() == []
