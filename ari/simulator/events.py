"""ARI event builders. Field sets and key order follow what Asterisk 22 sends
(asterisk-22-captures); `asterisk_id` and `application` are added on delivery."""

from __future__ import annotations

from typing import Any

from .causes import cause_txt
from .model import Bridge, Channel, ast_timestamp

Event = dict[str, Any]


def _ev(type_: str, *, pre: Event | None = None, **fields: Any) -> Event:
    # Blob fields of some events come before "type" on the wire; harmless, but kept.
    return {**(pre or {}), "type": type_, "timestamp": ast_timestamp(), **fields}


def stasis_start(ch: Channel, args: list[str]) -> Event:
    return _ev("StasisStart", args=list(args), channel=ch.to_json())


def stasis_end(ch: Channel) -> Event:
    return _ev("StasisEnd", channel=ch.to_json())


def dial(peer: Channel, dialstatus: str, dialstring: str) -> Event:
    return _ev("Dial", dialstatus=dialstatus, forward="", dialstring=dialstring, peer=peer.to_json())


def state_change(ch: Channel) -> Event:
    return _ev("ChannelStateChange", channel=ch.to_json())


def varset(ch: Channel, variable: str, value: str) -> Event:
    return _ev("ChannelVarset", pre={"variable": variable, "value": value}, channel=ch.to_json())


def hangup_request(ch: Channel, cause: int, *, soft: bool = False) -> Event:
    pre: Event = {"cause": cause}
    if soft:
        pre["soft"] = True
    return _ev("ChannelHangupRequest", pre=pre, channel=ch.to_json())


def dtmf_received(ch: Channel, digit: str, duration_ms: int) -> Event:
    return _ev("ChannelDtmfReceived", digit=digit, duration_ms=duration_ms, channel=ch.to_json())


def destroyed(ch: Channel, cause: int) -> Event:
    return _ev("ChannelDestroyed", cause=cause, cause_txt=cause_txt(cause), channel=ch.to_json())


def dialplan(ch: Channel) -> Event:
    return _ev(
        "ChannelDialplan",
        dialplan_app=ch.dialplan.app_name,
        dialplan_app_data=ch.dialplan.app_data,
        channel=ch.to_json(),
    )


def caller_id(ch: Channel) -> Event:
    return _ev(
        "ChannelCallerId",
        caller_presentation=0,
        caller_presentation_txt="Presentation Allowed, Not Screened",
        channel=ch.to_json(),
    )


def connected_line(ch: Channel) -> Event:
    return _ev("ChannelConnectedLine", channel=ch.to_json())


def entered_bridge(bridge: Bridge, ch: Channel) -> Event:
    return _ev("ChannelEnteredBridge", bridge=bridge.to_json(), channel=ch.to_json())


def left_bridge(bridge: Bridge, ch: Channel) -> Event:
    return _ev("ChannelLeftBridge", bridge=bridge.to_json(), channel=ch.to_json())


def bridge_destroyed(bridge: Bridge) -> Event:
    return _ev("BridgeDestroyed", bridge=bridge.to_json())


PLAYBACK_EVENT = {"playing": "PlaybackStarted", "continuing": "PlaybackContinuing", "done": "PlaybackFinished",
                  "failed": "PlaybackFinished"}
RECORDING_EVENT = {"recording": "RecordingStarted", "done": "RecordingFinished", "canceled": "RecordingFinished",
                   "failed": "RecordingFailed"}


def playback(snapshot: Event) -> Event | None:
    """res_stasis_playback.c playback_to_json: "queued" and "paused" publish nothing."""
    type_ = PLAYBACK_EVENT.get(snapshot["state"])
    return _ev(type_, playback=snapshot) if type_ else None


def recording(snapshot: Event) -> Event | None:
    type_ = RECORDING_EVENT.get(snapshot["state"])
    return _ev(type_, recording=snapshot) if type_ else None
