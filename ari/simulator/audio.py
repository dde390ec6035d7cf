"""Sound files as Asterisk 22 finds and reads them, speech clips for callees, and the few
conversions the simulator needs. Media inside the simulator is float32 at 16 kHz.

`sound:` rules (facts §5.2, main/file.c): the name has no extension; every known format's
extension is appended in turn; an absolute name is used as is, a relative one is looked up
under <sounds>/<language>/ then <sounds>/. A ``.wav`` must be 8 kHz mono 16-bit PCM
(format_wav.c check_header_fmt: a 16 kHz file named .wav fails), ``.wav16`` the same at
16 kHz; ``.sln*``/``.raw`` are headerless little-endian PCM at the rate the extension names.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
FRAME = RATE // 50  # 20 ms


class SoundError(Exception):
    """The file exists but Asterisk could not play it (wrong header, rate, encoding)."""


@dataclass(frozen=True, slots=True)
class SoundFormat:
    ext: str
    kind: str  # wav | raw | ulaw | alaw
    rate: int


# Preference when several files share a basename: 8 kHz first, as a ulaw trunk would pick.
SOUND_FORMATS: tuple[SoundFormat, ...] = (
    SoundFormat("wav", "wav", 8000),
    SoundFormat("sln", "raw", 8000),
    SoundFormat("slin", "raw", 8000),
    SoundFormat("raw", "raw", 8000),
    SoundFormat("ulaw", "ulaw", 8000),
    SoundFormat("pcm", "ulaw", 8000),
    SoundFormat("ul", "ulaw", 8000),
    SoundFormat("mu", "ulaw", 8000),
    SoundFormat("ulw", "ulaw", 8000),
    SoundFormat("alaw", "alaw", 8000),
    SoundFormat("al", "alaw", 8000),
    SoundFormat("alw", "alaw", 8000),
    SoundFormat("wav16", "wav", 16000),
    SoundFormat("sln12", "raw", 12000),
    SoundFormat("sln16", "raw", 16000),
    SoundFormat("sln24", "raw", 24000),
    SoundFormat("sln32", "raw", 32000),
    SoundFormat("sln44", "raw", 44100),
    SoundFormat("sln48", "raw", 48000),
    SoundFormat("sln96", "raw", 96000),
    SoundFormat("sln192", "raw", 192000),
)
BY_EXT = {f.ext: f for f in SOUND_FORMATS}

# Formats POST /record accepts (ast_get_format_for_file_ext) that we can also write.
RECORD_FORMATS: dict[str, SoundFormat] = {
    "wav": BY_EXT["wav"],
    "wav16": BY_EXT["wav16"],
    "sln": BY_EXT["sln"],
    "slin": BY_EXT["slin"],
    "raw": BY_EXT["raw"],
    "sln16": BY_EXT["sln16"],
    "ulaw": BY_EXT["ulaw"],
    "alaw": BY_EXT["alaw"],
}


def find_sound(name: str, sounds_dir: Path, language: str = "en") -> Path | None:
    bases = [Path(name)] if name.startswith("/") else [sounds_dir / language / name, sounds_dir / name]
    for base in bases:
        for fmt in SOUND_FORMATS:
            path = Path(f"{base}.{fmt.ext}")
            if path.is_file():
                return path
    return None


def read_sound(path: Path) -> np.ndarray:
    """The file's audio as float32 at 16 kHz; SoundError where Asterisk would fail it."""
    fmt = BY_EXT.get(path.name.rsplit(".", 1)[-1])
    if fmt is None:
        raise SoundError(f"{path}: unknown format")
    if fmt.kind == "wav":
        pcm, rate = _read_wav(path)
        if rate != fmt.rate:
            raise SoundError(f"{path}: Unexpected frequency mismatch {rate} (expecting {fmt.rate})")
    else:
        data = path.read_bytes()
        if fmt.kind == "raw":
            pcm = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
        elif fmt.kind == "ulaw":
            pcm = ulaw_decode(np.frombuffer(data, np.uint8))
        else:
            pcm = alaw_decode(np.frombuffer(data, np.uint8))
        rate = fmt.rate
    return resample(to_float(pcm), rate, RATE)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    try:
        with wave.open(str(path), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise SoundError(f"{path}: not mono 16-bit PCM")
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()
    except (wave.Error, EOFError) as exc:
        raise SoundError(f"{path}: {exc}") from None


def read_any_wav(path: Path) -> np.ndarray:
    """Any mono 16-bit WAV (a callee's speech), as float32 at 16 kHz."""
    pcm, rate = _read_wav(path)
    return resample(to_float(pcm), rate, RATE)


def write_sound(path: Path, audio: np.ndarray, fmt: SoundFormat) -> None:
    """Write float32 16 kHz audio in a record format (8 kHz WAV for "wav")."""
    pcm = to_int16(resample(audio, RATE, fmt.rate))
    if fmt.kind == "wav":
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(fmt.rate)
            w.writeframes(pcm.astype("<i2").tobytes())
    elif fmt.kind == "raw":
        path.write_bytes(pcm.astype("<i2").tobytes())
    elif fmt.kind == "ulaw":
        path.write_bytes(ulaw_encode(pcm).tobytes())
    else:
        path.write_bytes(alaw_encode(pcm).tobytes())


class ClipCache:
    """Callee utterances: a fixture name (``allo`` -> <speech_dir>/allo_16k.wav, else _8k) or
    a path to a WAV. Read once."""

    def __init__(self, speech_dir: Path) -> None:
        self.speech_dir = speech_dir
        self._cache: dict[str, np.ndarray] = {}

    def get(self, clip: str | Path) -> np.ndarray:
        key = str(clip)
        if key not in self._cache:
            self._cache[key] = read_any_wav(self._path(clip))
        return self._cache[key]

    def _path(self, clip: str | Path) -> Path:
        path = Path(clip)
        if path.suffix == ".wav" or path.is_absolute():
            return path
        for suffix in ("_16k.wav", "_8k.wav", ".wav"):
            candidate = self.speech_dir / f"{clip}{suffix}"
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"no speech clip {clip!r} in {self.speech_dir}")


