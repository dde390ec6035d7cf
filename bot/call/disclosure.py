"""The AI disclosure, heard rather than just written (règlement (UE) 2024/1689, art. 50 §1: people
are told they are talking to an AI system; since 2 August 2026).

A caller who talks over the greeting cuts it: on a real line it was cut at 0.9 s and at 2.9 s while
the recording notice starts at 4.9 s. So what was said is judged by what played: a played list of
lines is measured against each line's audio length, the transcript keeps only what was heard (a cut
line marked with how far it got), and a disclosure that did not play to its end is due again, short,
before anything else the bot says. The call record keeps when the disclosure was complete.

How far a cut line got is estimated from the time between asking for the playback and its end
(a little later than the real stop, by the ARI round trip: tens of ms), and its words are cut in
proportion to that time: speech rate is even enough for a transcript, not for a court; the exact
seconds are written next to the words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

REPEAT_KEY = "disclosure:repeat"


def short_disclosure(company: str, recorded: bool) -> str:
    """The repetition: short, both facts the greeting carried."""
    text = f"Je le précise : vous parlez à un assistant vocal automatisé de {company}"
    return text + (", et cet appel est enregistré." if recorded else ".")


@dataclass(frozen=True)
class Heard:
    """One line as it played: its text as the transcript keeps it, and whether it played whole."""

    text: str
    complete: bool
    ends_at: float  # seconds after the playback started at which the line ended (or was cut)
    starts_at: float = 0.0  # seconds after the playback started at which the line began


def as_played(texts: Sequence[str], durations: Sequence[float], played: float | None) -> list[Heard]:
    """The lines of one playback as heard: all of them when `played` is None (played to its end),
    else those that started before `played` seconds, the last one cut ("[…] (coupé à 2,9 s sur 6,1 s)")."""
    heard, start = [], 0.0
    for text, length in zip(texts, durations, strict=True):
        end = start + length
        if played is None or played >= end:
            heard.append(Heard(text, True, end, start))
        elif played > start:
            got = played - start
            words = text.split()
            kept = " ".join(words[:int(len(words) * got / length)]) if length > 0 else ""  # words heard whole
            heard.append(Heard(f"{kept} […] (coupé à {_s(got)} s sur {_s(length)} s)".lstrip(), False, played, start))
            break
        else:
            break
        start = end
    return heard


def _s(seconds: float) -> str:
    return f"{seconds:.1f}".replace(".", ",")
