"""A trained intent/objection model over the labelled examples.

Logistic regression (scikit-learn) on three views of an utterance: character n-grams of the
normalised text (survive recognition errors: "rappelé"/"rappeler"), word n-grams ("pas le
temps"), and the e5 sentence embedding (meaning, for wordings nobody wrote down). Trained in a
few seconds when a classifier is built; the fitted model is cached on disk by the examples' hash.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from .embeddings import Embedder, default_cache_dir
from .index import Example, for_embedding
from .normalize import normalize

log = logging.getLogger(__name__)
_VERSION = "intent-model-2"
# Weights of the views, chosen on the dev set (python -m bench.nlu): meaning counts for more
# than spelling once the utterance is a wording nobody wrote down.
_SPELLING_WEIGHT, _MEANING_WEIGHT = 0.5, 2.0


@dataclass(frozen=True, slots=True)
class Prediction:
    label: str
    probability: float


class IntentModel:
    def __init__(
        self,
        examples: Sequence[Example],
        embedder: Embedder | None = None,
        *,
        c: float = 10.0,
        cache_dir: Path | None = None,
    ) -> None:
        self._embedder = embedder
        texts = [e.text for e in examples]
        labels = [e.label for e in examples]
        key = hashlib.sha256("\x1f".join([_VERSION, str(c), str(embedder is not None), *texts, *labels]).encode())
        cache_dir = cache_dir or (embedder.cache_dir if embedder is not None else default_cache_dir())
        path = cache_dir / f"model-{key.hexdigest()[:24]}.pkl"
        fitted = _load(path)
        if fitted is None:
            fitted = self._fit(texts, labels, c)
            _save(path, fitted)
        self._chars, self._words, self._classifier = fitted
        self.labels: list[str] = list(self._classifier.classes_)

    def _fit(self, texts: list[str], labels: list[str], c: float):
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), preprocessor=normalize, sublinear_tf=True)
        words = TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), preprocessor=normalize, sublinear_tf=True, token_pattern=r"\S+"
        )
        chars.fit(texts)
        words.fit(texts)
        self._chars, self._words = chars, words
        vectors = self._embedder.embed_many([for_embedding(t) for t in texts]) if self._embedder else None
        classifier = LogisticRegression(C=c, max_iter=3000)
        classifier.fit(self._features(texts, vectors), labels)
        return chars, words, classifier

    def _features(self, texts: list[str], vectors: np.ndarray | None) -> sparse.csr_matrix:
        parts = [self._chars.transform(texts) * _SPELLING_WEIGHT, self._words.transform(texts) * _SPELLING_WEIGHT]
        if vectors is not None:
            parts.append(sparse.csr_matrix(vectors * _MEANING_WEIGHT))
        return sparse.hstack(parts).tocsr()

    def predict(self, text: str, vector: np.ndarray | None = None, limit: int = 3) -> list[Prediction]:
        if self._embedder is not None and vector is None:
            vector = self._embedder.embed(for_embedding(text))
        vectors = vector.reshape(1, -1) if vector is not None else None
        probabilities = self._classifier.predict_proba(self._features([text], vectors))[0]
        order = np.argsort(-probabilities)[:limit]
        return [Prediction(self.labels[i], float(probabilities[i])) for i in order]


def _load(path: Path):
    if not path.exists():
        return None
    try:
        with path.open("rb") as f:
            return pickle.load(f)  # our own cache directory, written by _save below
    except Exception as exc:  # a stale or torn file: refit
        log.warning("intent model cache %s unusable (%s); refitting", path, exc)
        return None


def _save(path: Path, fitted) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(fitted, f)
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot cache the intent model in %s: %s", path.parent, exc)
