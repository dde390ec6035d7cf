"""The simulator's media clock and phone lines.

One clock ticks every 20 ms on a monotonic deadline for the whole simulator; on each tick
every answered line renders one frame, and the core routes frames through snoops and bridges
to AudioSocket legs and recordings (Asterisk's snoop produces a frame every 20 ms from a
timer, silent or not: facts §5.4). Lines start on a tick boundary, so each tick yields
exactly one frame per line and frames leave evenly spaced.

A Line is one party as the Asterisk channel sees it:
* downlink: what the channel plays to the party (file playbacks, bridged-in audio);
* uplink: what the channel reads: the party's voice + the line echo of the downlink
  (a hybrid: delay, level, short IR) + an optional noise floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .audio import FRAME, RATE
from .line import StreamingEcho

log = logging.getLogger(__name__)

FRAME_SEC = 0.020
# Late by more than this: skip ahead instead of sending a burst (a real timer would drift too).
MAX_CATCH_UP_TICKS = 10


@dataclass(eq=False)
class Segment:
    start: int  # sample index on the line's clock
    pcm: np.ndarray
    end: int = -1  # exclusive; cut() moves it earlier (a stopped playback)

    def __post_init__(self) -> None:
        if self.end < 0:
            self.end = self.start + len(self.pcm)

    def cut(self, at: int) -> None:
        self.end = min(self.end, max(at, self.start))


class Timeline:
    """Signals placed on a sample clock; render() sums what overlaps a frame."""

    def __init__(self) -> None:
        self._segments: list[Segment] = []

    def add(self, start: int, pcm: np.ndarray) -> Segment:
        seg = Segment(start, pcm.astype(np.float32, copy=False))
        self._segments.append(seg)
        return seg

    def render(self, n0: int, n: int = FRAME) -> np.ndarray | None:
        out: np.ndarray | None = None
        keep: list[Segment] = []
        for seg in self._segments:
            if seg.end <= n0:
                continue  # over: drop it
            keep.append(seg)
            lo, hi = max(seg.start, n0), min(seg.end, n0 + n)
            if hi <= lo:
                continue
            if out is None:
                out = np.zeros(n, np.float32)
            out[lo - n0 : hi - n0] += seg.pcm[lo - seg.start : hi - seg.start]
        self._segments = keep
        return out

    def active(self, n: int) -> bool:
        return any(seg.start <= n < seg.end for seg in self._segments)


class Line:
    def __init__(
        self,
        *,
        echo_db: float | None,
        echo_delay_ms: float,
        noise_dbfs: float | None,
        seed: int = 0,
    ) -> None:
        self.voice = Timeline()
        self.down = Timeline()
        self._pending: list[np.ndarray] = []  # bridged-in audio for the next frame
        self._echo = (
            StreamingEcho(RATE, delay_ms=echo_delay_ms, level_db=echo_db, seed=seed) if echo_db is not None else None
        )
        self._noise = 10 ** (noise_dbfs / 20) if noise_dbfs is not None else 0.0
        self._rng = np.random.default_rng(seed + 1)
        self.t0 = 0.0  # monotonic time at which sample 0 plays; set by MediaClock.attach
        self.frame_no = 0
        self.up_frame = np.zeros(FRAME, np.float32)
        self.down_frame = np.zeros(FRAME, np.float32)
        self.playing = 0  # playbacks currently sounding on this line's channel
        self.bot_audio_until = 0.0  # bot audio that reached the party through a bridge
        self.talk_started_at = 0.0  # when the bot last started talking to the party
        self.talk_ends = 0  # playbacks that ended (a queued one may start in the same instant)
        self.tx_gain = 1.0  # the channel's VOLUME(TX): what the party hears (and echoes) is scaled by it
        self.heard_rms: list[float] = []  # per frame, what the party heard (for tests: a lowered line)
        self._changed = asyncio.Event()

    def sample_at(self, t: float | None = None) -> int:
        return max(0, int(round(((time.monotonic() if t is None else t) - self.t0) * RATE)))

    def calibrate_echo(self, prompt: np.ndarray) -> None:
        if self._echo is not None and len(prompt):
            self._echo.calibrate(prompt)

    def hear(self, audio: np.ndarray) -> None:
        """Audio the channel is given to play to the party (a bridge peer, a whispering snoop)."""
        self._pending.append(audio)

    def step(self) -> None:
        n0 = self.frame_no * FRAME
        down = self.down.render(n0)
        if down is None:
            down = np.zeros(FRAME, np.float32)
        if self._pending:
            bridged = np.sum(self._pending, axis=0)
            self._pending.clear()
            down = down + bridged
            if float(np.max(np.abs(bridged))) > 1e-3:
                now = time.monotonic()
                if now >= self.bot_audio_until and self.playing == 0:
                    self.talk_started_at = now
                    self.notify()
                self.bot_audio_until = now + 0.1
        if self.tx_gain != 1.0:
            down = down * self.tx_gain
        up = self.voice.render(n0)
        if up is None:
            up = np.zeros(FRAME, np.float32)
        if self._echo is not None:
            up = up + self._echo.process(down)
        if self._noise:
            up = up + self._rng.normal(0.0, self._noise, FRAME).astype(np.float32)
        self.down_frame = np.clip(down, -1.0, 1.0)
        self.heard_rms.append(float(np.sqrt(np.mean(self.down_frame ** 2))))
        self.up_frame = np.clip(up, -1.0, 1.0)
        self.frame_no += 1

    # -- the party's script waits on what the bot does ----------------------------------

    @property
    def bot_talking(self) -> bool:
        return self.playing > 0 or time.monotonic() < self.bot_audio_until

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, timeout: float | None = None) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._changed.wait()


class MediaClock:
    """20 ms ticks on an absolute monotonic schedule; ``on_tick`` does the per-frame work."""

    def __init__(self, on_tick: Callable[[], None], on_skip: Callable[[int], None] | None = None) -> None:
        self._on_tick = on_tick
        self._on_skip = on_skip
        self._task: asyncio.Task[None] | None = None
        self.base = time.monotonic()
        self.tick = 0
        self.late_resets = 0
        self.lines: set[Line] = set()

    def start(self) -> None:
        self.base = time.monotonic()
        self.tick = 0
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sim-media-clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def attach(self, line: Line) -> None:
        """The line's first frame is the one the next tick renders."""
        line.t0 = self.base + self.tick * FRAME_SEC
        line.frame_no = 0
        self.lines.add(line)

    def detach(self, line: Line) -> None:
        self.lines.discard(line)

    async def _run(self) -> None:
        while True:
            deadline = self.base + (self.tick + 1) * FRAME_SEC
            delay = deadline - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            behind = int((time.monotonic() - deadline) / FRAME_SEC)
            if behind > MAX_CATCH_UP_TICKS:
                # The loop stalled: drop the lost time rather than burst frames out.
                self.late_resets += 1
                self.tick += behind
                for line in self.lines:
                    line.frame_no += behind
                if self._on_skip is not None:
                    self._on_skip(behind)
                log.warning("media clock %d ms late: skipped ahead", behind * 20)
            self.tick += 1
            try:
                self._on_tick()
            except Exception:  # one bad frame must not stop every call's media
                log.exception("media tick failed")
