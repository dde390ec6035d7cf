"""A quiet room under the bot's lines: an office-murmur loop mixed under rendered speech.

The level is relative to the line's own loudness (integrated LUFS, ITU-R BS.1770, the measure
`minibot audio prepare` normalises recordings to; RMS of the sounding frames for a line under
400 ms), so a soft voice and a loud one get the same voice-to-room ratio: `level_db=-8` puts the
room 8 LU under the speech. The loop is a seamless file (its end crossfaded into its start by
scripts/make_ambience.py), tiled from a start position that depends on the line, so two lines
in a row do not open on the same murmur, and the same line always renders the same audio (the
cache key must describe the audio exactly). Fades at both ends keep the line from starting or
stopping on a wall of noise.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..speech.pcm import Audio, read_wav, to_float, to_pcm
from .prepare import loudness

AMBIENCE_DIR = Path(__file__).resolve().parents[2] / "audio" / "ambience"
FADE_IN = 0.4  # seconds
FADE_OUT = 0.6
_HEADROOM = 10 ** (-1 / 20)  # the mix never peaks above -1 dBFS (the prepared files' ceiling)


def speech_level(audio: Audio) -> float:
    """The line's loudness: LUFS, or dBFS RMS of its sounding frames when too short to gate."""
    return loudness(to_float(audio.pcm), audio.sample_rate)[0]


def loop_level(loop: Audio) -> float:
    """The loop's loudness, measured the same way over the whole loop (it is steady by construction)."""
    return loudness(to_float(loop.pcm), loop.sample_rate)[0]


def mix_ambience(voice: Audio, loop: Audio, level_db: float = -8.0, *, start: float | None = None) -> Audio:
    """`voice` with `loop` repeated under it, `level_db` relative to the voice's speech level.

    `start` (seconds into the loop) defaults to a position derived from the voice itself. The
    result has the voice's rate and length; a silent voice or an empty loop is returned as is."""
    if not voice.pcm or not loop.pcm:
        return voice
    if loop.sample_rate != voice.sample_rate:
        loop = loop.at_rate(voice.sample_rate)
    v = to_float(voice.pcm)
    room = to_float(loop.pcm)
    if float(np.max(np.abs(v))) < 1e-4:
        return voice
    gain = 10 ** ((speech_level(voice) + level_db - loop_level(loop)) / 20)
    if start is None:
        first = int.from_bytes(hashlib.blake2b(voice.pcm, digest_size=8).digest(), "little") % room.size
    else:
        first = int(start * voice.sample_rate) % room.size
    under = room[(first + np.arange(v.size)) % room.size] * np.float32(gain)
    under *= _envelope(v.size, voice.sample_rate)
    mixed = v + under
    peak = float(np.max(np.abs(mixed)))
    if peak > _HEADROOM:  # scale both together: the voice-to-room ratio is what must hold
        mixed *= np.float32(_HEADROOM / peak)
    return Audio(to_pcm(mixed), voice.sample_rate)


def _envelope(n: int, rate: int) -> np.ndarray:
    """Raised-cosine fades, at most a quarter of the line each."""
    env = np.ones(n, np.float32)
    for seconds, head in ((FADE_IN, True), (FADE_OUT, False)):
        k = min(int(seconds * rate), n // 4)
        if k < 2:
            continue
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k))).astype(np.float32)
        if head:
            env[:k] *= ramp
        else:
            env[-k:] *= ramp[::-1]
    return env


def ambience_path(name_or_path: str | Path) -> Path:
    """A shipped ambience by name (audio/ambience/<name>.wav), or any WAV by path."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.suffix or "/" in text:
        return path
    return AMBIENCE_DIR / f"{text}.wav"


def load_ambience(name_or_path: str | Path) -> Audio:
    """The loop as 16-bit mono audio; ValueError naming the shipped loops when it is not there."""
    path = ambience_path(name_or_path)
    if not path.is_file():
        shipped = sorted(p.stem for p in AMBIENCE_DIR.glob("*.wav"))
        raise ValueError(f"ambience {str(name_or_path)!r} not found (looked for {path}); "
                         f"shipped: {', '.join(shipped) or 'none'}")
    audio = read_wav(path)
    if audio.duration < 1.0:
        raise ValueError(f"{path}: an ambience loop must last at least 1 s ({audio.duration:.2f} s)")
    return audio


def ambience_tag(loop: Audio, level_db: float) -> str:
    """What the cache key adds for a mixed line: the loop's content and the level, so plain and
    mixed renders (or two loops, or two levels) never share a file."""
    digest = hashlib.sha256(loop.sample_rate.to_bytes(4, "little") + loop.pcm).hexdigest()[:12]
    return f"+amb:{digest}:{level_db:g}"
