"""When the bot says its first words: after the callee's own greeting, never over it.

Greeting a fixed 1.0 s after the answer spoke over the callee's "allô" in 3 of 5 calls on a
real Asterisk: a Local channel's callee cannot make a sound for ~500 ms after Answer() (facts
§7.4), so its "allô" starts around 0.9 s, and a VAD onset is only confirmed 80 ms later. The
bot now waits for the callee's greeting to end, and the silence that lets it speak first is
both longer and watched frame by frame: a voiced frame not yet confirmed as speech holds the
bot too. A callee who never speaks hears the bot after ``silent_callee`` seconds; an "allô"
that starts in the very first moments of the bot's greeting stops it (echo-aware barge-in)
and the greeting starts again once they pause (``restart_within``).

Sans I/O: the conversation asks ``decide`` with what the listener knows, every few tens of ms.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class FirstWords(enum.Enum):
    WAIT = "wait"  # the callee may be about to speak, or is speaking
    SPEAK = "speak"  # their greeting is over (or they are silent): the bot's turn
    LONG = "long"  # still talking after greeting_max: not an "allô", let the AMD evidence judge


@dataclass(frozen=True)
class FirstWordsTiming:
    silent_callee: float = 1.6  # no voice at all this long after the answer: the bot speaks first
    greeting_gap: float = 0.35  # a pause this long after "allô" is the bot's turn
    greeting_max: float = 2.5  # still talking after this: not an "allô"
    voice_hold: float = 0.25  # a voiced frame this recent holds the bot (an onset still being confirmed)
    hold_max: float = 3.0  # voice that never becomes speech (line noise) holds the bot no longer than this
    restart_within: float = 1.5  # the callee cut the greeting this early: say it again, whole

    def __post_init__(self) -> None:
        for name in ("silent_callee", "greeting_gap", "greeting_max", "voice_hold", "hold_max"):
            if getattr(self, name) <= 0:
                raise ValueError(f"FirstWordsTiming.{name} must be positive, got {getattr(self, name)}")
        if self.hold_max < self.silent_callee:
            raise ValueError("FirstWordsTiming.hold_max must be at least silent_callee")


def greeting_cut_early(t: FirstWordsTiming, started: float, onset: float | None) -> bool:
    """The callee's voice began this soon into the bot's greeting (``started``: when it was asked
    to play): their own "allô", not an answer to it. The greeting is said again after it."""
    return onset is not None and onset - started < t.restart_within


# What a person says on picking up, before they know who calls: not an answer to the greeting.
_CALLEE_GREETING = frozenset(("allô", "allo", "alló", "bonjour", "bonsoir", "oui", "ouais", "qui", "est", "ce",
                              "c'est", "j'écoute", "écoute", "je", "vous", "l'appareil", "à"))
SAID_OVER_GREETING_MIN_S = 1.0  # an "allô" lasts 0.5-0.8 s; a misheard one is not an answer


def answers_the_greeting(text: str, speech_seconds: float) -> bool:
    """Words said over the bot's greeting that answer it ("Non merci, je ne suis pas intéressé"),
    not the callee's own greeting ("Allô, oui, bonjour ?", "Qui est à l'appareil ?") or an
    acknowledgement: the bot, which greets again after them, takes them as the answer to its first
    question once its greeting (with the AI disclosure the law wants heard) has played."""
    from ..speech.turn import is_backchannel

    words = re.sub(r"[^\w' -]+", " ", text.lower().replace("’", "'")).replace("-", " ").split()
    if speech_seconds < SAID_OVER_GREETING_MIN_S or not words or is_backchannel(text):
        return False
    return not all(w in _CALLEE_GREETING for w in words)


def decide(t: FirstWordsTiming, *, now: float, answered: float, speaking_since: float | None,
           quiet: float | None, last_voice_at: float | None) -> FirstWords:
    """``speaking_since``: when the callee's confirmed speech began (None: not yet); ``quiet``:
    seconds of silence inside their utterance in progress (None: no utterance in progress);
    ``last_voice_at``: the last voiced frame, confirmed as speech or not (monotonic)."""
    voice_now = last_voice_at is not None and now - last_voice_at < t.voice_hold
    held_too_long = now - answered >= t.hold_max
    if speaking_since is None:
        if voice_now and not held_too_long:
            return FirstWords.WAIT
        return FirstWords.SPEAK if now - answered >= t.silent_callee else FirstWords.WAIT
    if now - speaking_since >= t.greeting_max:
        return FirstWords.LONG
    if quiet is not None and quiet < t.greeting_gap:
        return FirstWords.WAIT
    # Their utterance paused long enough, or ended: speak, unless a voice is starting again.
    return FirstWords.WAIT if voice_now and not held_too_long else FirstWords.SPEAK
