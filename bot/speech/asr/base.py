"""The recogniser seam: one small protocol, several engines.

A ``Recognizer`` is loaded once per process (models are large) and opens one
``RecognizerStream`` per utterance. Streams are fed PCM at the caller's rate; each engine
resamples to its model's rate itself. Engines run their CPU work in the executor they were
given, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    final: bool
    audio_seconds: float  # audio the engine had heard when it produced this


class RecognizerStream(Protocol):
    async def feed(self, pcm: bytes) -> Transcript | None:
        """Add audio; returns a partial transcript when the engine has a new one."""

    async def finish(self) -> Transcript:
        """No more audio for this utterance: the final transcript (text may be empty)."""


class Recognizer(Protocol):
    name: str
    streaming: bool  # True when partials come while the caller speaks

    def open(self, sample_rate: int) -> RecognizerStream:
        """A stream for one utterance of PCM at ``sample_rate``."""


class AsrUnavailable(RuntimeError):
    """The engine cannot run: missing model files or package. The message says what to do."""
