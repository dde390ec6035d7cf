"""The pre-rendered audio cache: every line the bot says, as files Asterisk plays directly.

Content-addressed: the key hashes the engine, its version, the voice and the text, so the same
line is rendered once and a changed voice or wording never plays stale audio. Each key has two
files side by side, `<key>.wav` (8 kHz, what a narrowband trunk plays) and `<key>.sln16` (16 kHz,
for wideband channels and the barge-in reference); Asterisk picks the cheaper one from the bare
name (facts §5.2). Files are written whole under a temporary name, then renamed into place, so a
reader never sees half a file, even with several processes rendering at once. A size cap evicts
the least recently used lines (a lookup refreshes a file's time).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..speech.pcm import Audio

log = logging.getLogger(__name__)

FORMATS = {"wav": 8000, "sln16": 16000}  # extension → sample rate


def cache_key(engine: str, version: str, voice: str, text: str) -> str:
    material = "\x1f".join(("minibot-tts-1", engine, version, voice, " ".join(text.split())))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class CachedLine:
    key: str
    base: Path  # the path without extension: what `sound:` wants

    def file(self, fmt: str) -> Path:
        return self.base.with_name(f"{self.base.name}.{fmt}")


class AudioCache:
    def __init__(self, directory: Path, *, max_bytes: int = 2 * 1024**3) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self._bytes_since_check = 0

    def _base(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def lookup(self, key: str) -> CachedLine | None:
        """The line if both files are there (and marks it recently used); a stat or two."""
        line = CachedLine(key, self._base(key))
        try:
            for fmt in FORMATS:
                os.utime(line.file(fmt))  # recency for the eviction; fails if missing
        except FileNotFoundError:
            return None
        return line

    def store(self, key: str, audio: Audio) -> CachedLine:
        """Write both formats atomically and return the line."""
        line = CachedLine(key, self._base(key))
        line.base.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        for fmt, rate in FORMATS.items():
            pcm = audio.at_rate(rate).pcm if audio.sample_rate != rate else audio.pcm
            written += write_audio(line.file(fmt), pcm, rate, wav=fmt == "wav")
        self._bytes_since_check += written
        if self._bytes_since_check > self.max_bytes // 20:  # scanning the tree is not free
            self._bytes_since_check = 0
            self.evict()
        return line

    def evict(self) -> int:
        """Delete least recently used lines until the cache is under 90 % of its cap."""
        files: dict[str, list[tuple[float, int, Path]]] = {}
        total = 0
        for sub in self.directory.iterdir():
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub):
                if entry.name.startswith("."):
                    continue  # a write in progress
                st = entry.stat()
                files.setdefault(entry.name.split(".")[0], []).append((st.st_mtime, st.st_size, Path(entry.path)))
                total += st.st_size
        if total <= self.max_bytes:
            return 0
        removed = 0
        by_age = sorted(files.values(), key=lambda group: max(t for t, _, _ in group))
        for group in by_age:
            if total <= self.max_bytes * 0.9:
                break
            for _, size, path in group:
                path.unlink(missing_ok=True)
                total -= size
            removed += 1
        log.info("audio cache: evicted %d lines, %d MB left", removed, total // 1024**2)
        return removed


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> int:
    """Write a file whole or not at all: `write` fills a temporary file in the same directory,
    which is synced and renamed into place (readers never see half a file). Returns its size."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # Asterisk runs as its own user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.stat().st_size


def write_audio(path: Path, pcm: bytes, rate: int, *, wav: bool) -> int:
    """16-bit mono PCM as a WAV file, or headerless (.sln16), written atomically."""

    def fill(f: BinaryIO) -> None:
        if not wav:
            f.write(pcm)
            return
        with wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm)

    return write_atomic(path, fill)
