"""Recordings made elsewhere (wav, mp3, ogg, flac, any rate, stereo) turned into files Asterisk
plays and `Prompt.load` reads: mono, trimmed, loudness-normalised, peak-limited, and written as
`<stem>.wav` (8 kHz, 16-bit: the only rate Asterisk reads from `.wav`) and `<stem>.sln16` (raw
16 kHz, for wideband channels); facts §5.2. Asterisk picks the cheaper of the two from the bare
name, so both hold the same line.

The chain, in order: downmix, remove DC, resample to 16 kHz (soxr), trim the silence at both
ends (keeping `KEEP_SILENCE`), bring the integrated loudness to `TARGET_LUFS` (ITU-R BS.1770 with
pyloudnorm; plain RMS of the speech when the line is shorter than one 400 ms gating block),
limit the peaks to `PEAK_DBFS` with a look-ahead limiter, and derive the 8 kHz file from that.
Writes are atomic (temporary name, then rename), like the cache's.

A file that would be overwritten by its own output (`x.wav` prepared into its own folder) is
first kept as `x.orig.wav`; `prepare_scenario` then prepares from that original, so running it
again does not degrade the line.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
import yaml

from ..i18n import _
from ..speech.pcm import Audio, to_pcm
from .cache import write_audio
from .levels import _frame_levels, limit_peaks, loudness

TARGET_LUFS = -20.0  # speech on a phone line; the level the TTS engines land near once band-limited
PEAK_DBFS = -1.0
KEEP_SILENCE = 0.1  # seconds kept before the first and after the last sound
MAX_SECONDS = 300.0
RATE = 16000  # working rate: the wideband output; the 8 kHz one is derived from it
OUTPUTS = {".wav": 8000, ".sln16": 16000}  # what `prepare_file` writes, by extension
PLAYABLE = (".wav", ".wav16", ".sln16")  # what Prompt.load reads (bot/call/prompt.py)
_FRAME = 160  # 10 ms at 16 kHz: the trimming resolution


class PrepareError(ValueError):
    """This recording cannot become a prompt; `reason` says why in a few words."""

    def __init__(self, source: Path, reason: str) -> None:
        self.source, self.reason = Path(source), reason
        super().__init__(f"{source}: {reason}")


@dataclass(frozen=True, slots=True)
class Conditioned:
    audio: Audio  # 16 kHz mono, ready to write
    seconds_in: float
    loudness_in: float  # LUFS (or dBFS RMS of the speech when method is "rms")
    loudness_out: float
    peak_out: float  # dBFS
    method: str  # "lufs" or "rms" (too short for the gated measure)


@dataclass(frozen=True, slots=True)
class Prepared:
    source: Path
    files: tuple[Path, ...]
    seconds_in: float
    seconds_out: float
    loudness_in: float
    loudness_out: float
    peak_out: float
    method: str
    kept: Path | None = None  # where the overwritten original was kept


@dataclass(frozen=True, slots=True)
class Failed:
    source: Path
    reason: str


def read_recording(path: str | Path) -> tuple[np.ndarray, int]:
    """(mono float32 samples, rate) of any file libsndfile reads; `.sln16` as raw 16 kHz PCM."""
    import soundfile as sf  # imported here: the call path never needs it

    path = Path(path)
    if not path.is_file():
        raise PrepareError(path, _("introuvable"))
    raw = path.suffix.lower() == ".sln16"
    kwargs = {"samplerate": 16000, "channels": 1, "subtype": "PCM_16", "format": "RAW", "endian": "LITTLE"}
    try:
        if raw:
            frames, rate = path.stat().st_size // 2, 16000
        else:
            info = sf.info(str(path))
            frames, rate = info.frames, info.samplerate
        if frames <= 0 or rate <= 0:
            raise PrepareError(path, _("vide (aucun échantillon audio)"))
        seconds = frames / rate
        if seconds > MAX_SECONDS:  # checked before decoding a long file into memory
            raise PrepareError(path, _("trop long ({minutes} min ; un message dure au plus {limit} min)").format(
                minutes=f"{seconds / 60:.1f}", limit=f"{MAX_SECONDS / 60:g}"))
        data, rate = sf.read(str(path), dtype="float32", always_2d=True, **(kwargs if raw else {}))
    except PrepareError:
        raise
    except (RuntimeError, OSError, ValueError) as exc:  # soundfile's LibsndfileError is a RuntimeError
        detail = str(exc).split(": ", 1)[-1] if str(exc) else type(exc).__name__
        if "does not exist" in detail:  # libsndfile's words for a format it does not recognise
            detail = "format not recognised"
        raise PrepareError(path, _("illisible comme audio ({detail})").format(detail=detail.rstrip('.'))) from None
    if data.shape[0] == 0:
        raise PrepareError(path, _("vide (aucun échantillon audio)"))
    return _downmix(data), int(rate)


def _downmix(data: np.ndarray) -> np.ndarray:
    mono = data.mean(axis=1)
    if data.shape[1] > 1:
        # Channels in opposite phase cancel in the mean: then the loudest channel alone is the line.
        loudest = int(np.argmax(np.mean(data * data, axis=0)))
        if np.mean(mono * mono) < 0.1 * np.mean(data[:, loudest] ** 2):
            mono = data[:, loudest]
    return np.ascontiguousarray(mono, dtype=np.float32)


def condition(samples: np.ndarray, rate: int, *, target: float = TARGET_LUFS, source: Path | str = "audio",
              keep: float = KEEP_SILENCE, peak_dbfs: float = PEAK_DBFS) -> Conditioned:
    """The whole chain on mono float samples; PrepareError when there is nothing to keep."""
    x = np.asarray(samples, dtype=np.float32)
    if x.size == 0:
        raise PrepareError(Path(source), _("vide (aucun échantillon audio)"))
    seconds_in = x.size / rate
    x = x - float(np.mean(x))
    if rate != RATE:
        x = soxr.resample(x, rate, RATE).astype(np.float32)
    x = trim_silence(x, RATE, keep=keep, source=source)
    before, method = loudness(x, RATE)
    x = limit_peaks(x * np.float32(10 ** ((target - before) / 20)), RATE, peak_dbfs)
    after, _method = loudness(x, RATE, method)
    for _attempt in range(2):  # heavy limiting costs loudness: make it up, limit again
        if after >= target - 0.5:
            break
        x = limit_peaks(x * np.float32(10 ** ((target - after) / 20)), RATE, peak_dbfs)
        after, _method = loudness(x, RATE, method)
    audio = Audio(to_pcm(x), RATE)
    return Conditioned(audio, seconds_in, before, after, _dbfs(float(np.max(np.abs(x)))), method)


def _dbfs(amplitude: float) -> float:
    return 20 * float(np.log10(max(amplitude, 1e-6)))


def trim_silence(x: np.ndarray, rate: int, *, keep: float = KEEP_SILENCE, source: Path | str = "audio") -> np.ndarray:
    """Cut the silence (or steady room noise) at both ends, keeping `keep` seconds of it.

    Sound is a run of 10 ms frames above a threshold that follows the file's own noise floor
    (10th percentile of frame levels) but never asks more than 20 dB under the loudest frame,
    so soft syllables at the edges stay. A lone click (under 30 ms) does not count as sound."""
    frame = rate // 100
    levels = _frame_levels(x, frame)
    loudest = float(levels.max())
    if loudest < -60.0:
        raise PrepareError(Path(source), _("silencieux (les 10 ms les plus fortes à {level} dBFS)").format(
            level=f"{loudest:.0f}"))
    floor = float(np.percentile(levels, 10))
    threshold = max(min(floor + 12.0, loudest - 20.0), loudest - 50.0, -70.0)
    above = levels > threshold
    sound = np.convolve(above.astype(np.int8), np.ones(5, np.int8), mode="same") >= 3
    if not sound.any():
        sound = above
    active = np.flatnonzero(sound)
    pad = int(keep * rate)
    start = max(0, int(active[0]) * frame - pad)
    end = min(x.size, (int(active[-1]) + 1) * frame + pad)
    out = x[start:end].copy()
    fade = min(out.size // 4, rate // 100)  # 10 ms: the cut lands in near-silence, no click either way
    if fade > 1:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return out


def write_outputs(audio: Audio, out_dir: Path, stem: str, suffixes: Iterable[str] = OUTPUTS) -> tuple[Path, ...]:
    """Write a 16 kHz line in each format, atomically; `.wav16` is a 16 kHz WAV."""
    rates = {**OUTPUTS, ".wav16": 16000}
    peak = 10 ** (PEAK_DBFS / 20)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix in suffixes:
        rate = rates[suffix]
        pcm = audio.pcm
        if rate != audio.sample_rate:
            # Dropping the 4-8 kHz band can move a peak a little: clip back to the same ceiling.
            x = soxr.resample(np.frombuffer(audio.pcm, "<i2").astype(np.float32) / 32768.0, audio.sample_rate, rate)
            pcm = to_pcm(np.clip(x, -peak, peak))
        path = out_dir / f"{stem}{suffix}"
        write_audio(path, pcm, rate, wav=suffix != ".sln16")
        written.append(path)
    return tuple(written)


def original_of(path: Path) -> Path:
    """Where a file that its own preparation overwrites is kept: x.wav → x.orig.wav."""
    return path.with_name(f"{path.stem}.orig{path.suffix}")


def prepare_file(source: str | Path, out_dir: str | Path, *, stem: str | None = None, suffixes: Iterable[str] = OUTPUTS,
                 target: float = TARGET_LUFS, read_from: Path | None = None) -> Prepared:
    """Prepare one recording into `out_dir/<stem>.wav` and `.sln16`; PrepareError says why not.

    `read_from` reads the audio from another file (a kept original) while naming `source`."""
    source, out_dir = Path(source), Path(out_dir)
    stem = stem or source.stem
    samples, rate = read_recording(read_from or source)
    done = condition(samples, rate, target=target, source=source)
    targets = [out_dir / f"{stem}{s}" for s in suffixes]
    kept = None
    if any(_same(t, source) for t in targets) and not original_of(source).exists():
        kept = original_of(source)
        shutil.copy2(source, kept)
    files = write_outputs(done.audio, out_dir, stem, suffixes)
    return Prepared(source, files, done.seconds_in, done.audio.duration, done.loudness_in, done.loudness_out,
                    done.peak_out, done.method, kept)


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def prepare_many(sources: Iterable[str | Path], out_dir: str | Path, *,
                 target: float = TARGET_LUFS) -> list[Prepared | Failed]:
    """Each file on its own: one that fails does not stop the others."""
    results: list[Prepared | Failed] = []
    stems: dict[str, Path] = {}
    for source in map(Path, sources):
        if (first := stems.get(source.stem)) is not None:
            results.append(Failed(source, _("même nom que {first} : les deux seraient écrits dans {name}.wav").format(
                first=first, name=source.stem)))
            continue
        stems[source.stem] = source
        try:
            results.append(prepare_file(source, out_dir, target=target))
        except PrepareError as exc:
            results.append(Failed(source, exc.reason))
    return results


@dataclass(frozen=True, slots=True)
class AudioRef:
    where: str  # steps.<name>.audio or voicemail.audio
    relative: str  # as written in the scenario
    path: Path


def scenario_audio(scenario_file: Path) -> list[AudioRef]:
    """Every `audio:` file a scenario plays, resolved like the loader does (next to the file).

    Only the format is checked here (not the whole scenario): a scenario whose recordings are
    not ready yet can still have them prepared."""
    from ..dialog.scenario.model import Scenario

    raw = yaml.safe_load(Path(scenario_file).read_text(encoding="utf-8"))
    scenario = Scenario.model_validate(raw)
    base = Path(scenario_file).parent
    refs = [AudioRef(f"steps.{name}.audio", step.audio, base / step.audio)
            for name, step in scenario.steps.items() if step.audio]
    if scenario.voicemail and scenario.voicemail.audio:
        refs.append(AudioRef("voicemail.audio", scenario.voicemail.audio, base / scenario.voicemail.audio))
    return refs


def prepare_scenario(scenario_file: str | Path, *,
                     target: float = TARGET_LUFS) -> list[tuple[AudioRef, Prepared | Failed]]:
    """Prepare every recording a scenario plays in place: `<stem>.wav` and `<stem>.sln16` next to
    it (and `<stem>.wav16` when that is the name the scenario uses). A name the bot cannot play
    (`.mp3`...) is prepared, then reported as failed with the name to use instead."""
    results: list[tuple[AudioRef, Prepared | Failed]] = []
    seen: set[Path] = set()
    for ref in scenario_audio(Path(scenario_file)):
        key = ref.path.resolve()
        if key in seen:
            continue
        seen.add(key)
        suffix = ref.path.suffix.lower()
        suffixes = [*OUTPUTS, *([".wav16"] if suffix == ".wav16" else [])]
        original = original_of(ref.path)
        read_from = original if suffix in PLAYABLE and original.is_file() else None
        try:
            prepared = prepare_file(ref.path, ref.path.parent, suffixes=suffixes, target=target, read_from=read_from)
        except PrepareError as exc:
            results.append((ref, Failed(ref.path, exc.reason)))
            continue
        if ref.path.suffix not in PLAYABLE:
            playable = str(Path(ref.relative).with_suffix(".wav"))
            results.append((ref, Failed(ref.path, _(
                "{stem}.wav et {stem}.sln16 préparés, mais le bot ne joue pas les fichiers {suffix} : mettre {where}: "
                "{playable}").format(stem=ref.path.stem, suffix=ref.path.suffix, where=ref.where, playable=playable))))
            continue
        results.append((ref, prepared))
    return results
