"""Nearest labelled examples for an utterance, by spelling (rapidfuzz) and by meaning (e5).

The example bank groups phrasings under labels (an objection id, typically). An utterance
scores each label by its closest phrasing's spelling and by its similarity to the label's mean
meaning: spelling catches recognition errors on known wordings, meaning catches wordings nobody
wrote down. Built for speed: one rapidfuzz pass over pre-sorted tokens and one small matrix
product per query, whatever the number of phrasings (~1 ms for 1,000 entries).
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
_MEANING_SHARE = 0.6


def negated(normalized: str) -> bool:
    return any(w in NEGATORS for w in normalized.split())


def for_embedding(text: str) -> str:
    # What the recogniser writes: lowercase, no punctuation (accents kept, e5 reads them).
    return " ".join("".join(c if c.isalnum() or c in "'’-" else " " for c in text.lower()).split())


def _sorted_tokens(normalized: str) -> str:
    # token_sort_ratio, with the choices' sorting done once at build time.
    return " ".join(sorted(normalized.split()))


@dataclass(frozen=True, slots=True)
class Example:
    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Scored:
    label: str
    score: float  # 0..1
    example: str  # the phrasing closest in spelling


class ExampleIndex:
    def __init__(self, examples: Sequence[Example], embedder: Embedder | None = None) -> None:
        ordered = sorted(examples, key=lambda e: e.label)  # contiguous labels: one reduceat per query
        self._examples = ordered
        normalized = [normalize(e.text) for e in ordered]
        self._sorted = [_sorted_tokens(n) for n in normalized]
        self._negated = np.array([negated(n) for n in normalized])
        self.labels: list[str] = []
        starts: list[int] = []
        for i, example in enumerate(ordered):
            if not self.labels or self.labels[-1] != example.label:
                self.labels.append(example.label)
                starts.append(i)
        self._starts = np.array(starts, dtype=np.intp)
        self._position = {label: i for i, label in enumerate(self.labels)}
        counts = np.diff(np.append(self._starts, len(ordered)))
        # A label is negative when most of its phrasings are ("pas le temps", "pas intéressé").
        self._label_negated = np.add.reduceat(self._negated.astype(np.int32), self._starts) * 2 > counts
        self._embedder = embedder
        self._centroids: np.ndarray | None = None
        if embedder is not None and ordered:
            vectors = embedder.embed_many([for_embedding(e.text) for e in ordered])
            sums = np.add.reduceat(vectors, self._starts, axis=0)
            self._centroids = np.ascontiguousarray(sums / np.linalg.norm(sums, axis=1, keepdims=True))

    def __len__(self) -> int:
        return len(self._examples)

    @property
    def uses_embeddings(self) -> bool:
        return self._centroids is not None

    def embed(self, text: str) -> np.ndarray | None:
        return self._embedder.embed(for_embedding(text)) if self._embedder else None

    def rank(self, text: str, vector: np.ndarray | None = None, limit: int = 3) -> list[Scored]:
        """Labels by score, best first."""
        if not self._examples or not normalize(text):
            return []
        scores, spelling = self._scores(text, vector)
        ranked = []
        for i in np.argsort(-scores)[:limit]:
            start = self._starts[i]
            end = self._starts[i + 1] if i + 1 < len(self._starts) else len(spelling)
            where = start + int(np.argmax(spelling[start:end]))
            ranked.append(Scored(self.labels[i], float(scores[i]), self._examples[where].text))
        return ranked

    def score_of(self, label: str, text: str, vector: np.ndarray | None = None) -> float:
        """How close the utterance is to one label (0 for an unknown label or empty text)."""
        if label not in self._position or not normalize(text):
            return 0.0
        return float(self._scores(text, vector)[0][self._position[label]])

    def _scores(self, text: str, vector: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(one score per label, one spelling score per example)."""
        query = normalize(text)
        query_negated = negated(query)
        spelling = process.cdist([_sorted_tokens(query)], self._sorted, scorer=fuzz.ratio, dtype=np.uint8)[0]
        spelling = spelling.astype(np.float32) / 100.0 - _NEGATION_PENALTY * (self._negated != query_negated)
        closest = np.maximum.reduceat(spelling, self._starts)
        scores = closest
        if self._centroids is not None and vector is not None:
            meaning = np.clip((self._centroids @ vector - _COS_FLOOR) / _COS_SPAN, 0.0, 1.0)
            meaning -= _NEGATION_PENALTY * (self._label_negated != query_negated)
            scores = _MEANING_SHARE * meaning + (1 - _MEANING_SHARE) * closest
        return np.clip(scores, 0.0, 1.0), spelling
