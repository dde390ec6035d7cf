"""Live recordings (res/res_stasis_recording.c): POST /channels/{id}/record.

201 with state "queued"; when the control queue reaches it: RecordingFailed if the channel
is bridged ("Cannot record channel while in bridge"), else RecordingStarted, frames collected
every 20 ms from what the channel reads (a snoop: the spied direction(s) mixed), until
stop / cancel / hang-up / maxDurationSeconds / maxSilenceSeconds, then the file is written
and RecordingFinished ("done", or "canceled" with the file deleted).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .audio import FRAME, RATE, SoundFormat, to_int16, write_sound

if TYPE_CHECKING:
    from .model import Channel

# ast_play_and_record_full's silence threshold default (dsp.conf silencethreshold)
SILENCE_THRESHOLD = 256


@dataclass(eq=False)
class LiveRecording:
    name: str
    fmt: SoundFormat
    format_name: str
    channel: Channel
    path: Path
    max_duration: int = 0
    max_silence: int = 0
    state: str = "queued"  # queued | recording | done | failed | canceled
    cause: str | None = None
    frames: list[np.ndarray] = field(default_factory=list)
    duration: int | None = None
    talking: int | None = None
    _silent_frames: int = 0
    _voiced_frames: int = 0
    _done: asyncio.Event = field(default_factory=asyncio.Event)
    started_at: float | None = None

    @property
    def target_uri(self) -> str:
        return f"channel:{self.channel.id}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "format": self.format_name,
            "state": self.state,
            "target_uri": self.target_uri,
        }
        if self.duration is not None:
            out["duration"] = self.duration
        if self.talking is not None and self.duration is not None:
            out["talking_duration"] = self.talking
            out["silence_duration"] = self.duration - self.talking
        if self.cause:
            out["cause"] = self.cause
        return out

    # -- fed by the media clock ------------------------------------------------------

    def feed(self, frame: np.ndarray) -> None:
        if self.state != "recording":
            return
        self.frames.append(frame.copy())
        loud = float(np.sqrt(np.mean(to_int16(frame).astype(np.float32) ** 2))) >= SILENCE_THRESHOLD
        if loud:
            self._voiced_frames += 1
            self._silent_frames = 0
        else:
            self._silent_frames += 1
        seconds = len(self.frames) * FRAME / RATE
        if self.max_duration and seconds >= self.max_duration:
            self._done.set()
        if self.max_silence and self._silent_frames * FRAME / RATE >= self.max_silence:
            self._done.set()

    # -- control ---------------------------------------------------------------------

    def stop(self) -> None:
        self._done.set()

    def cancel(self) -> None:
        self.state = "canceled"
        self._done.set()

    async def wait(self) -> None:
        await self._done.wait()

    def start(self) -> None:
        self.state = "recording"
        self.started_at = time.monotonic()

    def finish(self) -> None:
        """Write the file (unless canceled) and settle the final state and durations."""
        audio = np.concatenate(self.frames) if self.frames else np.zeros(0, np.float32)
        self.duration = int(len(audio) / RATE)
        if self.max_silence:
            self.talking = int(self._voiced_frames * FRAME / RATE)
        if self.state == "canceled":
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_sound(self.path, audio, self.fmt)
        self.state = "done"
