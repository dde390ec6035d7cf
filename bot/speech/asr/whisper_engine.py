"""faster-whisper on Whisper base: utterance by utterance, the offline default.

Decoding is pinned to what a phone line needs. Whisper's defaults (beam 5, temperature
fallback, conditioning on previous text, timestamps) loop for seconds on 8 kHz audio and
hallucinate on silence; greedy decoding with a token cap keeps one utterance well under a
second of CPU on Whisper base.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import soxr

from .base import AsrUnavailable, Transcript

WHISPER_RATE = 16000


class WhisperRecognizer:
    name = "whisper"
    streaming = False

    def __init__(
        self,
        model_dir: str | Path,
        executor: Executor | None = None,
        *,
        language: str = "fr",
        cpu_threads: int = 1,
        workers: int = 2,
        max_new_tokens: int = 96,
    ) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "model.bin").exists():
            raise AsrUnavailable(f"no Whisper model in {model_dir} (model.bin missing)")
        from faster_whisper import WhisperModel

        # One model shared by all calls; ``workers`` lets that many utterances decode at once.
        # CTranslate2 creates its decode threads here, so they keep normal priority (only the
        # executor threads that call it are niced).
        self._model = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads, num_workers=workers
        )
        self.executor = executor
        self.language = language
        self.max_new_tokens = max_new_tokens

    def open(self, sample_rate: int) -> WhisperStream:
        return WhisperStream(self, sample_rate)

    def transcribe(self, samples: np.ndarray) -> str:
        """Blocking: run in an executor."""
        segments, _info = self._model.transcribe(
            samples,
            language=self.language,
            beam_size=1,
            best_of=1,
            temperature=0.0,
            without_timestamps=True,
            condition_on_previous_text=False,
            max_new_tokens=self.max_new_tokens,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()


class WhisperStream:
    def __init__(self, engine: WhisperRecognizer, sample_rate: int) -> None:
        self._engine = engine
        self._rate = sample_rate
        self._chunks: list[bytes] = []

    async def feed(self, pcm: bytes) -> Transcript | None:
        self._chunks.append(pcm)
        return None

    def _decode(self, pcm: bytes) -> str:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if self._rate != WHISPER_RATE:
            x = soxr.resample(x, self._rate, WHISPER_RATE)
        return self._engine.transcribe(x.astype(np.float32))

    async def finish(self) -> Transcript:
        pcm = b"".join(self._chunks)
        self._chunks.clear()
        seconds = len(pcm) / 2 / self._rate
        if not pcm:
            return Transcript("", final=True, audio_seconds=0.0)
        text = await asyncio.get_running_loop().run_in_executor(self._engine.executor, self._decode, pcm)
        return Transcript(text, final=True, audio_seconds=seconds)
