"""Silero VAD v5 (the silero-vad wheel's ONNX, onnxruntime) behind the same SpeechDetector."""

from __future__ import annotations

import numpy as np
import pytest

from bot.speech.pcm import to_pcm
from bot.speech.vad import SpeechDetector, SpeechEnded, SpeechStarted, VadConfig
from tests.conftest import speech


@pytest.mark.parametrize("rate", [16000])  # the listener runs it at 16 kHz: at 8 kHz it kept noise as speech
def test_silero_finds_the_utterance_and_not_the_noise(rate):
    frame = rate // 50 * 2
    noise = to_pcm(np.random.default_rng(0).normal(0, 10 ** (-45 / 20), rate).astype(np.float32))
    audio = noise + speech("non_merci", rate).pcm + noise + noise
    det = SpeechDetector(rate, VadConfig(engine="silero"))
    events = []
    for k, i in enumerate(range(0, len(audio) - frame + 1, frame)):
        events += det.process(audio[i:i + frame], (k + 1) * 0.02)
    starts = [e for e in events if isinstance(e, SpeechStarted)]
    ends = [e for e in events if isinstance(e, SpeechEnded)]
    assert len(starts) >= 1 and ends
    assert 0.9 <= starts[0].at <= 1.3  # the clip starts 1 s in (its first voiced audio ~40 ms later)
    assert ends[-1].at <= 1.0 + len(speech("non_merci", rate).pcm) / (2 * rate) + 0.1


def test_silero_refuses_other_rates():
    with pytest.raises(ValueError, match="8 or 16 kHz"):
        SpeechDetector(48000, VadConfig(engine="silero"))
