"""Which library entry a caller's objection or question is, and how sure we are.

rapidfuzz over every phrasing of the entries in use (plus e5 similarity when the caller's
utterance vector is at hand). Thresholds follow the seeds: from `answer_at` an entry's answer is
used, from `confident_at` its pre-recorded audio is played as is; under `answer_at` the freestyle
path takes over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..nlu.embeddings import Embedder
from ..nlu.index import Example, ExampleIndex
from .library import Library, Objection


@dataclass(frozen=True, slots=True)
class ObjectionMatch:
    entry: Objection
    score: float
    phrasing: str  # the library phrasing that matched best
    confident: bool  # score >= confident_at: play the pre-recorded answer


class ObjectionMatcher:
    def __init__(
        self,
        library: Library,
        *,
        embedder: Embedder | None = None,
        answer_at: float = 0.5,
        confident_at: float = 0.7,
    ) -> None:
        if not 0 <= answer_at <= confident_at <= 1:
            raise ValueError(
                f"thresholds must satisfy 0 <= answer_at ({answer_at}) <= confident_at ({confident_at}) <= 1"
            )
        self.library = library
        self.answer_at, self.confident_at = answer_at, confident_at
        self.index = ExampleIndex([Example(e.id, p) for e in library.entries for p in e.phrasings], embedder)

    def match(self, text: str, vector: np.ndarray | None = None) -> ObjectionMatch | None:
        """The best entry from `answer_at` up, else None (freestyle's turn)."""
        ranked = self.index.rank(text, vector, limit=1)
        if not ranked or ranked[0].score < self.answer_at:
            return None
        best = ranked[0]
        return ObjectionMatch(self.library.by_id(best.label), best.score, best.example, best.score >= self.confident_at)
