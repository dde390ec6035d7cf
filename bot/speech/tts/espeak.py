"""espeak-ng: formant synthesis, robotic but intelligible, on every Debian machine
(`apt-get install espeak-ng`), instant and offline. The default engine."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cached_property
from pathlib import Path

from ...i18n import _
from ..pcm import Audio, read_wav
from .base import TtsError, TtsUnavailable, at_rate

# French voices: the base one and espeak's female/male variants (espeak-ng --voices=variant).
VOICES = ("fr", "fr+f2", "fr+f3", "fr+f4", "fr+m3", "fr+m4")


class EspeakEngine:
    name = "espeak"
    default_voice = "fr+f3"

    def __init__(self, *, speed: int = 155, pitch: int = 50, binary: str = "espeak-ng", timeout: float = 30.0) -> None:
        path = shutil.which(binary)
        if path is None:
            raise TtsUnavailable("espeak-ng not found on PATH (Debian: apt-get install espeak-ng)")
        self.binary, self.speed, self.pitch, self.timeout = path, speed, pitch, timeout

    @cached_property
    def version(self) -> str:
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True, timeout=10).stdout
        return f"{out.split()[3] if len(out.split()) > 3 else out.strip()}/s{self.speed}/p{self.pitch}"

    def voices(self) -> list[str]:
        return list(VOICES)

    def synthesize(self, text: str, voice: str | None = None, sample_rate: int | None = None) -> Audio:
        voice = voice or self.default_voice
        if voice not in VOICES:
            raise TtsError(_("espeak : voix inconnue {voice!r} ; voix françaises : {voices}").format(
                voice=voice, voices=", ".join(VOICES)))
        with tempfile.TemporaryDirectory(prefix="minibot-espeak-") as tmp:
            out = Path(tmp) / "speech.wav"
            # Text on stdin, never on the command line: no quoting issue, no length limit.
            done = subprocess.run(
                [self.binary, "-v", voice, "-s", str(self.speed), "-p", str(self.pitch), "-w", str(out), "--stdin"],
                input=text.encode("utf-8"), capture_output=True, timeout=self.timeout, check=False,
            )
            if done.returncode != 0 or not out.exists():
                raise TtsError(_("espeak-ng a échoué ({code}) : {error}").format(
                    code=done.returncode, error=done.stderr.decode(errors='replace')[:200]))
            return at_rate(read_wav(out), sample_rate)
