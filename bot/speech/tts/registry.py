"""Engines by name, built from settings; each says clearly what it lacks when it cannot run."""

from __future__ import annotations

from pathlib import Path

from .base import TtsEngine, TtsUnavailable

ENGINES = ("espeak", "kokoro", "xtts", "piper", "wyoming")


def default_engine(models_dir: Path | None) -> str:
    """``auto``: Piper when a French Piper voice is installed (minibot models pull piper-fr-...),
    else espeak-ng, which every Debian machine has."""
    if models_dir is not None:
        from .piper import french_voices

        if french_voices(models_dir):
            try:
                import piper  # noqa: F401
            except ImportError:
                return "espeak"
            return "piper"
    return "espeak"


def load_engine(name: str, *, xtts_model_dir: Path | None = None, xtts_voices_dir: Path | None = None,
                models_dir: Path | None = None, wyoming_tts: str | None = None,
                voice: str | None = None) -> TtsEngine:
    if name == "auto":
        name = default_engine(models_dir)
    if name == "espeak":
        from .espeak import EspeakEngine

        return EspeakEngine()
    if name == "kokoro":
        from .kokoro import KokoroEngine

        return KokoroEngine()
    if name == "xtts":
        from .xtts import XttsEngine

        return XttsEngine(xtts_model_dir, xtts_voices_dir)
    if name == "piper":
        from .piper import PiperEngine, find_voices

        voices = find_voices(models_dir) if models_dir else {}
        french = {k: v for k, v in voices.items() if k.startswith("fr_")}
        return PiperEngine(voices, default_voice=voice if voice in voices else next(iter(french), None))
    if name == "wyoming":
        from .wyoming import WyomingTtsEngine

        if not wyoming_tts:
            raise TtsUnavailable("tts engine wyoming needs its servers: set MINIBOT_WYOMING_TTS=tcp://host:10200[,...]")
        return WyomingTtsEngine(wyoming_tts.split(","), default_voice=voice)
    raise TtsUnavailable(f"unknown TTS engine {name!r}; known: auto, {', '.join(ENGINES)}")
