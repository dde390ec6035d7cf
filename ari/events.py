"""ARI events as typed dataclasses.

Only the events MiniBot acts on get a class; anything else arrives as ``OtherEvent`` with
its type and raw JSON (Asterisk sends many: ChannelDialplan, ChannelCallerId...). Each
class names the JSON fields it reads in ``json_fields`` so the contract test can check
them against the official API description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .models import Bridge, Channel, LiveRecording, Playback


@dataclass(frozen=True, slots=True)
class AriEvent:
    type: str
    timestamp: str
    application: str

    json_fields: ClassVar[tuple[str, ...]] = ()

    def channel_ids(self) -> tuple[str, ...]:
        """Ids of the channels (and bridges) this event concerns, for routing it to calls."""
        return ()


@dataclass(frozen=True, slots=True)
class OtherEvent(AriEvent):
    raw: dict[str, Any]

    def channel_ids(self) -> tuple[str, ...]:
        ch = self.raw.get("channel")
        return (ch["id"],) if isinstance(ch, dict) and "id" in ch else ()


@dataclass(frozen=True, slots=True)
class _ChannelEvent(AriEvent):
    channel: Channel

    json_fields: ClassVar[tuple[str, ...]] = ("channel",)

    def channel_ids(self) -> tuple[str, ...]:
        return (self.channel.id,)


@dataclass(frozen=True, slots=True)
class StasisStart(_ChannelEvent):
    args: tuple[str, ...]
    replace_channel: Channel | None = None

    json_fields: ClassVar[tuple[str, ...]] = ("channel", "args", "replace_channel")


@dataclass(frozen=True, slots=True)
class StasisEnd(_ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelStateChange(_ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelDestroyed(_ChannelEvent):
    cause: int
    cause_txt: str
    tech_cause: int | None = None

    json_fields: ClassVar[tuple[str, ...]] = ("channel", "cause", "cause_txt", "tech_cause")


@dataclass(frozen=True, slots=True)
class ChannelHangupRequest(_ChannelEvent):
    # With soft=True, ``cause`` is Asterisk's soft-hangup flag, not a Q.850 cause (facts §3.2).
    cause: int | None = None
    soft: bool = False

    json_fields: ClassVar[tuple[str, ...]] = ("channel", "cause", "soft")


@dataclass(frozen=True, slots=True)
class ChannelVarset(AriEvent):
    variable: str
    value: str
    channel: Channel | None = None

    json_fields: ClassVar[tuple[str, ...]] = ("variable", "value", "channel")

    def channel_ids(self) -> tuple[str, ...]:
        return (self.channel.id,) if self.channel else ()


@dataclass(frozen=True, slots=True)
class ChannelDtmfReceived(_ChannelEvent):
    digit: str
    duration_ms: int

    json_fields: ClassVar[tuple[str, ...]] = ("channel", "digit", "duration_ms")


@dataclass(frozen=True, slots=True)
class Dial(AriEvent):
    peer: Channel
    dialstatus: str  # "" (dialling), RINGING, PROGRESS, ANSWER, BUSY, CONGESTION, NOANSWER, CHANUNAVAIL...
    dialstring: str = ""

    json_fields: ClassVar[tuple[str, ...]] = ("peer", "dialstatus", "dialstring")

    def channel_ids(self) -> tuple[str, ...]:
        return (self.peer.id,)


@dataclass(frozen=True, slots=True)
class _PlaybackEvent(AriEvent):
    playback: Playback

    json_fields: ClassVar[tuple[str, ...]] = ("playback",)

    def channel_ids(self) -> tuple[str, ...]:
        return (self.playback.target_id,)


@dataclass(frozen=True, slots=True)
class PlaybackStarted(_PlaybackEvent):
    pass


@dataclass(frozen=True, slots=True)
class PlaybackContinuing(_PlaybackEvent):
    pass


@dataclass(frozen=True, slots=True)
class PlaybackFinished(_PlaybackEvent):
    pass


@dataclass(frozen=True, slots=True)
class _BridgeEvent(AriEvent):
    bridge: Bridge
    channel: Channel | None = None

    json_fields: ClassVar[tuple[str, ...]] = ("bridge", "channel")

    def channel_ids(self) -> tuple[str, ...]:
        return (self.bridge.id,) + ((self.channel.id,) if self.channel else ())


@dataclass(frozen=True, slots=True)
class ChannelEnteredBridge(_BridgeEvent):
    pass


@dataclass(frozen=True, slots=True)
class ChannelLeftBridge(_BridgeEvent):
    pass


@dataclass(frozen=True, slots=True)
class BridgeDestroyed(_BridgeEvent):
    json_fields: ClassVar[tuple[str, ...]] = ("bridge",)


@dataclass(frozen=True, slots=True)
class _RecordingEvent(AriEvent):
    recording: LiveRecording

    json_fields: ClassVar[tuple[str, ...]] = ("recording",)

    def channel_ids(self) -> tuple[str, ...]:
        return (self.recording.target_id,)


@dataclass(frozen=True, slots=True)
class RecordingStarted(_RecordingEvent):
    pass


@dataclass(frozen=True, slots=True)
class RecordingFinished(_RecordingEvent):
    pass


@dataclass(frozen=True, slots=True)
class RecordingFailed(_RecordingEvent):
    pass


EVENT_TYPES: dict[str, type[AriEvent]] = {
    cls.__name__: cls
    for cls in (
        StasisStart, StasisEnd, ChannelStateChange, ChannelDestroyed, ChannelHangupRequest, ChannelVarset,
        ChannelDtmfReceived, Dial, PlaybackStarted, PlaybackContinuing, PlaybackFinished,
        ChannelEnteredBridge, ChannelLeftBridge, BridgeDestroyed, RecordingStarted, RecordingFinished,
        RecordingFailed,
    )
}

_CONVERT = {
    "channel": Channel.from_json,
    "replace_channel": Channel.from_json,
    "peer": Channel.from_json,
    "bridge": Bridge.from_json,
    "playback": Playback.from_json,
    "recording": LiveRecording.from_json,
    "args": tuple,
}


def parse_event(d: dict[str, Any]) -> AriEvent:
    """One event from the WebSocket's JSON. Unknown types become OtherEvent; a known type
    with a missing required field raises KeyError (the caller logs it and goes on)."""
    kind = d.get("type", "")
    base = {"type": kind, "timestamp": d.get("timestamp", ""), "application": d.get("application", "")}
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        return OtherEvent(**base, raw=d)
    kwargs = {}
    for name in cls.json_fields:
        if name in d and d[name] is not None:
            value = d[name]
            kwargs[name] = _CONVERT[name](value) if name in _CONVERT else value
    return cls(**base, **kwargs)
