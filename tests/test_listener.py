"""The whole listen path over real TCP: Asterisk-like peer -> server -> VAD/barge-in -> Whisper."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ari.simulator.line import hybrid_echo, mix
from bot.config import Settings
from bot.speech import events as ev
from bot.speech.asr.models import whisper_base_dir
from bot.speech.asr.whisper_engine import WhisperRecognizer
from bot.speech.pcm import to_float, to_pcm
from tests.conftest import speech
from tests.listening import listened_call

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def whisper():
    with ThreadPoolExecutor(2) as pool:
        yield WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)


async def _drain(listener, until=ev.MediaClosed, timeout=10.0):
    out = []
    async with asyncio.timeout(timeout):
        while True:
            e = await listener.events.get()
            out.append(e)
            if isinstance(e, until):
                return out


async def test_caller_utterance_is_detected_and_transcribed(whisper):
    server, peer, listener = await listened_call(whisper)
    task = asyncio.ensure_future(listener.run())
    await peer.silence(0.2, send_frames=True)
    await peer.stream(speech("robot").pcm)
    await peer.silence(1.0)  # chan_audiosocket sends nothing in silence: the wall clock ends it
    await peer.close()
    events = await _drain(listener)
    await task
    kinds = [type(e) for e in events]
    assert kinds[0] is ev.SpeechStarted and ev.SpeechEnded in kinds and kinds[-1] is ev.MediaClosed
    [final] = [e for e in events if isinstance(e, ev.FinalTranscript)]
    assert "robot" in final.text.lower()
    assert listener.stats.frames == peer.frames_sent
    assert max(listener.stats.frame_lag_ms) < 20
    await server.close()


async def test_echo_of_the_prompt_is_ignored_but_the_caller_barges_in(whisper):
    server, peer, listener = await listened_call(whisper)
    task = asyncio.ensure_future(listener.run())
    prompt = speech("prompt_bot")
    echo = hybrid_echo(to_float(prompt.pcm), 16000, delay_ms=120, level_db=-8)
    voice = to_float(speech("non_merci").pcm) * 0.8
    offset = int(4.0 * 16000)
    caller = mix(offset + len(voice) + 8000, (offset, voice))
    echo_until = [len(echo)]  # the controller stops the playback on barge-in: the echo ends too
    started = time.monotonic()
    listener.prompt_started(prompt.pcm, prompt.sample_rate, started)
    events = []

    async def controller():
        while True:
            e = await listener.events.get()
            events.append(e)
            if isinstance(e, ev.BargeInDetected):
                listener.prompt_stopped(time.monotonic())
                echo_until[0] = int((time.monotonic() - started + 0.12) * 16000)
            if isinstance(e, ev.MediaClosed):
                return

    watcher = asyncio.ensure_future(controller())
    for i in range(0, len(caller), 320):
        frame = caller[i : i + 320].copy()
        n = max(0, min(len(frame), echo_until[0] - i, len(echo) - i))
        frame[:n] += echo[i : i + n]
        await peer.stream(to_pcm(frame))
    sent_onset = peer.send_times[int(offset / 320) + int(np.argmax(np.abs(voice) > 0.02) / 320)]
    await peer.silence(1.0)
    await peer.close()
    await asyncio.wait_for(watcher, 10)
    await task
    barges = [e for e in events if isinstance(e, ev.BargeInDetected)]
    assert len(barges) == 1  # 4 s of echo-only prompt did not trigger it
    assert barges[0].confirmed_at - sent_onset < 0.2
    [final] = [e for e in events if isinstance(e, ev.FinalTranscript)]
    # The recogniser got the caller's whole utterance (2.37 s, from its onset under the echo).
    # What Whisper makes of this accented synthetic voice over the echo's tail varies with
    # where the barge-in cut falls, so the words are not asserted here (test_asr does that).
    assert final.text.strip()
    assert final.speech_duration >= 1.9
    assert final.speech_duration < 3.0
    await server.close()


class _CountingDecodes:
    """The real recogniser, its decodes counted (each call of ``transcribe``)."""

    def __init__(self, whisper):
        self.whisper, self.decodes, self.streams = whisper, 0, []

    def __getattr__(self, name):
        return getattr(self.whisper, name)

    def open(self, rate):
        stream = self.whisper.open(rate)
        stream._engine = self
        self.streams.append(stream)
        return stream

    def transcribe(self, *args, **kw):
        self.decodes += 1
        return self.whisper.transcribe(*args, **kw)


async def _listen(recognizer, script):
    server, peer, listener = await listened_call(recognizer)
    task = asyncio.ensure_future(listener.run())
    await script(peer)
    await peer.close()
    events = await _drain(listener)
    await task
    await server.close()
    return [e for e in events if isinstance(e, ev.FinalTranscript)]


async def test_whisper_decodes_in_the_pause_that_ends_the_turn(whisper):
    counted = _CountingDecodes(whisper)

    async def caller(peer):
        await peer.stream(speech("robot").pcm)
        await peer.silence(1.0)  # nothing on the wire: the guess and the end come from the clock

    [final] = await _listen(counted, caller)
    assert "robot" in final.text.lower()
    # The pause's decode was the final: none after the turn ended.
    assert counted.decodes == 1 and counted.streams[0].cost.audio_after_end == 0


async def test_a_pause_the_caller_speaks_after_does_not_give_the_final(whisper):
    counted = _CountingDecodes(whisper)

    async def caller(peer):
        await peer.stream(speech("robot").pcm)
        await peer.silence(0.4, send_frames=True)  # long enough for a guess, not for the end
        await peer.stream(speech("combien").pcm)
        await peer.silence(1.0)

    [final] = await _listen(counted, caller)
    assert "combien" in final.text.lower(), final.text  # the words after the pause are in the turn
    assert counted.decodes == 2  # the first pause's guess, wasted; the second's, the final
