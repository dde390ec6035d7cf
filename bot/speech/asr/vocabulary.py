"""A scenario's own words, to bias recognition toward what its callers will say.

Whisper mishears names it has never seen ("Solvéo" → "sol vers haut") and confuses times
("dix-huit heures" → "des 8 heures"). Given the words in a prompt, it leans toward them:
faster-whisper's ``initial_prompt`` (text the decoder reads as if said before) and ``hotwords``.
Wyoming carries the same lists in ``Transcribe.transcript_names``/``transcript_terms`` for the
servers that use them. Vosk takes a grammar, which only helps for closed answers: see
``vosk_grammar``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

# What every campaign's callers say: the hours and times of a callback, yes/no, objections.
COMMON_TERMS = (
    "oui", "non", "d'accord", "merci", "rappelez-moi", "demain", "ce soir", "lundi", "mardi", "mercredi",
    "jeudi", "vendredi", "samedi", "neuf heures", "dix heures", "midi", "quatorze heures",
    "dix-huit heures", "dix-huit heures trente", "pas intéressé", "ne plus m'appeler",
)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    names: tuple[str, ...] = ()  # company, product, agent names: said exactly so
    terms: tuple[str, ...] = field(default=COMMON_TERMS)  # phrases callers say

    @classmethod
    def of(cls, names: list[str] | tuple[str, ...] = (), terms: list[str] | tuple[str, ...] = ()) -> Vocabulary:
        clean = lambda xs: tuple(dict.fromkeys(s.strip() for s in xs if s and s.strip()))  # noqa: E731
        return cls(clean(names), clean([*terms, *COMMON_TERMS]))

    def prompt(self, max_chars: int = 400) -> str:
        """A French sentence naming the words, as Whisper's initial prompt (it reads its
        prompt as previous speech, so a natural sentence biases better than a bare list)."""
        parts = []
        if self.names:
            parts.append("Appel de " + ", ".join(self.names) + ".")
        if self.terms:
            parts.append(" ".join(t.capitalize() + "." for t in self.terms))
        return " ".join(parts)[:max_chars]

    def hotwords(self) -> str:
        return " ".join(self.names)

    def vosk_grammar(self) -> list[str]:
        """Every word of the vocabulary plus "[unk]", for a Vosk recogniser limited to a closed
        answer (yes/no, a time): open speech needs the full model, never a grammar."""
        words = {w.lower() for phrase in (*self.names, *self.terms) for w in phrase.replace("-", " ").split()}
        return [*sorted(words), "[unk]"]


def for_scenario(scenario) -> Vocabulary:
    """A scenario's words: its agent and company names, and its ``vocabulary:`` list if it has one
    (product names, place names). Takes any object with those attributes (the parsed YAML)."""
    names = [getattr(scenario, "agent_name", "") or "", getattr(scenario, "company_name", "") or ""]
    return Vocabulary.of(names + list(getattr(scenario, "vocabulary", None) or ()))


class Biased:
    """A recogniser whose streams are all biased toward one vocabulary: what a call running one
    scenario hands its listener (``Biased(recognizer, for_scenario(s))``), the model shared."""

    def __init__(self, recognizer, vocabulary: Vocabulary) -> None:
        self._inner = recognizer
        self.vocabulary = vocabulary
        self.name = recognizer.name
        self.streaming = recognizer.streaming
        # Engines without vocabulary support (Vosk's open vocabulary) open plain streams.
        self._takes_vocabulary = "vocabulary" in inspect.signature(recognizer.open).parameters

    def open(self, sample_rate: int):
        if self._takes_vocabulary:
            return self._inner.open(sample_rate, self.vocabulary)
        return self._inner.open(sample_rate)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)
