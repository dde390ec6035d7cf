"""The beep of a voicemail: a steady pure tone at the end of its greeting.

A voicemail message must start after it, or the start of the message is lost (or the box is
still talking over it). A frame is tonal when one spectral peak in 400–2500 Hz holds most of
its energy; a beep is such frames in a row, at the same pitch, for at least 120 ms, and it is
reported when it stops (the recording starts then).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pcm import to_float

_BAND_HZ = (400.0, 2500.0)
_PEAK_SHARE = 0.6  # of the frame's energy in the peak bin and its neighbours
_MIN_DBFS = -45.0
_MIN_MS, _MAX_MS = 120.0, 2500.0


@dataclass(frozen=True, slots=True)
class Beep:
    started_at: float
    ended_at: float
    frequency: float


class BeepDetector:
    def __init__(self, sample_rate: int, frame_ms: int = 20) -> None:
        self.rate = sample_rate
        self.frame_ms = frame_ms
        n = sample_rate * frame_ms // 1000
        self._window = np.hanning(n).astype(np.float32)
        freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
        self._band = (freqs >= _BAND_HZ[0]) & (freqs <= _BAND_HZ[1])
        self._freqs = freqs
        self._run: tuple[float, int, int] | None = None  # (start time, peak bin, frames)

    def process(self, pcm: bytes, at: float) -> Beep | None:
        """Feed one frame (its arrival time); a Beep when a tone just ended."""
        tone_bin = self._tone_bin(pcm)
        run = self._run
        if tone_bin is not None and run is not None and abs(tone_bin - run[1]) <= 1:
            self._run = (run[0], run[1], run[2] + 1)
            return None
        self._run = (at, tone_bin, 1) if tone_bin is not None else None
        if run is None:
            return None
        duration = run[2] * self.frame_ms
        if _MIN_MS <= duration <= _MAX_MS:
            return Beep(run[0], at, float(self._freqs[run[1]]))
        return None

    def _tone_bin(self, pcm: bytes) -> int | None:
        x = to_float(pcm)
        if len(x) != len(self._window):
            return None
        if 10 * np.log10(float(np.mean(x * x)) + 1e-12) < _MIN_DBFS:
            return None
        power = np.abs(np.fft.rfft(x * self._window)) ** 2
        peak = int(np.argmax(np.where(self._band, power, 0.0)))
        if not self._band[peak]:
            return None
        share = power[max(peak - 1, 0) : peak + 2].sum() / (power.sum() + 1e-12)
        return peak if share >= _PEAK_SHARE else None
