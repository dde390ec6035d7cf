"""Was that barge-in an interruption? A backchannel resumes the bot's line where it was cut.

The prompt stops within the barge-in budget (≤ 150 ms from the caller's onset): nothing can
tell "oui" from "oui mais..." that early. What the caller said decides after: a short utterance
whose words are only acknowledgements or fillers ("oui", "mm", "d'accord", "je vois", "euh", or
no words at all: a cough, a noise) is a false interruption, and the line plays on from the last
quiet moment before the cut (a word boundary, so no word is heard twice or half); anything
else is the caller's turn. Speech longer than ``backchannel_max`` is an interruption whatever
its words, and so is a verdict that does not come within ``verdict_max``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from ..speech import events as sev
from ..speech.turn import is_backchannel
from .prompt import Prompt


@dataclass(frozen=True)
class InterruptionTiming:
    backchannel_max: float = 1.0  # longer speech over the bot is an interruption, whatever its words
    verdict_max: float = 3.0  # longest wait for the words (then the turn goes to the caller)
    rewind_max: float = 1.0  # resume from the quietest moment up to this long before the cut
    resumes_max: int = 3  # a line resumed this often is not resumed again


@dataclass(frozen=True, slots=True)
class Cut:
    playback_id: str
    at: float  # monotonic: the prompt stopped
    onset: float  # the caller's voice began


class Interruptions:
    """Fed by the call's listen-event pump; asked by ``Call.play`` when a line was cut."""

    def __init__(self, timing: InterruptionTiming | None = None) -> None:
        self.timing = timing or InterruptionTiming()
        self.last_cut: Cut | None = None
        self.false_interruptions = 0
        self.why = ""  # the last verdict, in words (for the call's timeline)
        self._verdict: asyncio.Future[bool] | None = None  # True: a backchannel

    def barged(self, playback_id: str | None, event: sev.BargeInDetected, stopped_at: float) -> None:
        if playback_id is None:
            return
        self.last_cut = Cut(playback_id, stopped_at, event.at)
        if self._verdict is not None and not self._verdict.done():
            self._verdict.set_result(False)
        self._verdict = asyncio.get_running_loop().create_future()

    def heard(self, event: sev.ListenEvent) -> None:
        fut = self._verdict
        if fut is None or fut.done():
            return
        if isinstance(event, sev.SpeechEnded) and event.duration > self.timing.backchannel_max:
            self._decide(False, f"{event.duration:.1f} s of speech")
        elif isinstance(event, sev.PartialTranscript) and not is_backchannel(event.text):
            self._decide(False, f"words: {event.text!r}")  # meaningful already: no need to wait for the end
        elif isinstance(event, sev.FinalTranscript):
            short = event.speech_duration <= self.timing.backchannel_max
            self._decide(short and is_backchannel(event.text), f"{event.speech_duration:.1f} s: {event.text!r}")
        elif isinstance(event, sev.MediaClosed):
            self._decide(False, "media closed")

    def _decide(self, backchannel: bool, why: str) -> None:
        self.why = why
        if self._verdict is not None and not self._verdict.done():
            self._verdict.set_result(backchannel)

    async def was_backchannel(self, playback_id: str) -> bool:
        """For a line cut by a barge-in: wait for what the caller said, and judge it."""
        cut, fut = self.last_cut, self._verdict
        if cut is None or cut.playback_id != playback_id or fut is None:
            return False
        try:
            backchannel = await asyncio.wait_for(asyncio.shield(fut), self.timing.verdict_max)
        except TimeoutError:
            self.why = f"no words within {self.timing.verdict_max:.0f} s"
            return False
        self.false_interruptions += backchannel
        return backchannel


def resume_point(pcm: bytes, rate: int, cut_s: float, rewind_max: float) -> float:
    """Where to resume a line cut ``cut_s`` seconds in: the last of its quietest 20 ms in the
    second before the cut (between two words, typically), never before its start."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    frame = rate // 50
    end = min(len(x), int(cut_s * rate))
    start = max(0, end - int(rewind_max * rate))
    if end - start < 2 * frame:
        return max(0.0, start / rate)
    window = x[start:end]
    frames = len(window) // frame
    energy = (window[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1)
    # The latest of the quietest frames: the boundary nearest the cut, so little is said twice.
    quiet = np.flatnonzero(energy <= max(4 * float(energy.min()), 0.01 * float(np.median(energy))))
    return (start + int(quiet[-1]) * frame) / rate


def remaining(prompts: list[Prompt], from_s: float) -> tuple[list[Prompt], int]:
    """The prompts still to play from ``from_s`` seconds into the whole list, and the offset (ms)
    into the first of them."""
    t = 0.0
    for i, prompt in enumerate(prompts):
        if from_s < t + prompt.duration:
            return prompts[i:], int((from_s - t) * 1000)
        t += prompt.duration
    return [], 0
