"""Voice activity detection over 20 ms frames (webrtcvad), driven by the wall clock.

Sans I/O: ``process(frame, now)`` for each frame and ``tick(now)`` when no frame came.
Asterisk sends nothing during silence on some paths (facts §1.3), so the end of speech is
decided by time since the last voiced frame, never by counting frames.
"""

from __future__ import annotations

import collections
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import webrtcvad
from pydantic import BaseModel, Field

from .pcm import FRAME_MS, rms_dbfs

WEBRTC_RATES = (8000, 16000, 32000, 48000)


class VadConfig(BaseModel, frozen=True):
    engine: Literal["webrtc", "silero"] = Field("webrtc", description="webrtcvad, or Silero VAD v5 (ONNX)")
    silero_threshold: float = Field(0.5, gt=0, lt=1, description="Silero's speech probability that counts as voiced")
    aggressiveness: int = Field(2, ge=0, le=3, description="webrtcvad mode: 0 lenient .. 3 strict")
    onset_ms: int = Field(80, ge=20, description="voiced audio needed to confirm speech started")
    onset_window_ms: int = Field(160, ge=20, description="window the onset voiced time is counted in")
    end_silence_ms: int = Field(600, ge=100, description="silence (wall clock) that ends an utterance")
    early_end_ms: int = Field(400, ge=0, description="silence that ends it once a streaming recogniser has "
                                                    "caught up with the words (0: never early)")
    lookback_ms: int = Field(300, ge=0, description="audio kept before the onset for the recogniser")
    min_level_dbfs: float = Field(-50.0, description="quieter frames never count as voiced")


@cache
def _silero_session():
    """Silero VAD v5 from the silero-vad wheel, run with onnxruntime (no torch). The package is
    located, not imported: its __init__ imports torch."""
    import onnxruntime as ort

    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("VAD engine 'silero' needs the silero-vad wheel: pip install --no-deps silero-vad")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options)


class SileroVoicing:
    """P(speech) for each 32 ms (16 kHz; 8 kHz: 32 ms too) chunk, with the model's recurrent state
    kept per call; a 20 ms frame is voiced when the latest chunk's probability reaches the
    threshold."""

    def __init__(self, sample_rate: int, threshold: float) -> None:
        if sample_rate not in (8000, 16000):
            raise ValueError(f"Silero VAD runs at 8 or 16 kHz, got {sample_rate}")
        self._session = _silero_session()
        self._chunk = 512 if sample_rate == 16000 else 256
        self._context = np.zeros(64 if sample_rate == 16000 else 32, np.float32)
        self._state = np.zeros((2, 1, 128), np.float32)
        self._sr = np.array(sample_rate, np.int64)
        self._buf = np.zeros(0, np.float32)
        self._threshold = threshold
        self.probability = 0.0

    def is_voiced(self, frame: bytes) -> bool:
        self._buf = np.concatenate([self._buf, np.frombuffer(frame, "<i2").astype(np.float32) / 32768.0])
        while len(self._buf) >= self._chunk:
            chunk, self._buf = self._buf[: self._chunk], self._buf[self._chunk:]
            x = np.concatenate([self._context, chunk])[None, :]
            out, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._sr})
            self._context = chunk[-len(self._context):]
            self.probability = float(out[0][0])
        return self.probability >= self._threshold


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at: float  # monotonic time of the first voiced frame of the onset
    confirmed_at: float  # when the onset was confirmed
    lookback: bytes  # audio before and including the onset frames


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    at: float  # monotonic time of the end of the last voiced frame
    duration: float  # seconds from start to last voiced frame
    early: bool = False  # ended after early_end_ms: the recogniser already had every word


VadEvent = SpeechStarted | SpeechEnded


