"""When the caller's silence after a question counts as one (the scenario's `silence_timeout`).

Silence counts from the end of the caller's speech as the VAD saw it, never from when their
words came back from the recogniser: under load a final transcript can come seconds after the
speech (5 s late finals turned an opt-out into a silence re-prompt, then a NO_ANSWER: the words
that came over the re-prompt were taken for an answer to it, and dropped). So while the caller
speaks, or an utterance that ended is still being recognised, nobody is silent, with bounds:
a recogniser that never answers (`words_max`) or a VAD held open by line noise (`speech_max`)
falls back to the silence handling.

Sans I/O: the conversation notes every listen event and asks for the deadline with its clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..speech import events as sev


@dataclass(frozen=True)
class SilenceTiming:
    words_max: float = 12.0  # longest wait for the words of speech that ended (a recogniser that never answers)
    speech_max: float = 30.0  # longest a caller's speech holds the silence (a VAD held open by line noise)

    def __post_init__(self) -> None:
        for name in ("words_max", "speech_max"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SilenceTiming.{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class Wait:
    """How long the bot waits for an answer from here: ``deadline`` (monotonic), and why."""

    deadline: float
    why: str  # quiet | speaking | recognising


class CallerSilence:
    """What the listen path said about the caller's speech: whether they speak, which of their
    utterances still await their words, and when their speech last ended."""

    def __init__(self, timing: SilenceTiming | None = None) -> None:
        self.timing = timing or SilenceTiming()
        self.speaking_since: float | None = None
        self.last_end: float | None = None  # the last voiced audio of their latest utterance (VAD)
        self._unheard: list[sev.SpeechEnded] = []  # ended, final transcript not come yet, oldest first

    def note(self, event: object) -> None:
        if isinstance(event, sev.SpeechStarted):
            self.speaking_since = event.at
        elif isinstance(event, sev.SpeechEnded):
            self.speaking_since = None
            self.last_end = event.at if self.last_end is None else max(self.last_end, event.at)
            self._unheard.append(event)
        elif isinstance(event, sev.FinalTranscript):
            # The recogniser answers utterances in order: this final settles its own and any older
            # one whose final was lost (a recogniser failure costs that utterance its words only).
            until = event.speech_ended_at or event.at
            self._unheard = [e for e in self._unheard if e.at > until]

    def unheard(self, since: float) -> sev.SpeechEnded | None:
        """The oldest utterance that ended at or after ``since`` and still awaits its words."""
        return next((e for e in self._unheard if e.at >= since), None)

    def wait(self, *, since: float, started: float, timeout: float) -> Wait:
        """When the caller, asked at ``since`` and waited for from ``started``, is silent for
        ``timeout``: counted from the end of their speech, held while they speak or while
        their words are being recognised (each hold bounded)."""
        end = self.last_end if self.last_end is not None and self.last_end >= since else None
        quiet = max(started, end or started) + timeout
        if self.speaking_since is not None:
            return Wait(max(quiet, self.speaking_since + self.timing.speech_max), "speaking")
        pending = self.unheard(since)
        if pending is not None:
            held = pending.detected_at + self.timing.words_max
            if held > quiet:
                return Wait(held, "recognising")
        return Wait(quiet, "quiet")
