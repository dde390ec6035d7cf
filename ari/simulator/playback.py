"""Channel playbacks as res/res_stasis_playback.c runs them.

Per media item: PlaybackStarted (first_update), then the item plays, then PlaybackContinuing
(more items follow) or PlaybackFinished. A missing or unreadable file still gets its
PlaybackStarted, then finishes "failed" (or "continuing" if items follow). A DELETE while
playing stops it ("done") and skips the rest of the list; a DELETE while queued marks it
canceled and it publishes "done" when its turn comes, without playing. A hang-up mid-play
ends it "failed". An unsupported URI scheme publishes PlaybackStarted and nothing more for
that item (play_on_channel just `continue`s).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .call import Played

if TYPE_CHECKING:
    from .model import Channel


@dataclass
class MediaItem:
    audio: np.ndarray | None = None  # float32 16 kHz; None: silent, timing only
    duration: float | None = None  # None: until stopped (tone:)
    controllable: bool = True  # number:/digits:/characters: cannot be stopped
    failed: bool = False
    unsupported: bool = False


class PlaybackHost(Protocol):
    def publish_playback(self, playback: Playback) -> None: ...
    def load_media(self, uri: str, language: str) -> MediaItem: ...
    def start_sound(self, channel: Channel, audio: np.ndarray, offset: float) -> Any: ...
    def stop_sound(self, channel: Channel, handle: Any) -> None: ...


@dataclass(eq=False)
class Playback:
    id: str
    medias: list[str]
    channel: Channel
    language: str
    offsetms: int = 0
    target_type: str = "channel"  # "bridge": played by the bridge's Announcer channel to every member
    target_id: str | None = None  # the bridge's id (a channel playback targets its channel)
    state: str = "queued"  # queued | playing | continuing | done | failed
    index: int = 0
    canceled: bool = False
    stopped: bool = False
    controllable: bool = False
    finished: bool = False
    log: list[Played] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _sound: Any = None
    _current: Played | None = None

    def __post_init__(self) -> None:
        now = time.monotonic()
        self.log = [Played(self.id, uri, self.channel.id, now) for uri in self.medias]

    @property
    def target_uri(self) -> str:
        return f"{self.target_type}:{self.target_id or self.channel.id}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "media_uri": self.medias[self.index]}
        if self.index < len(self.medias) - 1:
            out["next_media_uri"] = self.medias[self.index + 1]
        out.update(target_uri=self.target_uri, language=self.language, state=self.state)
        return out

    # -- DELETE /playbacks/{id} and hang-up ------------------------------------------

    def stop(self) -> bool:
        """False when it cannot be stopped (500 "Could not stop playback")."""
        if self.finished:
            return True
        if self.state == "queued":
            self.canceled = True
            return True
        if not self.controllable:
            return False
        self.stopped = True
        self._stop.set()
        return True

    def abort(self, host: PlaybackHost) -> None:
        """The channel is hanging up: a playing item ends "failed", queued ones vanish."""
        if self.finished:
            return
        if self.state in ("playing", "continuing") and self._current is not None:
            self._end_item(host, "hangup")
            self.state = "failed"
            host.publish_playback(self)
        else:
            for played in self.log:
                if played.state == "queued":
                    played.state = "dropped"
        self.finished = True

    def dropped(self) -> None:
        """Never ran: the channel left Stasis with this still queued."""
        for played in self.log:
            if played.state == "queued":
                played.state = "dropped"
        self.finished = True

    # -- the control queue runs this -------------------------------------------------

    async def run(self, host: PlaybackHost) -> None:
        try:
            await self._run(host)
        finally:
            self.finished = True

    async def _run(self, host: PlaybackHost) -> None:
        for index, uri in enumerate(self.medias):
            self.index = index
            if self.canceled or self.stopped:
                # playback_first_update on a canceled playback publishes "done" and stops
                for played in self.log[index:]:
                    played.state = "canceled" if played.state == "queued" else played.state
                self.state = "done"
                host.publish_playback(self)
                return
            self.state = "playing"
            host.publish_playback(self)
            item = host.load_media(uri, self.language)
            if item.unsupported:
                self.log[index].state = "failed"
                continue
            self.controllable = item.controllable
            played = self.log[index]
            played.duration = item.duration
            if item.failed:
                played.state = "failed"
                ok = False
            else:
                ok = await self._play(host, item, self.offsetms / 1000 if index == 0 else 0.0)
            last = index == len(self.medias) - 1
            if ok:
                self.state = "done" if last else "continuing"
            elif not self.stopped:
                self.state = "failed" if last else "continuing"
            else:
                self.state = "done"
            host.publish_playback(self)
            if self.stopped:
                for rest in self.log[index + 1 :]:
                    rest.state = "canceled"
                return

    async def _play(self, host: PlaybackHost, item: MediaItem, offset: float) -> bool:
        played = self.log[self.index]
        played.state = "playing"
        played.started_at = time.monotonic()
        self._current = played
        self._sound = host.start_sound(self.channel, item.audio, offset) if item.audio is not None else None
        length = None if item.duration is None else max(0.0, item.duration - offset)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(length):
                    await self._stop.wait()
        except asyncio.CancelledError:
            # hang-up: abort() already recorded and published it
            raise
        if self._current is None:
            return False
        self._end_item(host, "stopped" if self.stopped else "done")
        return not self.stopped

    def _end_item(self, host: PlaybackHost, state: str) -> None:
        played = self._current
        if played is None:
            return
        played.state = state
        played.ended_at = time.monotonic()
        self._current = None
        if self._sound is not None:
            host.stop_sound(self.channel, self._sound)
            self._sound = None
