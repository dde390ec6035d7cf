"""A phone line as the caller side hears it back: the bot's prompt returning as echo
(delayed, attenuated, coloured by a hybrid's short impulse response), line noise, and the
caller's own speech. Used by the barge-in tests and benchmarks (and the simulator)."""

from __future__ import annotations

import numpy as np


def hybrid_echo(prompt: np.ndarray, rate: int, *, delay_ms: float, level_db: float, seed: int = 0) -> np.ndarray:
    """The prompt as it comes back: a short decaying impulse response (a dominant direct path
    and a 4 ms tail, so the bands stay within a few dB of each other, as a hybrid's do), then
    delay and gain. ``level_db`` is the echo's level relative to the prompt's."""
    rng = np.random.default_rng(seed)
    taps = int(0.004 * rate)
    ir = 0.3 * rng.normal(0, 1, taps) * np.exp(-np.arange(taps) / (0.001 * rate))
    ir[0] += 2.0
    coloured = np.convolve(prompt, ir)[: len(prompt)]
    p_rms = np.sqrt(np.mean(prompt**2)) or 1.0
    c_rms = np.sqrt(np.mean(coloured**2)) or 1.0
    coloured *= (p_rms / c_rms) * 10 ** (level_db / 20)
    d = int(delay_ms * rate / 1000)
    return np.concatenate([np.zeros(d, np.float32), coloured.astype(np.float32)])


def mix(length: int, *parts: tuple[int, np.ndarray], noise_dbfs: float = -65.0, seed: int = 1) -> np.ndarray:
    """Sum signals placed at sample offsets over a line-noise floor, clipped to [-1, 1]."""
    rng = np.random.default_rng(seed)
    out = rng.normal(0, 10 ** (noise_dbfs / 20), length).astype(np.float32)
    for offset, sig in parts:
        end = min(length, offset + len(sig))
        if end > offset:
            out[offset:end] += sig[: end - offset]
    return np.clip(out, -1, 1)
