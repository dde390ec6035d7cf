"""A phone line as the caller side hears it back: the bot's prompt returning as echo
(delayed, attenuated, coloured by a hybrid's short impulse response), line noise, and the
caller's own speech. Used by the barge-in tests and benchmarks (and the simulator)."""

from __future__ import annotations

import numpy as np


def hybrid_ir(rate: int, seed: int = 0) -> np.ndarray:
    """A hybrid's short impulse response: a dominant direct path and a 4 ms decaying tail."""
    rng = np.random.default_rng(seed)
    taps = int(0.004 * rate)
    ir = 0.3 * rng.normal(0, 1, taps) * np.exp(-np.arange(taps) / (0.001 * rate))
    ir[0] += 2.0
    return ir


def hybrid_echo(prompt: np.ndarray, rate: int, *, delay_ms: float, level_db: float, seed: int = 0) -> np.ndarray:
    """The prompt as it comes back: a short decaying impulse response (a dominant direct path
    and a 4 ms tail, so the bands stay within a few dB of each other, as a hybrid's do), then
    delay and gain. ``level_db`` is the echo's level relative to the prompt's."""
    ir = hybrid_ir(rate, seed)
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


class StreamingEcho:
    """hybrid_echo frame by frame, for audio that is not known in advance (the simulator's
    live line). hybrid_echo sets the level from the whole prompt's RMS; here the level is
    set by calibrate() on the prompt about to play (so a prompt's echo sits at ``level_db``
    exactly, as with hybrid_echo), and until then on speech-like noise (within ~1.5 dB)."""

    def __init__(self, rate: int, *, delay_ms: float, level_db: float, seed: int = 0) -> None:
        self._ir = hybrid_ir(rate, seed)
        self._level = 10 ** (level_db / 20)
        self._delay = int(delay_ms * rate / 1000)
        self._keep = self._delay + len(self._ir) - 1
        self._hist = np.zeros(self._keep, np.float32)
        # AR(1), a = 0.9: about the spectral tilt of speech
        noise = np.random.default_rng(seed).normal(0, 1, rate // 2)
        self.calibrate(np.convolve(noise, 0.9 ** np.arange(100))[: len(noise)])

    def calibrate(self, reference: np.ndarray) -> None:
        ref_rms = float(np.sqrt(np.mean(reference**2)))
        coloured = np.convolve(reference, self._ir)[: len(reference)]
        col_rms = float(np.sqrt(np.mean(coloured**2)))
        if ref_rms > 0 and col_rms > 0:
            self._gain = self._level * ref_rms / col_rms

    def process(self, frame: np.ndarray) -> np.ndarray:
        """The echo heard during ``frame``'s time slot, given that ``frame`` is being played."""
        hist = np.concatenate([self._hist, frame.astype(np.float32, copy=False)])
        end = len(hist) - self._delay
        seg = hist[end - len(frame) - len(self._ir) + 1 : end]
        out = np.convolve(seg, self._ir, mode="valid") * self._gain
        self._hist = hist[len(hist) - self._keep :] if self._keep else hist[:0]
        return out.astype(np.float32)
