"""What the caller meant: the intent taxonomy and one classification result.

Every classifier (offline rules + fuzzy + embeddings, Ollama) answers with an `Understanding`;
the scenario engine only ever reads this type.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.i18n import _


class Intent(StrEnum):
    AFFIRM = "affirm"  # oui, d'accord, volontiers
    DENY = "deny"  # non, pas du tout
    UNSURE = "unsure"  # je ne sais pas, peut-être
    QUESTION = "question"  # the caller asks something (FAQ answers carry an objection id)
    OBJECTION = "objection"  # a reason not to go on (the objection id says which)
    CALLBACK = "callback"  # rappelez-moi plus tard
    OPT_OUT = "opt_out"  # do-not-call request: legal weight, always honoured
    TRANSFER = "transfer"  # asks for a human
    REPEAT = "repeat"  # did not hear / understand

    @classmethod
    def parse(cls, value: str) -> Intent:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValueError(_("intention inconnue {value!r} ; connues : {known}").format(
                value=value, known=", ".join(i.value for i in cls))) from None


@dataclass(frozen=True, slots=True)
class Understanding:
    text: str  # what the classifier read (ASR output)
    intent: Intent
    objection: str | None  # objection/FAQ id from the library, when one matched
    score: float  # 0..1 confidence in (intent, objection)
    source: str  # which layer decided: rules, fuzzy, embedding, ollama, fallback...
    # An opt-out to confirm before acting on it ("stop", a conditional request): the bot asks
    # "Vous ne souhaitez plus être appelé, c'est bien cela ?" instead of deciding.
    confirm: bool = False
    sentiment: str | None = None  # positive | neutral | negative | irritated (bot.dialog.nlu.sentiment)

    @property
    def decided_opt_out(self) -> bool:
        return self.intent is Intent.OPT_OUT and not self.confirm

    def as_json(self) -> dict:
        out = {
            "text": self.text,
            "intent": self.intent.value,
            "objection": self.objection,
            "score": round(self.score, 3),
        }
        if self.confirm:
            out["confirm"] = True
        if self.sentiment:
            out["sentiment"] = self.sentiment
        return out


class IntentClassifier(Protocol):
    """Anything that turns a caller's words into an `Understanding`.

    Async because some backends wait on a network (Ollama); offline ones return at once.
    A classifier with a true ``cheap`` attribute is also run on partial transcripts."""

    async def understand(self, text: str) -> Understanding: ...
