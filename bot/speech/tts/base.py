"""The TTS protocol: text and a voice in, PCM at the engine's own rate out.

Synthesis is CPU work measured in hundreds of milliseconds: `synthesize` is a plain blocking
call, and callers run it in an executor (never on the event loop).
"""

from __future__ import annotations

from typing import Protocol

from ..pcm import Audio


class TtsError(RuntimeError):
    """The engine failed on this text (the message says which engine and why)."""


class TtsUnavailable(TtsError):
    """The engine cannot run here: a package, a binary or a model is missing (the message names it)."""


class TtsEngine(Protocol):
    name: str  # part of every cache key: espeak, kokoro, xtts
    default_voice: str

    @property
    def version(self) -> str:
        """Changes when the same text would sound different (engine or model update)."""
        ...

    def voices(self) -> list[str]: ...

    def synthesize(self, text: str, voice: str | None = None, sample_rate: int | None = None) -> Audio:
        """Mono 16-bit PCM of `text`, at `sample_rate` (default: the engine's own). Blocking."""
        ...


def at_rate(audio: Audio, sample_rate: int | None) -> Audio:
    """The engine's output at the rate asked for (soxr), or as it is."""
    return audio if sample_rate in (None, audio.sample_rate) else audio.at_rate(sample_rate)
