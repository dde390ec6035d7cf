"""Nearest labelled examples for an utterance, by spelling (rapidfuzz) and by meaning (e5).

The example bank groups phrasings under labels (an intent, or an objection id). An utterance
scores each label by its closest phrasing; spelling catches recognition errors on known wordings,
meaning catches wordings nobody wrote down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from .embeddings import Embedder
from .normalize import normalize

# Words that turn a sentence around: "ça m'intéresse" and "ça ne m'intéresse pas" are
# neighbours for an embedding, opposites for the caller.
NEGATORS = frozenset({"pas", "jamais", "aucun", "aucune", "rien", "nullement", "aucunement", "non"})

# e5 puts unrelated French sentences near 0.78 cosine and paraphrases above 0.9.
_COS_FLOOR, _COS_SPAN = 0.78, 0.17
_NEGATION_PENALTY = 0.2


def negated(normalized: str) -> bool:
    return any(w in NEGATORS for w in normalized.split())


@dataclass(frozen=True, slots=True)
class Example:
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Scored:
    label: str
    score: float  # 0..1
    example: str  # the phrasing that scored it


class ExampleIndex:
    def __init__(self, examples: Sequence[Example], embedder: Embedder | None = None) -> None:
        ordered = sorted(examples, key=lambda e: e.label)  # contiguous labels: one reduceat per query
        self._examples = ordered
        self._normalized = [normalize(e.text) for e in ordered]
        self._negated = np.array([negated(n) for n in self._normalized])
        self.labels: list[str] = []
        starts: list[int] = []
        for i, example in enumerate(ordered):
            if not self.labels or self.labels[-1] != example.label:
                self.labels.append(example.label)
                starts.append(i)
        self._starts = np.array(starts, dtype=np.intp)
        self._embedder = embedder
        self._vectors = embedder.embed_many([for_embedding(e.text) for e in ordered]) if embedder else None

    def __len__(self) -> int:
        return len(self._examples)

    @property
    def uses_embeddings(self) -> bool:
        return self._vectors is not None

    def embed(self, text: str) -> np.ndarray | None:
        return self._embedder.embed(for_embedding(text)) if self._embedder else None

    def example_scores(self, text: str, vector: np.ndarray | None = None) -> np.ndarray:
        """One 0..1 score per example."""
        query = normalize(text)
        if not query:
            return np.zeros(len(self._examples), dtype=np.float32)
        spelling = process.cdist([query], self._normalized, scorer=fuzz.token_sort_ratio, dtype=np.uint8)[0]
        scores = spelling.astype(np.float32) / 100.0
        if self._vectors is not None and vector is not None:
            meaning = np.clip((self._vectors @ vector - _COS_FLOOR) / _COS_SPAN, 0.0, 1.0)
            scores = 0.6 * meaning + 0.4 * scores
        scores = scores - _NEGATION_PENALTY * (self._negated != negated(query))
        return np.clip(scores, 0.0, 1.0)

    def rank(self, text: str, vector: np.ndarray | None = None, limit: int = 3) -> list[Scored]:
        """Labels by their best example's score, best first."""
        if not self._examples:
            return []
        scores = self.example_scores(text, vector)
        best = np.maximum.reduceat(scores, self._starts)
        order = np.argsort(-best)[:limit]
        ranked = []
        for i in order:
            start = self._starts[i]
            end = self._starts[i + 1] if i + 1 < len(self._starts) else len(scores)
            where = start + int(np.argmax(scores[start:end]))
            ranked.append(Scored(self.labels[i], float(best[i]), self._examples[where].text))
        return ranked


def for_embedding(text: str) -> str:
    # What the recogniser writes: lowercase, no punctuation (accents kept, e5 reads them).
    return " ".join("".join(c if c.isalnum() or c in "'’-" else " " for c in text.lower()).split())
