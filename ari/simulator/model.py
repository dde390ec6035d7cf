"""ARI resource models (Swagger 1.2 `Channel`, `Bridge`, `CallerID`, `DialplanCEP`) with the
exact JSON shapes Asterisk 22 sends (checked against asterisk-22-captures)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .audiosocket_leg import AudioSocketLeg
    from .call import Call
    from .control import Control
    from .media import Line
    from .recording import LiveRecording

ASTERISK_ID = "02:fc:00:00:00:01"  # the entity id (a MAC) every event carries


def ast_timestamp(wall: float | None = None) -> str:
    """``2026-11-22T04:58:16.111+0000``: ast_json_timeval, milliseconds, numeric zone."""
    dt = datetime.fromtimestamp(time.time() if wall is None else wall, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


@dataclass
class CallerId:
    name: str = ""
    number: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "number": self.number}

    @classmethod
    def parse(cls, text: str | None) -> CallerId:
        """``Name <number>`` or a bare number (main/callerid.c ast_callerid_parse, simplified)."""
        if not text:
            return cls()
        text = text.strip()
        if "<" in text and text.endswith(">"):
            name, _, number = text[:-1].partition("<")
            return cls(name.strip().strip('"'), _shrink(number.strip()))
        if any(c.isdigit() for c in text) and all(c.isdigit() or c in "+-(). " for c in text):
            return cls("", _shrink(text))
        return cls(text, "")


def _shrink(number: str) -> str:
    # ast_shrink_phone_number drops the punctuation people write in numbers
    return "".join(c for c in number if c not in "-(). ")


@dataclass
class Dialplan:
    context: str = "default"
    exten: str = "s"
    priority: int = 1
    app_name: str = ""
    app_data: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "exten": self.exten,
            "priority": self.priority,
            "app_name": self.app_name,
            "app_data": self.app_data,
        }


@dataclass(eq=False)
class Channel:
    id: str
    name: str
    tech: str  # Local, PJSIP, Snoop, AudioSocket
    state: str = "Down"
    caller: CallerId = field(default_factory=CallerId)
    connected: CallerId = field(default_factory=CallerId)
    dialplan: Dialplan = field(default_factory=Dialplan)
    created: float = field(default_factory=time.time)
    language: str = "en"
    variables: dict[str, str] = field(default_factory=dict)
    app: str | None = None
    # Subscribed by the originate itself (POST /channels, externalMedia): such a channel's
    # events keep coming after StasisEnd (ChannelDestroyed...). Snoop and inbound channels
    # are only subscribed while in Stasis (res/stasis/app.c "interested" count).
    explicit: bool = False
    in_stasis: bool = False
    alive: bool = True
    # what the dialplan shows when not running Stasis (AppDial2 for originated channels)
    home_dialplan: Dialplan | None = None
    bridge: Bridge | None = None
    call: Call | None = None
    local_peer: Channel | None = None  # ;1 <-> ;2 of a Local pair
    snoop_of: Channel | None = None
    spy: str = "none"
    whisper: str = "none"
    snoops: list[Channel] = field(default_factory=list)
    leg: AudioSocketLeg | None = None
    line: Line | None = None
    control: Control | None = None
    recording: LiveRecording | None = None
    suspended: bool = False  # a channel playback suspends it from its bridge (facts §5.4)
    hangup_cause: int = 16
    label: str = ""  # a snoop's first appArg ("listen", "amd-snoop"), to find it in tests
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (sequence, event)

    @property
    def subscribed(self) -> bool:
        return self.explicit or self.in_stasis

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": self.caller.to_json(),
            "connected": self.connected.to_json(),
            "accountcode": "",
            "dialplan": self.dialplan.to_json(),
            "creationtime": ast_timestamp(self.created),
            "language": self.language,
        }


@dataclass(eq=False)
class Bridge:
    id: str
    bridge_type: str = "mixing"
    name: str = ""
    app: str | None = None
    created: float = field(default_factory=time.time)
    members: list[Channel] = field(default_factory=list)
    alive: bool = True
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    announcer: Channel | None = None  # plays POST /bridges/{id}/play (chan_bridge_media), made on first use
    sounding: list | None = None  # (line, segment) of each member hearing the announcer now

    @property
    def technology(self) -> str:
        if self.bridge_type == "holding":
            return "holding_bridge"
        # smart bridging: two parties pass frames straight through, a third needs a mixer
        return "softmix" if len(self.members) > 2 else "simple_bridge"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "technology": self.technology,
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            # Asterisk iterates a hash container; sorted keeps ours deterministic
            "channels": sorted(c.id for c in self.members),
            "creationtime": ast_timestamp(self.created),
            "video_mode": "talker",
        }
