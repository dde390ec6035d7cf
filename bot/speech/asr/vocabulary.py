"""A scenario's own words, to bias recognition toward what its callers will say.

Whisper mishears names it has never seen ("Solvéo" → "sol vers haut") and confuses times
("dix-huit heures" → "des 8 heures"). Given the words in a prompt, it leans toward them:
faster-whisper's ``initial_prompt`` (text the decoder reads as if said before) and ``hotwords``.
Wyoming carries the same lists in ``Transcribe.transcript_names``/``transcript_terms`` for the
servers that use them. Vosk takes a grammar, which only helps for closed answers: see
``vosk_grammar``.
"""

from __future__ import annotations

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
