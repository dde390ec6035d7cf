"""Engines by name, built from settings; each says clearly what it lacks when it cannot run."""

from __future__ import annotations

from pathlib import Path

from .base import TtsEngine, TtsUnavailable

ENGINES = ("espeak", "kokoro", "xtts")


def load_engine(name: str, *, xtts_model_dir: Path | None = None, xtts_voices_dir: Path | None = None) -> TtsEngine:
    if name == "espeak":
        from .espeak import EspeakEngine

        return EspeakEngine()
    if name == "kokoro":
        from .kokoro import KokoroEngine

        return KokoroEngine()
    if name == "xtts":
        from .xtts import XttsEngine

        return XttsEngine(xtts_model_dir, xtts_voices_dir)
    raise TtsUnavailable(f"unknown TTS engine {name!r}; known: {', '.join(ENGINES)}")
