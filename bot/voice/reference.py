"""Reference recordings for voice cloning: check one, clean it, store it where XTTS reads voices.

`clone_voice(path, name)` reads any wav/flac/ogg/mp3 (soundfile), mixes it to mono, resamples it
to 24 kHz (XTTS's rate), measures it, refuses it with every reason that applies (`ReferenceRejected`,
each reason naming the measured value and the limit), then cleans it and writes `<name>.wav`
(24 kHz mono 16-bit, what `XttsEngine` reads) and `<name>.json` (where it came from, what was
measured, what was done to it) into the voices directory.

XTTS copies whatever it hears in the reference: the room, the hiss, the clipping, a second
voice. The checks refuse what cleaning cannot repair; cleaning only polishes a good recording
(a gentle noise gate, loudness, peaks, silences), it never rescues a bad one.

Every measurement is on the recording as given (after the mono mix and resampling), before
any cleaning, so the numbers describe the source and not our processing.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import soxr
import webrtcvad
from pydantic import BaseModel, Field

from ..speech.pcm import read_wav, to_pcm
from .cache import write_atomic, write_audio
from .levels import limit_peaks, loudness

VOICE_RATE = 24000  # XTTS v2 conditions on, and speaks at, 24 kHz
ANALYSIS_RATE = 16000  # webrtcvad and the pitch tracker work on a 16 kHz copy
FRAME_S = 0.02  # one VAD frame, 20 ms
PITCH_HOP_S = 0.01
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
# |sample| at or above this counts as clipped (within 0.01 dB of full scale). It sees clipping where
# it happened last: a recording clipped, then turned down, has flat tops below full scale and
# passes; a float file with overs (|x| > 1) counts them, as any 16-bit copy would clip them.
FULL_SCALE = 0.999
MAX_FILE_S = 600
NOISE_FLOOR_DB = -100.0  # digital silence is reported as this level, so SNR stays finite (JSON has no inf)


class ReferenceLimits(BaseModel, frozen=True):
    """What a usable reference looks like. The defaults, and why:"""

    # XTTS v2's Xtts.get_conditioning_latents defaults: gpt_cond_len=6 (seconds the GPT conditions
    # on) and max_ref_length=30 (the rest of a reference is cut off, unheard).
    min_speech_s: float = Field(6.0, description="less than XTTS's 6 s GPT conditioning window")
    max_speech_s: float = Field(30.0, description="XTTS keeps only the first 30 s of a reference")
    max_clipped_ratio: float = Field(
        0.001, description="0.1 % of samples at full scale: a few peaks pass, a clipped recording does not")
    min_snr_db: float = Field(
        20.0, description="below 20 dB the hiss or room is audible and XTTS reproduces it in every line")
    min_speech_dbfs: float = Field(
        -40.0, description="speech quieter than this is mostly noise floor once raised to -20 LUFS")
    max_pitch_spread_st: float = Field(
        7.0, description="per-segment median pitch spread, semitones; see `pitch_spread` for the heuristic")
    target_lufs: float = -20.0
    peak_dbfs: float = -1.0
    keep_edge_s: float = Field(0.15, description="silence kept before the first and after the last word")
    max_pause_s: float = Field(0.6, description="a pause longer than this inside the speech is shortened...")
    pause_keep_s: float = Field(0.3, description="...to this")
    noise_prop_decrease: float = Field(
        0.75, description="noisereduce strength; 1.0 removes more hiss but leaves 'musical' artefacts XTTS copies")


class VoiceReferenceError(ValueError):
    """Base of what `clone_voice` refuses; the message is meant for the person who gave the file."""


class BadVoiceName(VoiceReferenceError):
    pass


class VoiceExists(VoiceReferenceError):
    pass


class ReferenceUnreadable(VoiceReferenceError):
    pass


@dataclass(frozen=True, slots=True)
class Problem:
    check: Literal["speech_length", "clipping", "snr", "level", "speakers"]
    message: str  # names the measured value and the limit


class ReferenceRejected(VoiceReferenceError):
    """The recording is readable but not good enough; `problems` lists every failed check."""

    def __init__(self, path: Path, problems: list[Problem], measurements: Measurements) -> None:
        self.problems = problems
        self.measurements = measurements
        reasons = "; ".join(p.message for p in problems)
        super().__init__(f"{path.name} cannot be a voice reference: {reasons}")

    @property
    def checks(self) -> set[str]:
        return {p.check for p in self.problems}


@dataclass(frozen=True, slots=True)
class Source:
    file: str
    sha256: str
    format: str
    sample_rate: int
    channels: int
    duration_s: float


@dataclass(frozen=True, slots=True)
class Measurements:
    speech_s: float  # what will be stored: ends trimmed, long pauses shortened
    voiced_s: float  # frames the VAD calls speech
    clipped_ratio: float  # share of samples at full scale (any channel, before the mono mix)
    snr_db: float
    noise_estimate: Literal["pauses", "quietest_frames"]
    speech_dbfs: float  # RMS of the speech frames
    pitch_hz: float | None  # median over the whole speech
    segment_pitch_hz: tuple[float, ...]  # per-segment medians, in order
    pitch_spread_st: float  # max - min of the segment medians, in semitones


@dataclass(frozen=True, slots=True)
class ClonedVoice:
    name: str
    wav: Path
    meta: Path
    source: Source
    measurements: Measurements
    processing: list[dict[str, Any]]
    output: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredVoice:
    """One entry of `list_voices`; fields are None when the voice has no metadata (a hand-copied wav)."""

    name: str
    wav: Path
    duration_s: float | None
    snr_db: float | None
    created: str | None
    meta: dict[str, Any] = field(default_factory=dict)


# -- reading ---------------------------------------------------------------------------------------


def read_reference(path: Path) -> tuple[np.ndarray, Source, float]:
    """(mono float32 at VOICE_RATE, what the source is, clipped share). Any format libsndfile
    reads: wav, flac, ogg/vorbis, opus, mp3 (libsndfile >= 1.1, bundled in the soundfile wheels)."""
    import soundfile as sf

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReferenceUnreadable(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        with sf.SoundFile(path) as f:
            fmt, rate, channels = f.format, f.samplerate, f.channels
            if f.frames > MAX_FILE_S * rate:  # decoding an hour-long file only to refuse it: no
                raise VoiceReferenceError(
                    f"{path.name} lasts {f.frames / rate:.0f} s: a reference is 6 to 30 s of speech, "
                    f"cut your best passage out first (files over {MAX_FILE_S} s are not read)")
            samples = f.read(dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, TypeError) as exc:
        raise ReferenceUnreadable(
            f"{path.name}: not an audio file soundfile can read (wav, flac, ogg, mp3): {exc}") from None
    if samples.size == 0:
        raise ReferenceUnreadable(f"{path.name}: the file holds no audio")
    if not np.all(np.isfinite(samples)):
        raise ReferenceUnreadable(f"{path.name}: the file holds non-finite samples (NaN or infinity)")
    clipped = float(np.mean(np.abs(samples) >= FULL_SCALE))
    mono = samples.mean(axis=1, dtype=np.float32)
    if rate != VOICE_RATE:
        mono = soxr.resample(mono, rate, VOICE_RATE, quality="HQ").astype(np.float32)
    source = Source(path.name, hashlib.sha256(data).hexdigest(), fmt, rate, channels, round(len(samples) / rate, 3))
    return mono, source, clipped


# -- analysis --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Frames:
    """Per 20 ms frame of the 16 kHz copy: power, and the smoothed speech decision."""

    power: np.ndarray
    speech: np.ndarray  # bool


def _frame_power(x: np.ndarray, n: int) -> np.ndarray:
    count = len(x) // n
    frames = x[: count * n].reshape(count, n).astype(np.float64)
    return np.mean(frames * frames, axis=1)


def _speech_frames(x16: np.ndarray) -> _Frames:
    n = int(ANALYSIS_RATE * FRAME_S)
    power = _frame_power(x16, n)
    if len(power) < 5:
        return _Frames(power, np.zeros(len(power), dtype=bool))
    # webrtcvad's decision depends on level (quiet speech reads as silence: at -42 dBFS it missed a
    # third of the words, at -50 all of them), so it hears a copy brought to a fixed level; the
    # powers, and so every dBFS reported, stay those of the recording.
    top = float(np.percentile(np.abs(x16), 99.9))
    if top < 10 ** (NOISE_FLOOR_DB / 20):
        return _Frames(power, np.zeros(len(power), dtype=bool))
    vad = webrtcvad.Vad(3)  # strictest: noise is the thing we measure, it must not count as speech
    pcm = to_pcm(x16 * (0.5 / top))
    chunks = [pcm[i * 2 * n : (i + 1) * 2 * n] for i in range(len(power))]
    # webrtcvad adapts its noise model as it goes, and untrained it calls the first frames of room
    # noise speech (which then escaped trimming). A first pass over the whole recording trains it;
    # the second pass is the one kept.
    for chunk in chunks:
        vad.is_speech(chunk, ANALYSIS_RATE)
    voiced = np.array([vad.is_speech(chunk, ANALYSIS_RATE) for chunk in chunks], dtype=bool)
    # Frames far below the loudest speech are never speech, whatever webrtcvad says (it fires on
    # clicks and breaths in an otherwise silent recording).
    if voiced.any():
        loud = 10 * np.log10(np.percentile(power[voiced], 95) + 1e-20)
        voiced &= 10 * np.log10(power + 1e-20) > loud - 45.0
    # Majority of 5 frames: one stray voiced frame is not speech, one unvoiced frame inside a word
    # is not a pause. It moves edges by at most 40 ms, inside the 150 ms kept at each end.
    padded = np.pad(voiced.astype(np.int8), 2)
    smoothed = np.convolve(padded, np.ones(5, dtype=np.int8), mode="valid") >= 3
    return _Frames(power, smoothed)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _keep_spans(speech: np.ndarray, limits: ReferenceLimits) -> list[tuple[float, float]]:
    """Seconds of the recording to keep, in order: from `keep_edge_s` before the first speech frame
    to `keep_edge_s` after the last, with every pause over `max_pause_s` cut to `pause_keep_s`
    (half kept after the words before it, half before the words after it)."""
    runs = _runs(speech)
    if not runs:
        return []
    total = len(speech) * FRAME_S
    start = max(0.0, runs[0][0] * FRAME_S - limits.keep_edge_s)
    spans = []
    for (_, end), (nxt, _) in zip(runs, runs[1:], strict=False):
        if (nxt - end) * FRAME_S > limits.max_pause_s:
            spans.append((start, end * FRAME_S + limits.pause_keep_s / 2))
            start = nxt * FRAME_S - limits.pause_keep_s / 2
    spans.append((start, min(total, runs[-1][1] * FRAME_S + limits.keep_edge_s)))
    return spans


def _snr(frames: _Frames) -> tuple[float, Literal["pauses", "quietest_frames"], float]:
    """(SNR dB, where the noise was measured, speech level dBFS).

    Noise: the mean power of the pauses (non-speech frames at least 100 ms from any speech, so the
    tails of words do not count), when there is at least 300 ms of them; otherwise the 10th
    percentile of all frames (a recording that is wall-to-wall speech or so noisy that the VAD
    hears speech everywhere). Speech: the mean power of speech frames, minus the noise under it."""
    speech = frames.speech
    if not len(speech):
        return 0.0, "quietest_frames", NOISE_FLOOR_DB
    near = np.convolve(np.pad(speech.astype(np.int8), 5), np.ones(11, dtype=np.int8), mode="valid") > 0  # ±100 ms
    pauses = frames.power[~near]
    if len(pauses) * FRAME_S >= 0.3:
        noise, how = float(np.mean(pauses)), "pauses"
    else:
        noise, how = float(np.percentile(frames.power, 10)), "quietest_frames"
    noise = max(noise, 10 ** (NOISE_FLOOR_DB / 10))
    speech_power = float(np.mean(frames.power[speech])) if speech.any() else 0.0
    clean = max(speech_power - noise, noise * 1e-3)  # noise adds under speech: take it out, stay > 0
    level = 10 * np.log10(max(speech_power, 10 ** (NOISE_FLOOR_DB / 10)))
    return round(float(10 * np.log10(clean / noise)), 1), how, round(float(level), 1)


def _close_gaps(mask: np.ndarray, shorter_than: int) -> np.ndarray:
    """`mask` with every run of False shorter than `shorter_than` between two True runs filled."""
    out = mask.copy()
    runs = _runs(mask)
    for (_, end), (nxt, _) in zip(runs, runs[1:], strict=False):
        if nxt - end < shorter_than:
            out[end:nxt] = True
    return out


def _yin(x16: np.ndarray, window: int = 640, fmin: float = 60.0, fmax: float = 400.0,
         threshold: float = 0.2) -> np.ndarray:
    """F0 per 10 ms hop (NaN where unvoiced; hop i is centred on i x 10 ms): YIN (de Cheveigné &
    Kawahara 2002), the cumulative mean normalised difference, which avoids most octave errors of
    plain autocorrelation. 0.2 is a common voicing threshold; 0.15 left half the frames of a low
    male voice unpitched on the fixtures."""
    hop = int(ANALYSIS_RATE * PITCH_HOP_S)
    tau_min, tau_max = int(ANALYSIS_RATE / fmax), int(ANALYSIS_RATE / fmin)
    span = window + tau_max
    x = np.pad(x16.astype(np.float64), (window // 2, span))
    frames = np.lib.stride_tricks.sliding_window_view(x, span)[: len(x16) // hop * hop : hop]
    if not len(frames):
        return np.full(0, np.nan)
    nfft = 1 << int(np.ceil(np.log2(span + window)))
    head = frames[:, :window]
    cross = np.fft.irfft(np.conj(np.fft.rfft(head, nfft)) * np.fft.rfft(frames, nfft), nfft)[:, : tau_max + 1]
    sq = np.cumsum(np.pad(frames * frames, ((0, 0), (1, 0))), axis=1)
    taus = np.arange(tau_max + 1)
    energy_tau = sq[:, taus + window] - sq[:, taus]  # sum of x[tau : tau + window]^2
    diff = sq[:, [window]] + energy_tau - 2 * cross
    diff[:, 0] = 0.0
    cum = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)
    f0 = np.full(len(frames), np.nan)
    for i, row in enumerate(cmnd):
        below = np.flatnonzero(row[tau_min:] < threshold)
        if not len(below):
            continue
        tau = tau_min + below[0]
        while tau + 1 <= tau_max and row[tau + 1] < row[tau]:
            tau += 1
        if 0 < tau < tau_max:  # parabolic interpolation around the minimum
            a, b, c = row[tau - 1], row[tau], row[tau + 1]
            shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
            tau = tau + float(np.clip(shift, -1, 1))
        f0[i] = ANALYSIS_RATE / tau
    return f0


def pitch_spread(x16: np.ndarray, speech: np.ndarray) -> tuple[float | None, tuple[float, ...], float]:
    """(median F0, per-segment median F0s, spread in semitones) over the speech.

    A heuristic for "one speaker", not speaker verification. A segment is a run of speech between
    pauses, cut into ~2 s pieces when longer (so two voices taking turns without a pause still land
    in different segments); one with under 0.3 s of pitched frames is skipped. Within one speaker the
    segment medians stay within a few semitones (a question or an exclamation moves them 2–4); a man
    and a woman sit about an octave apart (~100–130 Hz against ~190–230 Hz, 10–12 semitones).
    Limits: two speakers of the same sex and similar pitch pass; a single speaker who switches
    register a lot (acting, calling out) can be refused; whispered or creaky speech has no pitch and
    is not judged. The stored metadata keeps the segment medians so a refusal can be looked at."""
    f0 = _yin(x16)
    if not len(f0):
        return None, (), 0.0
    per_hop = np.repeat(speech, int(FRAME_S / PITCH_HOP_S))[: len(f0)]
    per_hop = np.pad(per_hop, (0, len(f0) - len(per_hop)))
    medians: list[float] = []
    piece = round(2.0 / PITCH_HOP_S)
    for start, end in _runs(_close_gaps(per_hop, round(0.25 / PITCH_HOP_S))):
        count = max(1, round((end - start) / piece))
        for chunk in np.array_split(f0[start:end], count):
            voiced = chunk[~np.isnan(chunk)]
            if len(voiced) * PITCH_HOP_S >= 0.2:
                medians.append(round(float(np.median(voiced)), 1))
    all_voiced = f0[per_hop & ~np.isnan(f0)]
    overall = round(float(np.median(all_voiced)), 1) if len(all_voiced) else None
    if len(medians) < 2:
        return overall, tuple(medians), 0.0
    spread = 12 * np.log2(max(medians) / min(medians))
    return overall, tuple(medians), round(float(spread), 1)


def measure(mono: np.ndarray, clipped_ratio: float, limits: ReferenceLimits | None = None) -> Measurements:
    """Everything the checks need, from mono float32 at VOICE_RATE."""
    limits = limits or ReferenceLimits()
    x16 = soxr.resample(mono, VOICE_RATE, ANALYSIS_RATE, quality="HQ").astype(np.float32)
    frames = _speech_frames(x16)
    snr, how, level = _snr(frames)
    overall, segments, spread = pitch_spread(x16, frames.speech)
    kept = sum(end - start for start, end in _keep_spans(frames.speech, limits))
    return Measurements(
        speech_s=round(float(kept), 2),
        voiced_s=round(float(frames.speech.sum()) * FRAME_S, 2),
        clipped_ratio=round(clipped_ratio, 6),
        snr_db=snr,
        noise_estimate=how,
        speech_dbfs=level,
        pitch_hz=overall,
        segment_pitch_hz=segments,
        pitch_spread_st=spread,
    )


def check(m: Measurements, limits: ReferenceLimits | None = None) -> list[Problem]:
    """Every check that fails, in the order a person would fix them."""
    limits = limits or ReferenceLimits()
    if m.voiced_s == 0:  # nothing else means anything without speech
        return [Problem("speech_length",
                        f"no speech found: 0.0 s of speech, at least {limits.min_speech_s:.0f} s needed")]
    problems = []
    if m.speech_dbfs < limits.min_speech_dbfs:
        problems.append(Problem("level", f"too quiet: speech at {m.speech_dbfs:.1f} dBFS, below "
                                         f"{limits.min_speech_dbfs:.0f} dBFS (record closer or raise the gain)"))
    if m.speech_s < limits.min_speech_s:
        problems.append(Problem("speech_length", f"too short: {m.speech_s:.1f} s of speech, "
                                                 f"at least {limits.min_speech_s:.0f} s needed"))
    elif m.speech_s > limits.max_speech_s:
        problems.append(Problem("speech_length", f"too long: {m.speech_s:.1f} s of speech, at most "
                                                 f"{limits.max_speech_s:.0f} s (cut it to your best passage)"))
    if m.clipped_ratio > limits.max_clipped_ratio:
        problems.append(Problem("clipping", f"clipped: {m.clipped_ratio:.2%} of samples at full scale, at most "
                                            f"{limits.max_clipped_ratio:.2%} (record with less gain)"))
    if m.snr_db < limits.min_snr_db:
        problems.append(Problem("snr", f"too noisy: signal-to-noise {m.snr_db:.1f} dB, at least "
                                       f"{limits.min_snr_db:.0f} dB needed (quieter room, closer microphone)"))
    if m.pitch_spread_st > limits.max_pitch_spread_st:
        hz = ", ".join(f"{p:.0f}" for p in m.segment_pitch_hz)
        problems.append(Problem("speakers", f"sounds like more than one speaker: segment pitch spreads over "
                                            f"{m.pitch_spread_st:.1f} semitones ({hz} Hz), at most "
                                            f"{limits.max_pitch_spread_st:.0f} for one voice"))
    return problems


# -- cleaning --------------------------------------------------------------------------------------


def clean(mono: np.ndarray, limits: ReferenceLimits | None = None) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(cleaned mono float32 at VOICE_RATE, the steps applied with their numbers)."""
    import noisereduce

    limits = limits or ReferenceLimits()
    steps: list[dict[str, Any]] = []
    x16 = soxr.resample(mono, VOICE_RATE, ANALYSIS_RATE, quality="HQ").astype(np.float32)
    frames = _speech_frames(x16)

    # Stationary spectral gating, with the noise profile taken from the pauses when there are
    # enough of them (a truer profile than the whole-signal statistics noisereduce falls back to).
    hop = int(VOICE_RATE * FRAME_S)
    pause = np.repeat(~frames.speech, hop)[: len(mono)]
    noise_clip = mono[: len(pause)][pause]
    profile = "pauses" if len(noise_clip) >= VOICE_RATE // 2 else "whole recording"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = noisereduce.reduce_noise(
            y=mono, sr=VOICE_RATE, stationary=True, prop_decrease=limits.noise_prop_decrease,
            y_noise=noise_clip if profile == "pauses" else None,
        ).astype(np.float32)
    steps.append({"step": "noise_reduction", "library": f"noisereduce {_version('noisereduce')}",
                  "method": "stationary spectral gating", "prop_decrease": limits.noise_prop_decrease,
                  "noise_profile": profile})

    spans = _keep_spans(frames.speech, limits)
    pieces = [x[int(a * VOICE_RATE) : int(b * VOICE_RATE)] for a, b in spans]
    fade = int(0.01 * VOICE_RATE)  # 10 ms fades at each cut: no click where a pause was shortened
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    for i, p in enumerate(pieces):
        if len(p) > 2 * fade:
            p = p.copy()
            if i:
                p[:fade] *= ramp
            if i < len(pieces) - 1:
                p[-fade:] *= ramp[::-1]
            pieces[i] = p
    x = np.concatenate(pieces) if pieces else x
    head = float(spans[0][0]) if spans else 0.0
    tail = float(len(mono) / VOICE_RATE - spans[-1][1]) if spans else 0.0
    shortened = len(spans) - 1
    removed = float(len(mono) / VOICE_RATE - len(x) / VOICE_RATE - head - tail)
    steps.append({"step": "trim", "start_s": round(head, 2), "end_s": round(max(0.0, tail), 2),
                  "kept_edge_s": limits.keep_edge_s})
    steps.append({"step": "shorten_pauses", "pauses": shortened, "longer_than_s": limits.max_pause_s,
                  "to_s": limits.pause_keep_s, "removed_s": round(max(0.0, removed), 2)})

    before = loudness(x, VOICE_RATE)[0]
    if np.isfinite(before):
        x = (x * 10 ** ((limits.target_lufs - before) / 20)).astype(np.float32)
    steps.append({"step": "loudness", "library": f"pyloudnorm {_version('pyloudnorm')}",
                  "from_lufs": round(before, 1) if np.isfinite(before) else None, "to_lufs": limits.target_lufs})

    limited = int(np.sum(np.abs(x) > 10 ** (limits.peak_dbfs / 20)))
    x = limit_peaks(x, VOICE_RATE, limits.peak_dbfs)
    steps.append({"step": "peak_limit", "ceiling_dbfs": limits.peak_dbfs, "samples_over": limited})
    return x, steps


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


