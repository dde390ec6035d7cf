"""Speech recognition engines behind one protocol (see base.py)."""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

from .base import AsrUnavailable, Recognizer, RecognizerStream, Transcript
from .models import VOSK_ALIASES, whisper_base_dir


def load_recognizer(
    engine: str, *, cache_dir: Path, models_dir: Path, vosk_model: Path | None, executor: Executor | None,
    workers: int = 2, nice: int = 10, vosk_url: str | None = None,
) -> Recognizer:
    """Build the configured engine; AsrUnavailable says what is missing and how to get it.

    Whisper runs on `executor`'s threads (CTranslate2 releases the GIL for the whole decode);
    Vosk runs in `workers` processes at `nice`, so its many small calls never hold the GIL the
    frame path needs. vosk-server decodes on the server at `vosk_url`."""
    if engine == "whisper":
        from .whisper_engine import WhisperRecognizer

        return WhisperRecognizer(whisper_base_dir(cache_dir), executor)
    if engine == "vosk":
        from .vosk_process import VoskProcessRecognizer

        path = vosk_model or models_dir / VOSK_ALIASES["vosk-fr"]
        return VoskProcessRecognizer(path, workers=workers, nice=nice)
    if engine == "vosk-server":
        from .vosk_server import VoskServerRecognizer

        if not vosk_url:
            raise AsrUnavailable("asr=vosk-server needs the server's address: set MINIBOT_VOSK_URL=ws://host:2700")
        return VoskServerRecognizer(vosk_url)
    raise AsrUnavailable(f"unknown ASR engine {engine!r} (choose whisper, vosk or vosk-server)")


__all__ = ["AsrUnavailable", "Recognizer", "RecognizerStream", "Transcript", "load_recognizer"]
