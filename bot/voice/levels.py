"""Levels of recorded and rendered speech: loudness (LUFS, RMS for short lines) and a peak
limiter. Shared by audio preparation, voice references and the ambience mix."""

from __future__ import annotations

import numpy as np


def _frame_levels(x: np.ndarray, frame: int) -> np.ndarray:
    n = x.size // frame
    if n == 0:
        return np.array([10 * np.log10(max(float(np.mean(x * x)), 1e-12))])
    power = np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)
    return 10 * np.log10(np.maximum(power, 1e-12))


def loudness(x: np.ndarray, rate: int, method: str | None = None) -> tuple[float, str]:
    """(level, method): integrated LUFS when the line holds a 400 ms gating block of sound,
    otherwise the RMS (dBFS) of its sounding frames, which is within a dB or two of LUFS for speech."""
    if method != "rms" and x.size >= int(0.4 * rate) + 1:
        import pyloudnorm

        with np.errstate(divide="ignore"):  # a block of digital silence is log10(0): gated out anyway
            value = float(pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float64)))
        if np.isfinite(value):
            return value, "lufs"
    levels = _frame_levels(x, rate // 100)
    sounding = levels[levels > levels.max() - 30.0]
    return 10 * float(np.log10(np.mean(10 ** (sounding / 10)))), "rms"


def limit_peaks(x: np.ndarray, rate: int, peak_dbfs: float = -1.0) -> np.ndarray:
    """Look-ahead peak limiter: gain = moving average (10 ms) of the moving minimum (10 ms) of the
    gain each sample needs. Every average then only includes minima whose window covers the
    sample, so the gain never exceeds what that sample needs: no overshoot, no hard clipping, and
    the gain glides over 10 ms instead of jumping."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    ceiling = 10 ** (peak_dbfs / 20)
    if x.size == 0 or float(np.max(np.abs(x))) <= ceiling:
        return x
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(x), 1e-12))
    width = 2 * int(0.005 * rate) + 1
    gain = uniform_filter1d(minimum_filter1d(need, width, mode="nearest"), width, mode="nearest")
    return np.clip(x * np.minimum(gain, need), -ceiling, ceiling).astype(np.float32)
