"""Speech recognition engines behind one protocol (see base.py)."""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

from .base import AsrUnavailable, Recognizer, RecognizerStream, Transcript
from .models import VOSK_ALIASES, whisper_base_dir


def load_recognizer(
    engine: str, *, cache_dir: Path, models_dir: Path, vosk_model: Path | None, executor: Executor | None
) -> Recognizer:
    """Build the configured engine; AsrUnavailable says what is missing and how to get it."""
    if engine == "whisper":
        from .whisper_engine import WhisperRecognizer

        return WhisperRecognizer(whisper_base_dir(cache_dir), executor)
    if engine == "vosk":
        from .vosk_engine import VoskRecognizer

        path = vosk_model or models_dir / VOSK_ALIASES["vosk-fr"]
        return VoskRecognizer(path, executor)
    raise AsrUnavailable(f"unknown ASR engine {engine!r} (choose whisper or vosk)")


__all__ = ["AsrUnavailable", "Recognizer", "RecognizerStream", "Transcript", "load_recognizer"]
