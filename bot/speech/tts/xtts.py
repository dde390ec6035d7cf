"""Coqui XTTS v2 through `coqui-tts` (the maintained fork of Coqui TTS, same `TTS` import):
cloned voices from a few seconds of reference audio.

Optional and heavy: `pip install coqui-tts` (PyTorch), and the XTTS v2 weights in a directory
you configure (config.json, model.pth, vocab.json, speakers_xtts.pth). The weights are under the
Coqui Public Model License: non-commercial use only — a commercial campaign needs another voice.
A voice is a reference WAV (6–30 s of clean speech) in the voices directory: `<voice>.wav`.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

import numpy as np

from ..pcm import Audio, to_pcm
from .base import TtsError, TtsUnavailable, at_rate

MODEL_FILES = ("config.json", "model.pth", "vocab.json")
LICENCE = "XTTS v2 weights: Coqui Public Model License, non-commercial use only"


class XttsEngine:
    name = "xtts"

    def __init__(self, model_dir: Path | None, voices_dir: Path | None, *, device: str = "cpu",
                 temperature: float = 0.65) -> None:
        if model_dir is None:
            raise TtsUnavailable(
                f"XTTS needs its model directory: set MINIBOT_TTS__XTTS_MODEL_DIR to a folder with "
                f"{', '.join(MODEL_FILES)} ({LICENCE})"
            )
        model_dir = Path(model_dir)
        missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
        if missing:
            raise TtsUnavailable(f"XTTS model directory {model_dir} lacks {', '.join(missing)} ({LICENCE})")
        if voices_dir is None or not Path(voices_dir).is_dir():
            raise TtsUnavailable(
                "XTTS clones voices from reference recordings: set MINIBOT_TTS__XTTS_VOICES_DIR to a folder of "
                "<voice>.wav files (6 to 30 s of clean speech each)"
            )
        try:
            from TTS.tts.configs.xtts_config import XttsConfig
            from TTS.tts.models.xtts import Xtts
        except ImportError as exc:
            hint = f"XTTS needs the coqui-tts package ({exc.name} missing): pip install coqui-tts"
            raise TtsUnavailable(hint) from None
        config = XttsConfig()
        config.load_json(str(model_dir / "config.json"))
        model = Xtts.init_from_config(config)
        model.load_checkpoint(config, checkpoint_dir=str(model_dir), use_deepspeed=False)
        self._model = model.to(device)
        self._rate = int(config.audio.output_sample_rate)
        self._model_dir, self._voices_dir = model_dir, Path(voices_dir)
        self._latents: dict[str, tuple] = {}  # voice → conditioning, computed once
        self._lock = threading.Lock()
        self.temperature = temperature
        self.default_voice = next(iter(self.voices()), "")

    @cached_property
    def version(self) -> str:
        stat = (self._model_dir / "model.pth").stat()
        return f"xtts-v2/{stat.st_size}/{int(stat.st_mtime)}/t{self.temperature}"

    def voices(self) -> list[str]:
        return sorted(p.stem for p in self._voices_dir.glob("*.wav"))

    def synthesize(self, text: str, voice: str | None = None, sample_rate: int | None = None) -> Audio:
        voice = voice or self.default_voice
        reference = self._voices_dir / f"{voice}.wav"
        if not reference.is_file():
            raise TtsError(f"xtts: no reference recording {reference} for voice {voice!r}")
        with self._lock:
            if voice not in self._latents:
                self._latents[voice] = self._model.get_conditioning_latents(audio_path=[str(reference)])
            gpt_latent, speaker_embedding = self._latents[voice]
            out = self._model.inference(text, "fr", gpt_latent, speaker_embedding, temperature=self.temperature)
        samples = np.asarray(out["wav"], dtype=np.float32)
        peak = float(np.max(np.abs(samples))) or 1.0
        return at_rate(Audio(to_pcm(samples * (0.5 / peak)), self._rate), sample_rate)