# -- storing ---------------------------------------------------------------------------------------


def voices_dir(settings: Any = None) -> Path:
    """`MINIBOT_TTS__XTTS_VOICES_DIR`, or `<cache_dir>/voices` when unset."""
    if settings is None:
        from ..config import Settings

        settings = Settings()
    return Path(settings.tts.xtts_voices_dir or Path(settings.cache_dir) / "voices")


def check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise BadVoiceName(
            f"bad voice name {name!r}: 2 to 32 characters, lowercase letters, digits, '_' or '-', "
            f"starting with a letter (e.g. julie, julie-2)")


def clone_voice(path: str | Path, name: str, directory: Path, *, force: bool = False,
                limits: ReferenceLimits | None = None) -> ClonedVoice:
    """Check, clean and store `path` as voice `name` in `directory`. Raises a `VoiceReferenceError`
    (bad name, exists, unreadable, rejected) with a message for the person who gave the file."""
    limits = limits or ReferenceLimits()
    path, directory = Path(path), Path(directory)
    check_name(name)
    wav, meta = directory / f"{name}.wav", directory / f"{name}.json"
    if not force and (wav.exists() or meta.exists()):
        raise VoiceExists(f"voice {name!r} already exists in {directory} (--force replaces it)")
    mono, source, clipped = read_reference(path)
    measurements = measure(mono, clipped, limits)
    problems = check(measurements, limits)
    if problems:
        raise ReferenceRejected(path, problems, measurements)
    cleaned, steps = clean(mono, limits)
    processing: list[dict[str, Any]] = []
    if source.channels > 1:
        processing.append({"step": "mono_mix", "channels": source.channels})
    if source.sample_rate != VOICE_RATE:
        processing.append({"step": "resample", "from_hz": source.sample_rate, "to_hz": VOICE_RATE, "library": "soxr"})
    processing += steps
    output = {"file": wav.name, "sample_rate": VOICE_RATE, "channels": 1, "sample_width_bits": 16,
              "duration_s": round(len(cleaned) / VOICE_RATE, 2),
              "loudness_lufs": round(loudness(cleaned, VOICE_RATE)[0], 1),
              "peak_dbfs": round(float(20 * np.log10(max(np.max(np.abs(cleaned)), 1e-6))), 1)}
    record = {
        "name": name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": asdict(source),
        "measured": asdict(measurements),
        "limits": limits.model_dump(),
        "processing": processing,
        "output": output,
    }
    directory.mkdir(parents=True, exist_ok=True)
    write_audio(wav, to_pcm(cleaned), VOICE_RATE, wav=True)
    write_atomic(meta, lambda f: f.write((json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode()))
    return ClonedVoice(name, wav, meta, source, measurements, processing, output)


def list_voices(directory: Path) -> list[StoredVoice]:
    """Every `<name>.wav` in `directory`, with its metadata when `<name>.json` is there and readable."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    out = []
    for wav in sorted(directory.glob("*.wav")):
        meta: dict[str, Any] = {}
        try:
            loaded = json.loads(wav.with_suffix(".json").read_text())
            meta = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            pass
        duration = (meta.get("output") or {}).get("duration_s")
        if duration is None:
            try:
                duration = round(read_wav(wav).duration, 2)
            except ValueError:
                duration = None
        out.append(StoredVoice(wav.stem, wav, duration, (meta.get("measured") or {}).get("snr_db"),
                               meta.get("created"), meta))
    return out


# -- the cloning engine ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngineCheck:
    status: Literal["ok", "not_configured", "unavailable", "failed"]
    message: str


def check_with_xtts(name: str, directory: Path, settings: Any = None) -> EngineCheck:
    """Prepare what the cloning engine needs: when XTTS is configured and loads, have it compute the
    voice's conditioning once (a short synthesis: `XttsEngine` computes and keeps the conditioning
    on first use of a voice), so a reference it cannot use is found now, not on the first call.
    Not configured, or not loadable here: say so; the stored reference waits for it."""
    from ..speech.tts import TtsError, TtsUnavailable, load_engine

    if settings is None:
        from ..config import Settings

        settings = Settings()
    tts = settings.tts
    hint = "" if tts.xtts_voices_dir else f" (set MINIBOT_TTS__XTTS_VOICES_DIR={directory} for XTTS to find it)"
    if tts.xtts_model_dir is None:
        return EngineCheck("not_configured",
                           f"XTTS is not configured (MINIBOT_TTS__XTTS_MODEL_DIR unset): the reference is stored, "
                           f"ready for it{hint}")
    try:
        engine = load_engine("xtts", xtts_model_dir=tts.xtts_model_dir, xtts_voices_dir=directory)
    except TtsUnavailable as exc:
        return EngineCheck("unavailable", f"XTTS cannot load here ({exc}): the reference is stored, ready for it{hint}")
    try:
        audio = engine.synthesize("Bonjour.", voice=name)
    except TtsError as exc:
        return EngineCheck("failed", f"XTTS could not use the reference: {exc}")
    except Exception as exc:  # the model's own errors (torch, shapes) come as anything: report, do not crash
        return EngineCheck("failed", f"XTTS could not use the reference: {type(exc).__name__}: {exc}")
    if not audio.pcm:
        return EngineCheck("failed", "XTTS computed the conditioning but produced no audio from it")
    return EngineCheck("ok", f"XTTS computed the voice's conditioning and spoke with it{hint}")
