"""Speech recognition engines behind one protocol (see base.py)."""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

from ...i18n import _
from .base import AsrUnavailable, Recognizer, RecognizerStream, Transcript
from .models import VOSK_ALIASES, ModelError, installed_whisper
from .settings import WhisperConfig
from .vocabulary import Vocabulary


def load_recognizer(
    engine: str, *, cache_dir: Path, models_dir: Path, vosk_model: Path | None, executor: Executor | None,
    workers: int = 2, nice: int = 10, vosk_url: str | None = None, whisper: WhisperConfig | None = None,
    wyoming_asr: str | None = None, vocabulary: Vocabulary | None = None,
) -> Recognizer:
    """Build the configured engine; AsrUnavailable says what is missing and how to get it.

    Whisper runs on `executor`'s threads (CTranslate2 releases the GIL for the whole decode);
    Vosk runs in `workers` processes at `nice`, so its many small calls never hold the GIL the
    frame path needs. vosk-server and wyoming decode on servers (`vosk_url`; `wyoming_asr`, a
    comma-separated list of tcp:// URIs)."""
    if engine == "whisper":
        from .whisper_engine import WhisperRecognizer

        cfg = whisper or WhisperConfig()
        try:
            model_dir = installed_whisper(models_dir, cache_dir, cfg.size)
        except ModelError as exc:
            raise AsrUnavailable(str(exc)) from None
        return WhisperRecognizer(model_dir, executor, device=cfg.device, compute_type=cfg.compute_type,
                                 beam_size=cfg.beam_size, cpu_threads=cfg.cpu_threads, workers=workers,
                                 vocabulary=vocabulary, stream_while_speaking=cfg.streaming, stride=cfg.stride,
                                 guess_after_ms=cfg.guess_after_ms, prompt_vocabulary=cfg.vocabulary)
    if engine == "vosk":
        from .vosk_process import VoskProcessRecognizer

        path = vosk_model or models_dir / VOSK_ALIASES["vosk-fr"]
        return VoskProcessRecognizer(path, workers=workers, nice=nice)
    if engine == "vosk-server":
        from .vosk_server import VoskServerRecognizer

        if not vosk_url:
            raise AsrUnavailable(_("asr=vosk-server demande l'adresse du serveur : régler "
                                   "MINIBOT_VOSK_URL=ws://hôte:2700"))
        return VoskServerRecognizer(vosk_url)
    if engine == "wyoming":
        from .wyoming import WyomingRecognizer

        if not wyoming_asr:
            raise AsrUnavailable(_("asr=wyoming demande ses serveurs : régler "
                                   "MINIBOT_WYOMING_ASR=tcp://hôte:10300[,...]"))
        return WyomingRecognizer(wyoming_asr.split(","), vocabulary=vocabulary)
    raise AsrUnavailable(_("moteur de reconnaissance inconnu {engine!r} (choisir whisper, vosk, vosk-server ou "
                           "wyoming)").format(engine=engine))


__all__ = ["AsrUnavailable", "Recognizer", "RecognizerStream", "Transcript", "Vocabulary", "load_recognizer"]
