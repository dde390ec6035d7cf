"""Text to speech behind one protocol: espeak-ng (offline default), Kokoro, Coqui XTTS v2."""

from .base import TtsEngine, TtsError, TtsUnavailable
from .registry import ENGINES, load_engine

__all__ = ["ENGINES", "TtsEngine", "TtsError", "TtsUnavailable", "load_engine"]
