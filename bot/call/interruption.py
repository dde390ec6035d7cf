"""Was that barge-in an interruption? A backchannel does not stop the bot's line.

The bot yields within the barge-in budget (≤ 150 ms from the caller's onset), but nothing can
tell "oui" from "oui mais..." that early. So, as a person lowers their voice when the other
starts to speak, the line plays on ``duck_db`` quieter (VOLUME(TX) on the caller channel, which
takes effect at once while the prompt plays on the call's bridge) until what the caller said
decides: a short utterance whose words are only acknowledgements or fillers ("oui", "mm",
"d'accord", "je vois", "euh", or no words at all: a cough, a noise) is a backchannel, and the
line comes back to full voice, never stopped; anything else stops it and is the caller's turn.
Speech still going ``backchannel_max`` after its onset is an interruption whatever its words,
and so is a verdict that does not come within ``verdict_max``.

Where the line cannot be lowered (``duck_db`` None, an Asterisk without func_volume, a prompt
played on the channel), or when the callee's "allô" comes as the greeting starts (the greeting
is said again whole), the prompt stops at once; a backchannel then resumes it from the last
quiet moment before the cut (a word boundary, so no word is heard twice or half).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..speech import events as sev
from ..speech.turn import is_backchannel
from .prompt import Prompt

_LOOK = 0.05  # s between looks at a lowered line's caller


@dataclass(frozen=True)
class InterruptionTiming:
    backchannel_max: float = 1.0  # longer speech over the bot is an interruption, whatever its words
    verdict_max: float = 3.0  # longest wait for the words (then the turn goes to the caller)
    rewind_max: float = 1.0  # resume from the quietest moment up to this long before the cut
    resumes_max: int = 3  # a line resumed this often is not resumed again
    duck_db: float | None = -20.0  # the line's level while the words decide (None: stop at once)
    still_speaking_quiet: float = 0.25  # less silence than this at backchannel_max: still speaking

    @property
    def duck_volume(self) -> str:
        """The VOLUME(TX) value for ``duck_db``: func_volume divides by a negative value."""
        assert self.duck_db is not None
        return str(-max(1, round(10 ** (-self.duck_db / 20))))


@dataclass(frozen=True, slots=True)
class Cut:
    playback_id: str
    at: float  # monotonic: the prompt stopped (or was lowered)
    onset: float  # the caller's voice began
    ducked: bool = False  # lowered, not stopped: it plays on while the words decide


class Interruptions:
    """Fed by the call's listen-event pump; asked by ``Call.play`` when a line was cut."""

    def __init__(self, timing: InterruptionTiming | None = None) -> None:
        self.timing = timing or InterruptionTiming()
        self.last_cut: Cut | None = None
        self.false_interruptions = 0  # stopped lines resumed
        self.played_through = 0  # backchannels the lowered line played on through
        self.why = ""  # the last verdict, in words (for the call's timeline)
        self._verdict: asyncio.Future[bool] | None = None  # True: a backchannel
        self._partial = ""  # a streaming recogniser's words so far, all acknowledgements

    def barged(self, playback_id: str | None, event: sev.BargeInDetected, stopped_at: float, *,
               ducked: bool = False) -> None:
        if playback_id is None:
            return
        self.last_cut = Cut(playback_id, stopped_at, event.at, ducked)
        self._partial = ""
        if self._verdict is not None and not self._verdict.done():
            self._verdict.set_result(False)
        self._verdict = asyncio.get_running_loop().create_future()

    def heard(self, event: sev.ListenEvent) -> None:
        fut = self._verdict
        if fut is None or fut.done():
            return
        if isinstance(event, sev.SpeechEnded) and event.duration > self.timing.backchannel_max:
            self._decide(False, f"{event.duration:.1f} s of speech")
        elif isinstance(event, sev.SpeechEnded) and self._partial:
            # short, and a streaming recogniser's words up to its end were only acknowledgements
            self._decide(True, f"{event.duration:.1f} s: {self._partial!r}")
        elif isinstance(event, sev.PartialTranscript) and not is_backchannel(event.text):
            self._decide(False, f"words: {event.text!r}")  # meaningful already: no need to wait for the end
        elif isinstance(event, sev.PartialTranscript):
            self._partial = event.text.strip()
        elif isinstance(event, sev.FinalTranscript):
            short = event.speech_duration <= self.timing.backchannel_max
            self._decide(short and is_backchannel(event.text), f"{event.speech_duration:.1f} s: {event.text!r}")
        elif isinstance(event, sev.MediaClosed):
            self._decide(False, "media closed")

    def _decide(self, backchannel: bool, why: str) -> None:
        self.why = why
        if self._verdict is not None and not self._verdict.done():
            self._verdict.set_result(backchannel)

    async def judge_lowered(self, silent_for: Callable[[float], float | None]) -> bool:
        """For a lowered line: True for a backchannel (it comes back to full voice), False for an
        interruption (it stops). ``silent_for(now)``: the caller's silence inside the utterance in
        progress (None outside one), from the listener. Looked at every ``_LOOK`` seconds: the
        words may decide (a final, a meaningful partial), or the caller's pause after words that
        were only acknowledgements, or speech still going ``backchannel_max`` after its onset."""
        cut, fut = self.last_cut, self._verdict
        if cut is None or fut is None:
            return False
        t = self.timing
        while not fut.done():
            now = time.monotonic()
            quiet = silent_for(now)
            if quiet is not None and quiet >= t.still_speaking_quiet and self._partial:
                self._decide(True, f"{now - quiet - cut.onset:.1f} s: {self._partial!r}, then a pause")
            elif now >= cut.onset + t.backchannel_max and quiet is not None and quiet < t.still_speaking_quiet:
                self._decide(False, f"still speaking {t.backchannel_max:.1f} s in")
            elif now >= cut.onset + t.verdict_max:
                self._decide(False, f"no words within {t.verdict_max:.0f} s")
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(fut), _LOOK)
        backchannel = fut.result()
        self.played_through += backchannel
        return backchannel

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
