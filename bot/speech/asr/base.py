"""The recogniser seam: one small protocol, several engines.

A ``Recognizer`` is loaded once per process (models are large) and opens one
``RecognizerStream`` per utterance. Streams are fed PCM at the caller's rate; each engine
resamples to its model's rate itself. Engines run their CPU work in the executor they were
given, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
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

    # A stream that holds something outside the process's memory (a socket, a decoder in a worker)
    # also has `async def aclose(self) -> None`: the utterance is abandoned (the call ended first),
    # release it without decoding. `release` below calls it where it exists.
    # A batch engine (no words before the end) may also have `guess() -> bool` and `drop_guess()`,
    # and its recogniser a `pause_guess_ms`: the listener calls `guess` once the caller has been
    # quiet that long (decode now, in case the turn ends in this pause: `finish` then returns that
    # decode) and `drop_guess` when they spoke again before the turn ended; `guessed`, the guess's
    # future (its text), gives the pause's words to the end-of-turn rules (bot.speech.turn).


async def release(stream: RecognizerStream) -> None:
    """Let go of an utterance that will never be finished; raises nothing but a cancellation."""
    close = getattr(stream, "aclose", None)
    if close is None:
        return
    # Shielded: a cancellation (the call's end) still reaches the caller, the close goes on regardless.
    with contextlib.suppress(Exception):
        await asyncio.shield(asyncio.wait_for(close(), 2.0))


class Recognizer(Protocol):
    name: str
    streaming: bool  # True when partials come while the caller speaks

    def open(self, sample_rate: int) -> RecognizerStream:
        """A stream for one utterance of PCM at ``sample_rate``."""


class AsrUnavailable(RuntimeError):
    """The engine cannot run: missing model files or package. The message says what to do."""
