"""PCM helpers shared by the listen path: conversions, levels, resampling, WAV I/O."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

FRAME_MS = 20


def frame_bytes(sample_rate: int, ms: int = FRAME_MS) -> int:
    return sample_rate * ms // 1000 * 2


def to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def to_pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def rms_dbfs(pcm: bytes) -> float:
    if not pcm:
        return -120.0
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    power = float(np.mean(x * x)) / (32768.0 * 32768.0)
    return 10.0 * np.log10(max(power, 1e-12))


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """One-shot resampling of a whole buffer (soxr, high quality)."""
    if from_rate == to_rate or not pcm:
        return pcm
    return to_pcm(soxr.resample(to_float(pcm), from_rate, to_rate))


class StreamResampler:
    """Chunk-by-chunk resampling that keeps filter state across chunks (no clicks at frame
    boundaries). Pass-through when the rates match."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._stream = None if from_rate == to_rate else soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16")

    def process(self, pcm: bytes, last: bool = False) -> bytes:
        if self._stream is None:
            return pcm
        x = np.frombuffer(pcm, dtype="<i2")
        return self._stream.resample_chunk(x, last=last).astype("<i2").tobytes()


@dataclass(frozen=True, slots=True)
class Audio:
    pcm: bytes
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate

    def frames(self, ms: int = FRAME_MS) -> list[bytes]:
        """Cut into frames of ``ms``; the last one is zero-padded."""
        n = frame_bytes(self.sample_rate, ms)
        out = [self.pcm[i : i + n] for i in range(0, len(self.pcm), n)]
        if out and len(out[-1]) < n:
            out[-1] = out[-1] + b"\x00" * (n - len(out[-1]))
        return out

    def at_rate(self, sample_rate: int) -> Audio:
        return Audio(resample(self.pcm, self.sample_rate, sample_rate), sample_rate)


def read_wav(path: str | Path) -> Audio:
    """Read a 16-bit mono WAV; says what is wrong and where if it is anything else."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise ValueError(
                    f"{path}: expected 16-bit mono PCM, got {w.getsampwidth() * 8}-bit "
                    f"{w.getnchannels()} channel(s)"
                )
            return Audio(w.readframes(w.getnframes()), w.getframerate())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a readable WAV file ({exc})") from None


def write_wav(path: str | Path, audio: Audio) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(audio.pcm)