class SpeechDetector:
    def __init__(self, sample_rate: int, config: VadConfig | None = None) -> None:
        if sample_rate not in WEBRTC_RATES:
            raise ValueError(f"webrtcvad needs one of {WEBRTC_RATES} Hz, got {sample_rate}")
        self.sample_rate = sample_rate
        self.config = config or VadConfig()
        self._vad = webrtcvad.Vad(self.config.aggressiveness)
        self._silero = (SileroVoicing(sample_rate, self.config.silero_threshold)
                        if self.config.engine == "silero" else None)
        frames = max(1, self.config.lookback_ms // FRAME_MS)
        self._lookback: collections.deque[bytes] = collections.deque(maxlen=frames)
        window = max(1, self.config.onset_window_ms // FRAME_MS)
        self._window: collections.deque[tuple[float, bool]] = collections.deque(maxlen=window)
        self.speaking = False
        self._started_at = 0.0
        self._last_voiced_end = 0.0
        self._caught_up = False  # the recogniser has the words up to this silence: end it sooner
        self.last_voiced_at: float | None = None  # any voiced frame, speech confirmed or not
        self._verdict_ms: int | None = None  # an end-of-turn verdict for the pause in progress

    def is_voiced(self, frame: bytes) -> bool:
        if self._silero is not None:
            voiced = self._silero.is_voiced(frame)  # every frame: the model's state follows the audio
            return voiced and rms_dbfs(frame) >= self.config.min_level_dbfs
        if rms_dbfs(frame) < self.config.min_level_dbfs:
            return False
        return self._vad.is_speech(frame, self.sample_rate)

    def process(self, frame: bytes, now: float) -> list[VadEvent]:
        """Feed one 20 ms frame that arrived at ``now`` (monotonic seconds)."""
        events: list[VadEvent] = self.tick(now)
        voiced = self.is_voiced(frame)
        if voiced:
            self.last_voiced_at = now
        if self.speaking:
            if voiced:
                self._last_voiced_end = now
                self._caught_up = False
                self._verdict_ms = None  # they speak again: the pause's verdict is void
            return events
        self._lookback.append(frame)
        self._window.append((now, voiced))
        voiced_ms = sum(FRAME_MS for _, v in self._window if v)
        if voiced and voiced_ms >= self.config.onset_ms:
            first = next(t for t, v in self._window if v)
            self.speaking = True
            self._started_at = first - FRAME_MS / 1000
            self._last_voiced_end = now
            self._caught_up = False
            self._verdict_ms = None
            events.append(SpeechStarted(at=self._started_at, confirmed_at=now, lookback=b"".join(self._lookback)))
            self._lookback.clear()
            self._window.clear()
        return events

    def force_start(self, at: float, now: float) -> None:
        """Enter speech from outside (a confirmed barge-in decided on echo-aware grounds)."""
        self.speaking = True
        self._started_at = at
        self._last_voiced_end = now
        self._caught_up = False
        self._verdict_ms = None
        self._lookback.clear()
        self._window.clear()

    @property
    def last_voiced_end(self) -> float:
        """The end of the last voiced frame of the utterance in progress (monotonic)."""
        return self._last_voiced_end

    def end_turn_after(self, ms: int | None) -> None:
        """An end-of-turn verdict (bot.speech.turn) for the pause in progress: it ends after ``ms``
        of silence, sooner or later than ``end_silence_ms`` (None: no verdict, the fixed end of
        speech); void once the caller speaks again."""
        if self.speaking:
            self._verdict_ms = ms

    def recognizer_caught_up(self, audio_until: float) -> bool:
        """A streaming recogniser has decoded the caller's audio up to the frame that arrived at
        ``audio_until``, with words. When that frame lies in the silence after the last voiced
        one, every word of the utterance is known: the turn can end after `early_end_ms` instead
        of `end_silence_ms` (a pause that turns out to be mid-sentence starts a new utterance),
        unless an end-of-turn verdict on those words says otherwise (`end_turn_after`).
        Returns whether the recogniser is in the caller's silence."""
        if self.speaking and audio_until > self._last_voiced_end:
            self._caught_up = True
        return self._caught_up

    def _end_after(self) -> float:
        if self._verdict_ms is not None:
            return self._verdict_ms / 1000
        early = self._caught_up and self.config.early_end_ms
        return (self.config.early_end_ms if early else self.config.end_silence_ms) / 1000

    def tick(self, now: float) -> list[VadEvent]:
        """Advance the clock with no frame; ends the utterance after enough silence."""
        if self.speaking and now - self._last_voiced_end >= self._end_after():
            self.speaking = False
            return [SpeechEnded(at=self._last_voiced_end, duration=self._last_voiced_end - self._started_at,
                                early=self._caught_up and bool(self.config.early_end_ms))]
        return []

    def finish(self, now: float) -> list[VadEvent]:
        """The stream ended: close an utterance in progress."""
        if not self.speaking:
            return []
        self.speaking = False
        return [SpeechEnded(at=self._last_voiced_end, duration=self._last_voiced_end - self._started_at)]

    def silent_for(self, now: float) -> float | None:
        """Seconds since the last voiced frame of the utterance in progress (None outside one):
        a turn-taking hint shorter than the end-of-speech silence."""
        return now - self._last_voiced_end if self.speaking else None

    def next_deadline(self) -> float | None:
        """When ``tick`` could next fire, for a caller that waits on frames with a timeout."""
        if not self.speaking:
            return None
        return self._last_voiced_end + self._end_after()

    def reset(self) -> None:
        self.speaking = False
        self._lookback.clear()
        self._window.clear()
