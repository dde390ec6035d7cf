"""Piper (`piper-tts`, MIT): neural voices, VITS in ONNX, fast on CPU (a sentence renders in a
fraction of its duration). Voices are an ``.onnx`` model and its ``.onnx.json`` config.

French voices come from ``minibot models pull piper-fr-siwis-medium`` (and the others listed in
``bot.speech.asr.models.PIPER_VOICES``), sha256-checked, each with its MODEL_CARD (dataset and
licence) beside it. When one is installed it is the default voice engine (see
``registry.default_engine``); espeak-ng stays the fallback.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import cached_property
from pathlib import Path

import numpy as np

from ...i18n import _
from ..pcm import Audio
from .base import TtsError, TtsUnavailable, at_rate


def find_voices(directory: Path) -> dict[str, Path]:
    """Voice name (the model's stem, e.g. fr_FR-siwis-medium) → its .onnx, in ``directory`` and
    one level below (where ``models pull`` puts each voice)."""
    if not directory.is_dir():
        return {}
    found = [*directory.glob("*.onnx"), *directory.glob("*/*.onnx")]
    return {p.stem: p for p in sorted(found) if p.with_suffix(".onnx.json").is_file()}


def french_voices(models_dir: Path) -> dict[str, Path]:
    return {name: p for name, p in find_voices(models_dir).items() if name.startswith("fr_")}


class PiperEngine:
    name = "piper"

    def __init__(self, voices: dict[str, Path], *, default_voice: str | None = None, length_scale: float = 1.0,
                 use_cuda: bool = False) -> None:
        try:
            from piper import PiperVoice, SynthesisConfig
        except ImportError:
            raise TtsUnavailable("Piper needs the piper-tts package: pip install piper-tts") from None
        if not voices:
            raise TtsUnavailable("no Piper voice installed: run minibot models pull piper-fr-siwis-medium")
        self._paths = dict(voices)
        self.default_voice = default_voice or next(iter(sorted(self._paths)))
        if self.default_voice not in self._paths:
            raise TtsUnavailable(f"piper: no voice {self.default_voice!r}; installed: {', '.join(self._paths)}")
        self._load = PiperVoice.load
        self._config = SynthesisConfig(length_scale=length_scale)
        self._voices: dict[str, object] = {}
        self._lock = threading.Lock()  # one ONNX session per voice, one synthesis at a time
        self.length_scale = length_scale
        self.use_cuda = use_cuda

    @cached_property
    def version(self) -> str:
        from importlib.metadata import version

        # The voice files themselves: a new model under the same name must not reuse cached lines.
        digest = hashlib.sha256()
        for name in sorted(self._paths):
            stat = self._paths[name].stat()
            digest.update(f"{name}/{stat.st_size}/{int(stat.st_mtime)}".encode())
        return f"piper-tts {version('piper-tts')}/{digest.hexdigest()[:12]}/x{self.length_scale}"

    def voices(self) -> list[str]:
        return sorted(self._paths)

    def licence(self, voice: str | None = None) -> str:
        """The licence line of the voice's MODEL_CARD (or what is known of it)."""
        card = self._paths[voice or self.default_voice].parent / "MODEL_CARD"
        if card.is_file():
            for line in card.read_text(errors="replace").splitlines():
                if "license" in line.lower():
                    return line.strip("* ").strip()
        return "no MODEL_CARD beside the voice: check its licence before a campaign"

    def _voice(self, name: str):
        if name not in self._voices:
            path = self._paths[name]
            try:
                self._voices[name] = self._load(path, path.with_suffix(".onnx.json"), use_cuda=self.use_cuda)
            except (OSError, ValueError, json.JSONDecodeError) as exc:
                raise TtsError(_("piper : impossible de charger la voix {name} depuis {path} : {error}").format(
                    name=name, path=path, error=exc)) from None
        return self._voices[name]

    def synthesize(self, text: str, voice: str | None = None, sample_rate: int | None = None) -> Audio:
        voice = voice or self.default_voice
        if voice not in self._paths:
            raise TtsError(_("piper : voix inconnue {voice!r} ; voix : {voices}").format(
                voice=voice, voices=", ".join(self.voices())))
        with self._lock:
            model = self._voice(voice)
            chunks = list(model.synthesize(text, syn_config=self._config))
        if not chunks:
            raise TtsError(f"piper: voice {voice} rendered no audio for {text[:40]!r}")
        rate = chunks[0].sample_rate
        samples = np.concatenate([c.audio_int16_array for c in chunks])
        # About -6 dBFS peak, like the other engines (Piper normalises to full scale).
        samples = (samples.astype(np.float32) * 0.5).astype("<i2")
        return at_rate(Audio(samples.tobytes(), rate), sample_rate)
