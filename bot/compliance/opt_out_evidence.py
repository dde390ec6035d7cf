"""The evidence of a do-not-call request heard on a call, as the operator and an authority read it.

A request the bot asked to confirm ("Vous ne souhaitez plus être appelé, c'est bien cela ?")
ended, before, with the caller's last words as its evidence: a bare "oui". What proves the
opposition (art. 21 RGPD, L. 223-1 code de la consommation) is the request itself: so the
evidence keeps the words that asked, the question, and the words that confirmed, each dated.
It is one French text in `opt_outs.evidence` (no migration): the audit exports, `optout list`
and `contacts show` print it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True, slots=True)
class Said:
    """Words, and when they began to be said (None: not known)."""

    text: str
    at: datetime | None = None


def opt_out_evidence(request: Said, question: str = "", confirmation: Said | None = None) -> str:
    """« Demande : « ne m'appelez plus » (le 06/12/2026 à 10:32:05, heure de Paris) ; question du
    robot : « … » ; confirmation : « oui » (le … à 10:32:12, heure de Paris) »."""
    parts = [f"Demande : « {_words(request.text)} »{_when(request.at)}"]
    if confirmation is not None:
        if question:
            parts.append(f"question du robot : « {question.strip()} »")
        parts.append(f"confirmation : « {_words(confirmation.text)} »{_when(confirmation.at)}")
    return " ; ".join(parts)


def _words(text: str) -> str:
    return " ".join(text.split()) or "(paroles non transcrites)"


def _when(at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(PARIS)
    return f" (le {local:%d/%m/%Y} à {local:%H:%M:%S}, heure de Paris)"
