"""Echo-aware barge-in: is the caller really speaking, or is it the line echo of our prompt?

Through the snoop channel MiniBot hears the caller while its prompt plays, and on many
lines the prompt comes back as echo (hybrid or acoustic), attenuated 6–20 dB and delayed
20–250 ms. VAD alone would barge in on that echo. We know what we play and when, so each
caller frame is compared with the prompt as it would sound through an echo path:

* The bulk delay is found by cross-correlating the caller stream with the prompt (PHAT
  weighting, so the speech's own low-frequency peak does not smear it). Until a delay is
  locked the prompt is taken at its loudest over every delay in range (conservative).
* The echo gain is learned per frequency band as a low percentile of caller/prompt energy
  ratios: echo is always at least that loud, so the estimate stays on the safe side, and it
  starts from the worst case we support (-6 dB).
* A frame is near-end speech when a large part of its energy is not explained by the echo
  prediction (with a safety margin). Barge-in is confirmed after ``onset_ms`` of such frames
  within a short window, like a VAD onset.
* After a barge-in the prompt may play on, lowered (bot.call.interruption): ``lower`` scales
  the echo prediction from then on, and ``near_end`` keeps judging each frame, so the caller's
  utterance is measured (and heard) without the lowered prompt's echo.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from .pcm import FRAME_MS, rms_dbfs, to_float


class BargeInConfig(BaseModel, frozen=True):
    onset_ms: int = Field(40, ge=20, description="near-end speech needed to confirm a barge-in")
    onset_window_ms: int = Field(120, ge=20)
    max_echo_delay_ms: int = Field(300, ge=20, description="longest echo delay searched")
    clock_slack_ms: int = Field(60, ge=0, le=200, description="how early the echo may seem to come")
    worst_echo_db: float = Field(-6.0, le=0, description="loudest echo assumed before learning")
    margin_db: float = Field(4.0, ge=0, description="safety margin over the predicted echo")
    near_end_fraction: float = Field(0.4, gt=0, lt=1, description="unexplained share of energy = speech")
    unlocked_headroom_db: float = Field(6.0, ge=0, description="extra margin until the echo delay is locked")
    min_level_dbfs: float = Field(-45.0, description="quieter frames are never speech")
    echo_tail_ms: int = Field(300, ge=0, description="keep checking this long after a prompt ends")
    lookback_ms: int = Field(100, ge=0, le=300, description="audio kept for the recogniser before a barge-in's "
                             "first near-end frame (earlier audio is the prompt's echo alone)")


@dataclass(frozen=True, slots=True)
class BargeIn:
    at: float  # first near-end frame of the onset (monotonic)
    confirmed_at: float
    echo_delay_ms: float | None  # the locked echo delay, if one was found


def words_audio(held: Iterable[tuple[float, bytes]], hit: BargeIn, lookback_ms: int) -> bytes:
    """Of the frames held under a prompt, (arrival, pcm), those the recogniser gets when the
    barge-in is confirmed: from ``lookback_ms`` before its first near-end frame. The earlier
    ones carry the prompt's echo and nothing the detector took for the caller: the recogniser
    would try to write the bot's own words into the caller's (``bench.bargein --words``)."""
    start = hit.at - lookback_ms / 1000
    return b"".join(pcm for arrived, pcm in held if arrived > start)


_N_BANDS = 16
_XCORR_EVERY = 10  # frames between delay estimates (200 ms)
_XCORR_WINDOW_S = 0.8
_GAIN_PERCENTILE = 75  # of recent echo-return ratios per band: leans to the loud side
_BAND_FLOOR = 10 ** (-10 / 10)  # a band's echo return is at least the overall one - 10 dB
_RATIOS_MIN = 5  # aligned frames before the per-band echo return is used
_BROADBAND_MIN = 25  # frames before a quiet line lowers the echo bound
_FIRST_LOCK_FRAMES = 20  # 400 ms of line before the first delay lock
_GAP_S = 0.12  # later than this, a frame starts a new chain (silence suppression, a stall)


@functools.lru_cache(maxsize=64)
def _prompt_tables(pcm: bytes, frame_len: int, nfft: int, max_delay: int, slack: int,
                   band_of_bin: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The prompt as floats, its band energies every half frame maximised over the delay
    range (the no-delay-yet prediction becomes one lookup per frame), and its mean band
    level. Prompts repeat across calls (the same greeting to every callee): computed once
    (~10 ms) and shared, read-only."""
    ref = to_float(pcm)
    ref.flags.writeable = False
    bins = np.array(band_of_bin)
    hop = frame_len // 2
    window = np.hanning(frame_len).astype(np.float32)
    pad = np.concatenate([ref, np.zeros(frame_len, np.float32)])
    n = max(1, (len(pad) - frame_len) // hop + 1)
    idx = np.arange(n)[:, None] * hop + np.arange(frame_len)[None, :]
    spec = np.abs(np.fft.rfft(pad[idx] * window, nfft, axis=1)) ** 2
    bands = np.zeros((n, _N_BANDS))
    for b in range(_N_BANDS):
        bands[:, b] = spec[:, bins == b].sum(axis=1)
    span, ahead = max_delay // hop + 1, -(-slack // hop)
    # Row h: the loudest band energy over the prompt's hops h - span + 1 .. h + ahead.
    padded = np.concatenate([np.zeros((span - 1, _N_BANDS)), bands, np.zeros((ahead, _N_BANDS))])
    hop_max = np.lib.stride_tricks.sliding_window_view(padded, span + ahead, axis=0).max(axis=2)
    hop_max.flags.writeable = False
    level = np.maximum(bands.mean(axis=0), 1e-12)
    level.flags.writeable = False
    return ref, hop_max, level


def _nan_percentile(a: np.ndarray, q: float) -> np.ndarray:
    """Per-column percentile ignoring NaN (linear interpolation); NaN where a column has no
    value. np.nanpercentile does the same column by column in Python: 50x slower per frame."""
    s = np.sort(a, axis=0)  # NaN sort last
    n = np.sum(~np.isnan(a), axis=0)
    pos = q / 100 * np.maximum(n - 1, 0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    cols = np.arange(a.shape[1])
    out = s[lo, cols] + (s[hi, cols] - s[lo, cols]) * (pos - lo)
    return np.where(n > 0, out, np.nan)


def _band_edges(low: float, high: float, bin_hz: float) -> np.ndarray:
    """Geometric band edges, but no band narrower than three FFT bins: a one-bin band's
    energy ratio swings with every pitch harmonic and cannot be learned."""
    edges = [low]
    for k in range(_N_BANDS):
        ratio = (high / edges[-1]) ** (1 / (_N_BANDS - k))
        edges.append(max(edges[-1] * ratio, edges[-1] + 3 * bin_hz))
    return np.array(edges)


class EchoAwareBargeIn:
    """Feed every caller frame with ``process``; tell it when prompts start and stop."""

    def __init__(self, sample_rate: int, config: BargeInConfig | None = None) -> None:
        self.rate = sample_rate
        self.config = config or BargeInConfig()
        self.frame_len = sample_rate * FRAME_MS // 1000
        self._nfft = 1 << (self.frame_len - 1).bit_length()
        self._window = np.hanning(self.frame_len).astype(np.float32)
        freqs = np.fft.rfftfreq(self._nfft, 1 / sample_rate)
        top = min(0.45 * sample_rate, 7000.0)
        edges = _band_edges(150.0, top, sample_rate / self._nfft)
        self._band_of_bin = np.digitize(freqs, edges) - 1  # -1 or _N_BANDS: outside every band
        self._band_key = tuple(int(b) for b in self._band_of_bin)
        self._max_delay = int(self.config.max_echo_delay_ms * sample_rate / 1000)
        # Our clock for the prompt's start and the frames' times is an estimate (the play
        # request, Asterisk's frame timing): the echo may appear a little "before" it.
        self._min_delay = -int(self.config.clock_slack_ms * sample_rate / 1000)
        self._prior_gain = 10 ** (self.config.worst_echo_db / 10)
        self._margin = 10 ** (self.config.margin_db / 10)
        self._unlocked_headroom = 10 ** (self.config.unlocked_headroom_db / 10)
        self._onset_frames = max(1, self.config.onset_ms // FRAME_MS)
        self._reset_prompt_state()
        self.prompt_active = False

    # -- prompt timeline ----------------------------------------------------------------

    def _reset_prompt_state(self) -> None:
        self._ref = np.zeros(0, np.float32)
        self._ref_start = 0.0
        self._ref_end = 0.0
        self._mic: collections.deque[tuple[float, np.ndarray]] = collections.deque(
            maxlen=int(_XCORR_WINDOW_S * 1000 / FRAME_MS)
        )
        self._delay: int | None = None
        self._gcc: np.ndarray | None = None  # cross-correlation over delays, accumulated
        self._ratios: collections.deque[np.ndarray] = collections.deque(maxlen=50)
        self._broadband: collections.deque[float] = collections.deque(maxlen=100)
        self._gain = np.full(_N_BANDS, self._prior_gain, np.float32)
        self._recent: collections.deque[tuple[float, bool]] = collections.deque(
            maxlen=max(1, self.config.onset_window_ms // FRAME_MS)
        )
        self._frames_since_xcorr = 0
        self._chain_origin: float | None = None  # monotonic time of the frame chain's first sample
        self._chain_samples = 0
        self._ref_level = np.ones(_N_BANDS)
        self._hop = self.frame_len // 2
        self._hop_max = np.zeros((0, _N_BANDS))
        self._levels: list[tuple[float, float]] = []  # (from, power gain) of a lowered or restored line

    def start_prompt(self, pcm: bytes, started_at: float) -> None:
        """The prompt ``pcm`` (at this detector's rate) started playing at ``started_at``."""
        self._reset_prompt_state()
        self._ref_start = started_at
        self._ref, self._hop_max, self._ref_level = _prompt_tables(
            pcm, self.frame_len, self._nfft, self._max_delay, -self._min_delay, self._band_key)
        self._hop = self.frame_len // 2
        self._ref_end = started_at + len(self._ref) / self.rate
        self.prompt_active = True

    def stop_prompt(self, at: float) -> None:
        """The prompt was stopped (barge-in or DELETE): its echo ends within the tail."""
        self._ref_end = min(self._ref_end, at)
        self._ref = self._ref[: max(0, int((at - self._ref_start) * self.rate))]
        keep = len(self._ref) // self._hop + 1
        self._hop_max = self._hop_max[: keep + self._max_delay // self._hop + 1]

    def lower(self, at: float, gain_db: float) -> None:
        """From ``at`` the prompt plays ``gain_db`` quieter (0: back to full voice)."""
        self._levels.append((at, 10 ** (gain_db / 10)))

    def _level_at(self, frame_start: float) -> float:
        """The prompt's power gain for the echo in a frame starting then: during a change, the
        louder of the two (the echo path delays it, and our clock for it is an estimate)."""
        if not self._levels:
            return 1.0
        delay = (self._delay if self._delay is not None else self._max_delay) / self.rate
        slack = -self._min_delay / self.rate + 0.04  # and Asterisk's own 20-40 ms to apply it
        level, before = 1.0, 1.0
        for at, gain in self._levels:
            if frame_start >= at + delay + slack:
                level = before = gain
            elif frame_start >= at - slack:
                level = max(before, gain)
        return level

    def echo_possible(self, now: float) -> bool:
        return self.prompt_active and now <= self._ref_end + self.config.echo_tail_ms / 1000

    @property
    def echo_delay_ms(self) -> float | None:
        return None if self._delay is None else self._delay * 1000 / self.rate

    # -- per frame ----------------------------------------------------------------------

    def _bands(self, x: np.ndarray) -> np.ndarray:
        if len(x) < self.frame_len:
            x = np.pad(x, (0, self.frame_len - len(x)))
        spec = np.abs(np.fft.rfft(x[: self.frame_len] * self._window, self._nfft)) ** 2
        valid = (self._band_of_bin >= 0) & (self._band_of_bin < _N_BANDS)
        return np.bincount(self._band_of_bin[valid], weights=spec[valid], minlength=_N_BANDS)[:_N_BANDS]

    def _ref_segment(self, start: int, n: int) -> np.ndarray:
        out = np.zeros(n, np.float32)
        lo, hi = max(0, start), min(len(self._ref), start + n)
        if hi > lo:
            out[lo - start : hi - start] = self._ref[lo:hi]
        return out

    def _ref_bands(self, frame_start: float) -> np.ndarray:
        """Prompt energy per band that could be echoing in the frame starting at ``frame_start``."""
        base = int(round((frame_start - self._ref_start) * self.rate))
        if self._delay is not None:
            return self._bands(self._ref_segment(base - self._delay, self.frame_len))
        # No delay locked yet: the loudest the echo could be for any delay in range.
        h = int(round(base / self._hop))
        if h < 0 or len(self._hop_max) == 0:
            return np.zeros(_N_BANDS)
        return self._hop_max[min(h, len(self._hop_max) - 1)]

    def _estimate_delay(self) -> None:
        # The first lock needs a long window: a short one at the prompt's start holds only
        # the echo's first milliseconds and can lock anywhere, and ratios learned at a wrong
        # delay (before the echo arrives) make the real echo look like the caller.
        if len(self._mic) < (_FIRST_LOCK_FRAMES if self._delay is None else 10):
            return
        mic = np.concatenate([m for _, m in self._mic])
        # Anchored on the newest frame: its start carries the best clock estimate so far.
        t0 = self._mic[-1][0] - (len(mic) - len(self._mic[-1][1])) / self.rate
        if float(np.sqrt(np.mean(mic * mic))) < 1e-4:
            return
        base = int(round((t0 - self._ref_start) * self.rate))
        lo, hi = self._min_delay, self._max_delay  # delays searched, in samples (lo < 0: clock slack)
        ref = self._ref_segment(base - hi, len(mic) + hi - lo)
        if float(np.sqrt(np.mean(ref * ref))) < 1e-4:
            return
        n = 1 << (len(ref) + len(mic)).bit_length()
        cross = np.fft.rfft(mic, n) * np.conj(np.fft.rfft(ref, n))
        cc = np.fft.irfft(cross / (np.abs(cross) + 1e-9), n)
        # mic[t] = ref_segment[t + hi - d]  ->  the peak sits at lag d - hi (lo - hi .. 0)
        lags = np.concatenate([cc[-(hi - lo) :], cc[:1]])  # lags[i]: an echo delay of lo + i samples
        # One window can peak one pitch period off the true delay (voiced speech is nearly
        # periodic); the pitch moves from window to window and the echo path does not, so
        # the correlations are accumulated before picking the peak.
        lags /= max(float(np.abs(lags).max()), 1e-12)
        self._gcc = lags if self._gcc is None else 0.7 * self._gcc + lags
        d = lo + int(np.argmax(self._gcc))
        # Is this window mostly echo? The plain correlation near that delay, taken in absolute
        # value over the span of a hybrid's response (its strongest tap may be inverted).
        raw = np.fft.irfft(cross, n)
        span = self.rate // 250  # 4 ms
        near = [(k - hi) % n for k in range(d - span, d + span + 1)]
        aligned = self._ref_segment(base - d, len(mic))
        denom = float(np.linalg.norm(mic) * np.linalg.norm(aligned))
        rho = float(np.abs(raw[near]).max() / denom) if denom > 0 else 0.0
        if rho >= 0.3:
            if self._delay is None or abs(d - self._delay) > self.rate // 500:
                self._ratios.clear()  # ratios measured at another alignment no longer apply
                self._gain = np.full(_N_BANDS, self._prior_gain, np.float32)
            self._delay = d

    def process(self, frame: bytes, arrived: float) -> BargeIn | None:
        """One caller frame (ending at ``arrived``). Returns a BargeIn once it is confirmed."""
        judged = self._judge(frame, arrived)
        if judged is None:
            return None
        start, near_end = judged
        self._recent.append((start, near_end))
        count = sum(1 for _, v in self._recent if v)
        if near_end and count >= self._onset_frames:
            first = next(t for t, v in self._recent if v)
            self._recent.clear()
            return BargeIn(at=first, confirmed_at=arrived, echo_delay_ms=self.echo_delay_ms)
        return None

    def near_end(self, frame: bytes, arrived: float) -> bool:
        """Is the caller speaking in this frame, or is it the (lowered) prompt's echo alone? For
        the frames after a barge-in, while the prompt plays on; no onset is looked for."""
        judged = self._judge(frame, arrived)
        return True if judged is None else judged[1]

    def _judge(self, frame: bytes, arrived: float) -> tuple[float, bool] | None:
        x = to_float(frame)
        start = self._frame_start(len(x), arrived)
        if not self.echo_possible(arrived):
            return None
        self._mic.append((start, x))
        self._frames_since_xcorr += 1
        if self._frames_since_xcorr >= _XCORR_EVERY:
            self._frames_since_xcorr = 0
            self._estimate_delay()
        return start, self._near_end(x, start)

    def _frame_start(self, n: int, arrived: float) -> float:
        """When this frame's first sample was sent. Frames leave Asterisk every 20 ms and reach
        us a little late, never early: the chain of consecutive frames is anchored on the
        earliest arrival seen, and only a real gap (no frames) starts a new chain."""
        if self._chain_origin is not None:
            late = arrived - (self._chain_origin + (self._chain_samples + n) / self.rate)
            if late < _GAP_S:
                if late < 0:
                    self._chain_origin += late
                start = self._chain_origin + self._chain_samples / self.rate
                self._chain_samples += n
                return start
            self._mic.clear()  # a gap: the correlation window must be contiguous
        self._chain_origin = arrived - n / self.rate
        self._chain_samples = n
        return self._chain_origin

    def _near_end(self, x: np.ndarray, start: float) -> bool:
        # Quiet frames are never speech, but they still teach the echo model (a line that
        # stays quiet under a loud prompt has little echo).
        quiet = rms_dbfs((x * 32768).astype("<i2").tobytes()) < self.config.min_level_dbfs
        mic = self._bands(x)
        ref = self._ref_bands(start)
        # Learn only where the prompt is loud enough to say something, and only once every
        # delay in range is covered (or the echo that has not arrived yet would teach us
        # that there is none).
        loud = ref > 1e-2 * self._ref_level
        reach = self._max_delay if self._delay is None else max(self._delay, 0)
        settled = start >= self._ref_start + reach / self.rate
        if self._levels:
            # Lowered once: what is learned stays as it was, the prediction follows the level.
            ref = ref * self._level_at(start)
            settled = False
        if settled and loud.any():
            if self._delay is not None:
                # Aligned: the per-band echo return is stable; its median over recent frames
                # (speech frames only push it up, which errs on the safe side).
                self._ratios.append(np.where(loud, mic / np.maximum(ref, 1e-12), np.nan))
                if len(self._ratios) >= _RATIOS_MIN:
                    med = _nan_percentile(np.array(self._ratios), _GAIN_PERCENTILE)
                    gain = np.where(np.isnan(med), self._gain, np.minimum(med, 1.0))
                    # A notch of the echo path inside a band makes its ratio swing with where
                    # the prompt's harmonics fall: no band is trusted far below the overall
                    # echo return.
                    overall = float(np.sum(gain * self._ref_level) / np.sum(self._ref_level))
                    self._gain = np.maximum(gain, overall * _BAND_FLOOR).astype(np.float32)
            else:
                # No echo found yet: only a broadband upper bound, from how quiet the line
                # stays under the loudest possible echo (no echo at all ends up here).
                self._broadband.append(float(mic[loud].sum() / max(ref[loud].sum(), 1e-12)))
                if len(self._broadband) >= _BROADBAND_MIN:
                    bound = 2.0 * float(np.percentile(self._broadband, 50))
                    self._gain = np.full(_N_BANDS, min(self._prior_gain, bound), np.float32)
        if quiet:
            return False
        predicted = self._margin * self._gain * ref
        if len(self._ratios) < _RATIOS_MIN and len(self._broadband) < _BROADBAND_MIN:
            # A hybrid's colouring can lift single bands well above the broadband echo level:
            # until the per-band echo return is learned or the line is known to be quiet (a
            # few hundred ms), assume the worst band.
            predicted *= self._unlocked_headroom
        excess = np.maximum(mic - predicted, 0.0)
        total = float(mic.sum())
        return total > 0 and float(excess.sum()) >= self.config.near_end_fraction * total

    def end_prompt(self) -> None:
        self.prompt_active = False
        self._reset_prompt_state()
