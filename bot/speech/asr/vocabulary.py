"""A scenario's own words, to bias recognition toward what its callers will say.

Whisper mishears names it has never seen ("Solvéo" → "sol vers haut") and confuses times
("dix-huit heures" → "des 8 heures"). Given the words in a prompt, it leans toward them:
faster-whisper's ``initial_prompt`` (text the decoder reads as if said before) and ``hotwords``.
Wyoming carries the same lists in ``Transcribe.transcript_names``/``transcript_terms`` for the
servers that use them. Vosk takes a grammar, which only helps for closed answers: see
``vosk_grammar``.

A prompt has a price: Whisper sometimes reads it back instead of the caller (on noise, a short
word, a cut utterance). Two rules keep that from becoming something a caller never said:
- the prompt holds names and the times and days of a callback, never an answer: with "oui",
  "d'accord" or "ne plus m'appeler" in it, 3 of 45 clips gained a "oui" or an "appeler" nobody
  said, and a "oui" nobody said is a consent nobody gave;
- ``recited`` knows a transcript that is the prompt read back (its entries one after the other,
  or nothing but its entries); the recogniser then decodes the audio again without the prompt.
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from dataclasses import dataclass, field

# What every campaign's callers say when they give a callback time. Never an answer (yes, no, a
# refusal, an opt-out): a prompt word Whisper writes without hearing it must not decide a call.
COMMON_TERMS = (
    "demain", "ce soir", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "neuf heures",
    "dix heures", "midi", "quatorze heures", "dix-huit heures", "dix-huit heures trente",
)
PROMPT_OPENING = "Appel de"
_RECITED_RUN = 3  # prompt entries in a row, in the prompt's order: read back, not said


def _words(text: str) -> list[str]:
    """Lower-case words without accents or punctuation ("Dix-huit heures." → dix, huit, heures)."""
    folded = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
    return re.findall(r"[a-z0-9]+", folded)


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
            parts.append(f"{PROMPT_OPENING} " + ", ".join(self.names) + ".")
        if self.terms:
            parts.append(" ".join(t.capitalize() + "." for t in self.terms))
        return " ".join(parts)[:max_chars]

    def recited(self, text: str) -> bool:
        """Whether ``text`` may be this prompt read back rather than what the caller said: three
        of its entries or more one after the other in the prompt's order ("Maître Lambert,
        Isolfrance, Thermiconfort"), or nothing but its entries ("Neuf heures." for a "Non, ce
        n'est pas moi." on a noisy line, "Appel de Solvéo"). A caller who says "Julie Marchand
        de chez Solvéo" is not reciting; one who answers "Demain." may be, and the decode
        without the prompt says which (it costs one decode, never a word)."""
        said = _words(text)
        if not said:
            return False
        entries = [_words(e) for e in (*self.names, *self.terms)]
        starts = {k: {i for i in range(len(said) - len(e) + 1) if e and said[i:i + len(e)] == e}
                  for k, e in enumerate(entries)}
        # Entries following each other in the transcript as they do in the prompt.
        run: dict[tuple[int, int], int] = {}
        for k in range(len(entries)):
            for i in starts[k]:
                before = run.get((k - 1, i - len(entries[k - 1]))) if k else None
                run[(k, i)] = (before or 0) + 1
                if run[(k, i)] >= _RECITED_RUN:
                    return True
        # Nothing but the prompt's words: its entries (and its opening), however many.
        found = [(k, i) for k in starts for i in starts[k]]
        covered = {i + j for k, i in found for j in range(len(entries[k]))}
        opening = _words(PROMPT_OPENING)
        return bool(found) and all(i in covered or w in opening for i, w in enumerate(said))

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
