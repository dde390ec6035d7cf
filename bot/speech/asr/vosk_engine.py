"""Vosk (Kaldi) streaming recogniser: partials while the caller speaks, a final at the end."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from concurrent.futures import Executor
from pathlib import Path

from ..pcm import StreamResampler
from .base import AsrUnavailable, Transcript

log = logging.getLogger(__name__)


def model_sample_rate(model_dir: Path) -> int:
    """The rate the model's features were trained at (conf/mfcc.conf), 16 kHz when unstated."""
    mfcc = model_dir / "conf" / "mfcc.conf"
    if mfcc.exists():
        m = re.search(r"--sample-frequency=(\d+)", mfcc.read_text())
        if m:
            return int(m.group(1))
    return 16000


class VoskRecognizer:
    name = "vosk"
    streaming = True

    def __init__(self, model_dir: str | Path, executor: Executor | None = None) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "am").is_dir() and not (model_dir / "final.mdl").exists():
            raise AsrUnavailable(
                f"no Vosk model in {model_dir}: run `minibot models pull vosk-fr` or set MINIBOT_VOSK_MODEL"
            )
        try:
            import vosk
        except ImportError as exc:  # pragma: no cover - vosk is a hard dependency
            raise AsrUnavailable(f"the vosk package is not installed ({exc})") from None
        vosk.SetLogLevel(-1)
        self.model_dir = model_dir
        self.model_rate = model_sample_rate(model_dir)
        self._vosk = vosk
        self._model = vosk.Model(str(model_dir))
        self._executor = executor

    def open(self, sample_rate: int) -> VoskStream:
        rec = self._vosk.KaldiRecognizer(self._model, self.model_rate)
        return VoskStream(rec, StreamResampler(sample_rate, self.model_rate), self.model_rate, self._executor)


class VoskStream:
    def __init__(self, rec, resampler: StreamResampler, model_rate: int, executor: Executor | None) -> None:
        self._rec = rec
        self._resampler = resampler
        self._model_rate = model_rate
        self._executor = executor
        self._samples = 0
        self._last_partial = ""
        self._committed: list[str] = []  # text of segments Vosk closed on its own endpointing

    def _accept(self, pcm: bytes) -> str | None:
        if self._rec.AcceptWaveform(pcm):
            text = json.loads(self._rec.Result()).get("text", "")
            if text:
                self._committed.append(text)
            return None
        return json.loads(self._rec.PartialResult()).get("partial", "")

    async def feed(self, pcm: bytes) -> Transcript | None:
        data = self._resampler.process(pcm)
        if not data:
            return None
        self._samples += len(data) // 2
        partial = await asyncio.get_running_loop().run_in_executor(self._executor, self._accept, data)
        text = " ".join([*self._committed, partial or ""]).strip()
        if text and text != self._last_partial:
            self._last_partial = text
            return Transcript(text, final=False, audio_seconds=self._samples / self._model_rate)
        return None

    def _final(self, tail: bytes) -> str:
        if tail:
            self._rec.AcceptWaveform(tail)
        return json.loads(self._rec.FinalResult()).get("text", "")

    async def finish(self) -> Transcript:
        tail = self._resampler.process(b"", last=True)
        self._samples += len(tail) // 2
        last = await asyncio.get_running_loop().run_in_executor(self._executor, self._final, tail)
        text = " ".join([*self._committed, last]).strip()
        return Transcript(text, final=True, audio_seconds=self._samples / self._model_rate)
