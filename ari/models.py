"""ARI resources as MiniBot reads them (the subset of fields it uses; ``raw`` keeps the rest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str
    state: str  # Down, Rsrvd, OffHook, Dialing, Ring, Ringing, Up, Busy, Dialing Offhook, Pre-ring, Unknown
    caller_number: str = ""
    caller_name: str = ""
    dialplan_context: str = ""
    dialplan_exten: str = ""
    channelvars: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Channel:
        caller = d.get("caller") or {}
        plan = d.get("dialplan") or {}
        return cls(
            id=d["id"],
            name=d.get("name", ""),
            state=d.get("state", ""),
            caller_number=caller.get("number", ""),
            caller_name=caller.get("name", ""),
            dialplan_context=plan.get("context", ""),
            dialplan_exten=plan.get("exten", ""),
            channelvars=dict(d.get("channelvars") or {}),
        )


@dataclass(frozen=True, slots=True)
class Bridge:
    id: str
    technology: str
    bridge_type: str
    channels: tuple[str, ...]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Bridge:
        return cls(d["id"], d.get("technology", ""), d.get("bridge_type", ""), tuple(d.get("channels") or ()))


@dataclass(frozen=True, slots=True)
class Playback:
    id: str
    media_uri: str
    target_uri: str  # "channel:<id>" or "bridge:<id>"
    state: str  # queued, playing, continuing, done, failed, canceled

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Playback:
        return cls(d["id"], d.get("media_uri", ""), d.get("target_uri", ""), d.get("state", ""))

    @property
    def target_id(self) -> str:
        return self.target_uri.partition(":")[2]


@dataclass(frozen=True, slots=True)
class LiveRecording:
    name: str
    format: str
    target_uri: str
    state: str  # queued, recording, paused, done, failed, canceled
    duration: int | None = None
    cause: str | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LiveRecording:
        return cls(d["name"], d.get("format", ""), d.get("target_uri", ""), d.get("state", ""),
                   d.get("duration"), d.get("cause"))

    @property
    def target_id(self) -> str:
        return self.target_uri.partition(":")[2]
