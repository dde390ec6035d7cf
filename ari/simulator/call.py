"""What the simulator records per call, for test assertions and the demo's timeline."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .callees import Callee
    from .model import Bridge, Channel


@dataclass
class Played:
    """One media item of a bot playback on one of the call's channels."""

    playback_id: str
    media: str
    channel_id: str
    queued_at: float  # time.monotonic()
    started_at: float | None = None
    ended_at: float | None = None
    duration: float | None = None  # the file's own length, when it was read
    # queued -> playing -> done | stopped (DELETE) | hangup (channel gone mid-play) | failed;
    # canceled: DELETEd while queued; dropped: never ran (the channel left Stasis)
    state: str = "queued"

    @property
    def stopped_early(self) -> bool:
        return self.state in ("stopped", "hangup")

    @property
    def played_seconds(self) -> float:
        if self.started_at is None or self.ended_at is None:
            return 0.0
        return self.ended_at - self.started_at


@dataclass
class Said:
    """One utterance of the simulated party."""

    clip: str
    started_at: float
    ended_at: float
    over_prompt: bool  # the bot was talking when it began (a barge-in attempt)


@dataclass(eq=False)
class Call:
    endpoint: str
    channel_id: str
    callee: Callee | None
    direction: str  # outbound | inbound
    args: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.monotonic)
    # answered | busy | congestion | rejected | unallocated | noanswer | nonexistent | failed
    outcome: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    cause: int | None = None
    amd: tuple[str, str] | None = None  # the verdict the AMD snoop reported
    played: list[Played] = field(default_factory=list)
    said: list[Said] = field(default_factory=list)
    recordings: list[Path] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    bridges: list[Bridge] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event emitted for the call's channels and bridges, in emission order
        (whether or not a websocket was there to get it)."""
        merged = [e for ch in self.channels for e in ch.events] + [e for b in self.bridges for e in b.events]
        return [event for _, event in sorted(merged, key=lambda item: item[0])]

    @property
    def audiosocket_frames_sent(self) -> int:
        return sum(ch.leg.frames_sent for ch in self.channels if ch.leg is not None)

    @property
    def audiosocket_frames_received(self) -> int:
        return sum(ch.leg.frames_received for ch in self.channels if ch.leg is not None)

    def channel(self, role: str) -> Channel | None:
        """``caller`` (the originated / inbound channel), ``local2``, ``snoop:<first appArg>``
        (e.g. ``snoop:listen``), ``external``: handy in tests."""
        for ch in self.channels:
            if role == "caller" and ch.id == self.channel_id:
                return ch
            if role == "local2" and ch.name.endswith(";2"):
                return ch
            if role == "external" and ch.tech == "AudioSocket":
                return ch
            if role.startswith("snoop:") and ch.tech == "Snoop" and ch.label == role[6:]:
                return ch
        return None

    async def wait_ended(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            await self.ended.wait()
