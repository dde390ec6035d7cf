import numpy as np
import pytest

from bot.speech.pcm import to_pcm
from bot.speech.vad import SpeechDetector, SpeechEnded, SpeechStarted, VadConfig
from tests.conftest import speech


def _run(det, pcm, t0=0.0):
    frames = [pcm[i : i + 640] for i in range(0, len(pcm) - 639, 640)]
    events = []
    for i, f in enumerate(frames):
        events += det.process(f, t0 + (i + 1) * 0.02)
    return events, t0 + len(frames) * 0.02


def test_onset_is_confirmed_with_a_lookback_and_end_is_decided_by_the_wall_clock():
    det = SpeechDetector(16000, VadConfig(end_silence_ms=500, lookback_ms=200))
    utterance = speech("non_merci").pcm
    events, t_end = _run(det, b"\x00" * 640 * 10 + utterance)
    started = [e for e in events if isinstance(e, SpeechStarted)]
    assert len(started) == 1
    assert 0.2 <= started[0].at <= 0.35 and started[0].confirmed_at - started[0].at <= 0.12
    assert len(started[0].lookback) >= 640 * 4  # the first syllable reaches the recogniser
    # Asterisk now sends nothing: only the clock moves.
    assert det.tick(t_end + 0.3) == []
    [ended] = det.tick(t_end + 0.6)
    assert isinstance(ended, SpeechEnded) and 1.5 < ended.duration < 2.6
    assert det.next_deadline() is None


def test_noise_and_silence_do_not_start_speech():
    rng = np.random.default_rng(0)
    det = SpeechDetector(8000, VadConfig(aggressiveness=3))
    noise = to_pcm(rng.normal(0, 10 ** (-60 / 20), 8000 * 3))
    events = [e for i in range(0, len(noise) - 319, 320) for e in det.process(noise[i : i + 320], i / 16000)]
    assert events == []


def test_short_click_is_not_an_onset():
    det = SpeechDetector(16000, VadConfig(onset_ms=100))
    click = speech("combien").pcm[640 * 10 : 640 * 12]  # 40 ms of voice
    events, _ = _run(det, b"\x00" * 6400 + click + b"\x00" * 6400)
    assert not any(isinstance(e, SpeechStarted) for e in events)


def test_the_end_comes_sooner_only_when_the_recogniser_has_decoded_into_the_silence():
    det = SpeechDetector(16000, VadConfig(end_silence_ms=600, early_end_ms=300))
    _, t_end = _run(det, speech("non_merci").pcm + b"\x00" * 640 * 5)
    last_voiced = t_end - det.silent_for(t_end)
    # Words for audio up to the last voiced frame: the caller may be mid-sentence, wait the full silence.
    assert det.recognizer_caught_up(last_voiced) is False
    assert det.tick(last_voiced + 0.35) == []
    # Decoded past it, still with words: every word is known, the end comes at early_end_ms.
    assert det.recognizer_caught_up(last_voiced + 0.04) is True
    assert det.next_deadline() == last_voiced + 0.3
    [ended] = det.tick(last_voiced + 0.35)
    assert ended.early and ended.at == last_voiced


def test_speech_after_the_recogniser_caught_up_cancels_the_early_end():
    det = SpeechDetector(16000, VadConfig(end_silence_ms=600, early_end_ms=300))
    _, t_end = _run(det, speech("non_merci").pcm + b"\x00" * 640 * 5)
    det.recognizer_caught_up(t_end)
    _, t_more = _run(det, speech("oui_daccord").pcm[: 640 * 40], t_end)  # the caller goes on
    last_voiced = t_more - det.silent_for(t_more)
    assert last_voiced > t_end
    assert det.next_deadline() == pytest.approx(last_voiced + 0.6)  # the full silence again