def tone(freq: float, seconds: float, level_dbfs: float = -10.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def to_float(pcm: np.ndarray) -> np.ndarray:
    return (pcm.astype(np.float32) / 32768.0).astype(np.float32)


def to_int16(audio: np.ndarray) -> np.ndarray:
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)


def resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Linear interpolation, with a 2-tap average before 2:1 decimation: a line model,
    not a studio converter."""
    if src == dst or len(audio) == 0:
        return audio.astype(np.float32, copy=False)
    if dst * 2 == src:
        even = audio[: len(audio) // 2 * 2].reshape(-1, 2)
        return even.mean(axis=1).astype(np.float32)
    n = int(round(len(audio) * dst / src))
    x_src = np.arange(len(audio)) / src
    x_dst = np.arange(n) / dst
    return np.interp(x_dst, x_src, audio).astype(np.float32)


# -- G.711, for .ulaw/.alaw files and ulaw/alaw externalMedia --------------------------


def ulaw_decode(data: np.ndarray) -> np.ndarray:
    u = (~data.astype(np.int32)) & 0xFF
    exp = (u >> 4) & 0x07
    mag = ((((u & 0x0F) << 3) + 0x84) << exp) - 0x84
    return np.where(u & 0x80, -mag, mag).astype(np.int16)


def ulaw_encode(pcm: np.ndarray) -> np.ndarray:
    s = pcm.astype(np.int32)
    sign = np.where(s < 0, 0x80, 0)
    mag = np.minimum(np.abs(s), 32635) + 0x84
    exp = np.clip(np.floor(np.log2(mag)).astype(np.int32) - 7, 0, 7)
    mant = (mag >> (exp + 3)) & 0x0F
    return (~(sign | (exp << 4) | mant) & 0xFF).astype(np.uint8)


def alaw_decode(data: np.ndarray) -> np.ndarray:
    a = data.astype(np.int32) ^ 0x55
    exp = (a >> 4) & 0x07
    mant = a & 0x0F
    mag = np.where(exp == 0, (mant << 4) + 8, ((mant << 4) + 0x108) << np.maximum(exp - 1, 0))
    return np.where(a & 0x80, mag, -mag).astype(np.int16)


def alaw_encode(pcm: np.ndarray) -> np.ndarray:
    s = pcm.astype(np.int32)
    sign = np.where(s >= 0, 0x80, 0)
    mag = np.minimum(np.abs(s), 32767)
    exp = np.clip(np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 7, 0, 7)
    mant = np.where(exp == 0, mag >> 4, mag >> (exp + 3)) & 0x0F
    return ((sign | (exp << 4) | mant) ^ 0x55).astype(np.uint8)
