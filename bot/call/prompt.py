"""Audio the bot plays: a file Asterisk can read, and the same audio for the echo-aware
barge-in (which must know what is being played)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..speech.pcm import Audio, read_wav

# What Asterisk can play, by extension (facts §5.2): ``.wav`` is 8 kHz only; a 16 kHz WAV must
# be named ``.wav16``; ``.sln16`` is headerless 16 kHz PCM.
_WAV_RATES = {".wav": 8000, ".wav16": 16000}
_RAW_RATES = {".sln16": 16000}


@dataclass(frozen=True)
class Prompt:
    path: Path  # the file, with its extension
    audio: Audio
    uri: str | None = None  # where Asterisk fetches it instead of the local path (sound:http://...)

    @classmethod
    def load(cls, path: str | Path) -> Prompt:
        path = Path(path)
        if path.suffix in _RAW_RATES:
            return cls(path.resolve(), Audio(path.read_bytes(), _RAW_RATES[path.suffix]))
        expected = _WAV_RATES.get(path.suffix)
        if expected is None:
            raise ValueError(f"{path}: prompts are .wav (8 kHz), .wav16 or .sln16 (16 kHz) files")
        audio = read_wav(path)
        if audio.sample_rate != expected:
            raise ValueError(f"{path}: {audio.sample_rate} Hz, but Asterisk reads {path.suffix} as {expected} Hz")
        return cls(path.resolve(), audio)

    @property
    def media_uri(self) -> str:
        if self.uri is not None:
            return self.uri
        # sound: takes the path without its extension; Asterisk picks the format.
        return f"sound:{self.path.with_suffix('')}"

    @property
    def duration(self) -> float:
        return self.audio.duration
