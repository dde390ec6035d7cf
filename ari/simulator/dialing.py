"""How channels come to be: originate (and the far end's answer or refusal), inbound calls,
snoops, externalMedia, and `continue` into the dialplan (AMD).

Event orders are the captures' (asterisk-22-captures, Local channels) and facts §3.2.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, replace

from . import events as ev
from .audiosocket_leg import FORMATS, AudioSocketLeg
from .call import Call
from .callees import Callee, Failure, Human, NoAnswer
from .causes import NO_ANSWER, dialstatus
from .core import GENERIC_500, ORIGINATED, AriError, Core
from .model import CallerId, Channel, Dialplan
from .party import run_party

log = logging.getLogger(__name__)

KNOWN_TECHS = ("Local", "PJSIP", "SIP", "IAX2", "DAHDI")


@dataclass
class Originate:
    endpoint: str
    app: str | None
    app_args: str = ""
    extension: str | None = None
    caller_id: str | None = None
    timeout: int = 30
    channel_id: str | None = None
    other_channel_id: str | None = None
    variables: dict[str, str] | None = None


def originate(core: Core, req: Originate) -> Channel:
    """POST /channels: 200 with the channel Down at once; the dial runs in the background."""
    tech, _, resource = req.endpoint.partition("/")
    if not tech or not resource:
        raise AriError(400, "Invalid endpoint specified")
    if not req.app and not req.extension:
        raise AriError(400, "Application or extension must be specified")
    for cid in (req.channel_id, req.other_channel_id):
        if cid and len(cid) > 149:
            raise AriError(400, "Uniqueid length exceeds maximum of 149")
    core.check_free(req.channel_id, req.other_channel_id)
    if tech not in KNOWN_TECHS:
        # ast_request fails for an unregistered channel type: ast_ari_response_alloc_failed
        raise AriError(500, "Allocation failed", {"error": "Allocation failed"})
    callee = core.callee_for(req.endpoint)
    caller = CallerId.parse(req.caller_id)
    no = core.next_chan_no()
    args = req.app_args.split(",") if req.app_args else []
    call = Call(req.endpoint, req.channel_id or "", callee, "outbound", args)
    app = req.app or None
    if tech == "Local":
        exten, _, context = resource.split("/")[0].partition("@")
        context = context or "default"
        ch = Channel(req.channel_id or core.new_id(), f"Local/{resource.split('/')[0]}-{no:08x};1", "Local",
                     caller=caller, connected=replace(caller), app=app, explicit=bool(app),
                     dialplan=Dialplan(context, exten, 1, "AppDial2", "(Outgoing Line)"))
        ch.home_dialplan = replace(ch.dialplan)
        peer = Channel(req.other_channel_id or core.new_id(), f"Local/{resource.split('/')[0]}-{no:08x};2",
                       "Local", state="Ring", caller=replace(caller), connected=replace(caller), app=app,
                       explicit=bool(app), dialplan=Dialplan(context, exten, 1))
        ch.local_peer, peer.local_peer = peer, ch
    else:
        device = resource.split("@", 1)[-1] if "@" in resource else resource.split("/")[0]
        ch = Channel(req.channel_id or core.new_id(), f"{tech}/{device}-{no:08x}", tech, caller=caller,
                     connected=replace(caller), app=app, explicit=bool(app), dialplan=replace(ORIGINATED))
        ch.home_dialplan = replace(ch.dialplan)
        peer = None
    ch.variables.update(req.variables or {})
    call.channel_id = ch.id
    core.calls.append(call)
    core.register(ch, call)
    if peer is not None:
        peer.variables.update(req.variables or {})
        core.register(peer, call)
    timeout = None if req.timeout == -1 else (req.timeout if req.timeout > 0 else 30)
    core.spawn(_dial(core, call, ch, callee, resource, timeout, req), call, name=f"dial-{ch.id}")
    return ch


async def _dial(core: Core, call: Call, ch: Channel, callee: Callee | None, dialstring: str,
                timeout: float | None, req: Originate) -> None:
    await asyncio.sleep(0)  # the 200 leaves first, as from Asterisk's dial thread
    peer = ch.local_peer
    if callee is None:
        # nonexistent Local extension (facts §3.2): ChannelDestroyed for both legs, cause 0
        call.outcome = "nonexistent"
        if peer is not None:
            core.teardown(peer, 0, cascade_peer=False)
        core.teardown(ch, 0)
        return
    if peer is not None and req.caller_id:
        core.publish(peer, ev.caller_id(peer))
        core.publish(peer, ev.connected_line(peer))
    core.publish(ch, ev.dial(ch, "", dialstring))
    deadline = None if timeout is None else time.monotonic() + core.scaled(timeout)
    ring = float("inf") if isinstance(callee, NoAnswer) else core.scaled(callee.ring)
    if ring > 0:
        _ringing(core, ch, peer, callee)
        wait = ring if deadline is None else min(ring, max(0.0, deadline - time.monotonic()))
        if wait == float("inf"):
            await asyncio.Event().wait()  # rings for ever (timeout=-1): until hung up
        await asyncio.sleep(wait)
        if wait < ring:  # the originate timeout came first
            _no_answer(core, call, ch, peer)
            return
    if isinstance(callee, Failure):
        _refused(core, call, ch, peer, callee.cause)
    elif isinstance(callee, Human):
        await _answer(core, call, ch, peer, callee, req)
    else:  # a bare Callee: answers silently
        await _answer(core, call, ch, peer, Human(echo_db=None), req)


def _ringing(core: Core, ch: Channel, peer: Channel | None, callee: Callee) -> None:
    if peer is not None:
        peer.dialplan = replace(peer.dialplan, app_name="Ringing", app_data="")
        core.publish(peer, ev.dialplan(peer))
    core.set_state(ch, "Ringing")
    if peer is not None:
        wait = "30" if isinstance(callee, NoAnswer) else f"{callee.ring:g}"
        peer.dialplan = replace(peer.dialplan, priority=peer.dialplan.priority + 1, app_name="Wait", app_data=wait)
        core.publish(peer, ev.dialplan(peer))
    core.publish(ch, ev.dial(ch, "RINGING", _dialstring(ch)))


def _dialstring(ch: Channel) -> str:
    return ch.call.endpoint.split("/", 1)[1] if ch.call is not None else ""


def _no_answer(core: Core, call: Call, ch: Channel, peer: Channel | None) -> None:
    """handle_timeout_trip: cause 19, no terminal Dial event."""
    call.outcome = "noanswer"
    if peer is not None and peer.alive:
        core.publish(peer, ev.hangup_request(peer, NO_ANSWER))
        core.publish(peer, ev.hangup_request(peer, 16, soft=True))
        core.teardown(peer, NO_ANSWER, cascade_peer=False)
    core.teardown(ch, NO_ANSWER)


OUTCOMES = {17: "busy", 34: "congestion", 21: "rejected", 1: "unallocated"}


def _refused(core: Core, call: Call, ch: Channel, peer: Channel | None, cause: int) -> None:
    call.outcome = OUTCOMES.get(cause, "failed")
    if peer is not None:
        peer.dialplan = replace(peer.dialplan, priority=peer.dialplan.priority + (1 if peer.dialplan.app_name else 0),
                                app_name="Hangup", app_data=str(cause))
        core.publish(peer, ev.dialplan(peer))
        core.publish(peer, ev.hangup_request(peer, 16, soft=True))
    core.publish(ch, ev.hangup_request(ch, cause))
    if peer is not None:
        core.teardown(peer, cause, cascade_peer=False)
    core.publish(ch, ev.dial(ch, dialstatus(cause), _dialstring(ch)))
    core.teardown(ch, cause)


async def _answer(core: Core, call: Call, ch: Channel, peer: Channel | None, callee: Human, req: Originate) -> None:
    if peer is not None:
        peer.dialplan = replace(peer.dialplan, priority=peer.dialplan.priority + (1 if peer.dialplan.app_name else 0),
                                app_name="Answer", app_data="")
        core.publish(peer, ev.dialplan(peer))
        core.set_state(peer, "Up")
    core.set_state(ch, "Up")
    core.publish(ch, ev.dial(ch, "ANSWER", _dialstring(ch)))
    call.outcome = "answered"
    call.answered_at = time.monotonic()
    core.start_line(ch, callee)
    if req.app is None:
        # dialplan origination (extension=...): not simulated; the dialplan ends at once
        core.teardown(ch, 16)
        return
    app_data = ",".join([req.app, req.app_args]) if req.app_args else req.app
    if core.enter_stasis(ch, req.app, call.args, app_data):
        await run_party(core, ch, callee)


# -- inbound ------------------------------------------------------------------------------


def inbound(core: Core, caller_number: str, exten: str, callee: Human, *, app: str, context: str, trunk: str) -> Call:
    """A call reaching ``Stasis(app,inbound,<caller>,<exten>)`` from a PJSIP trunk: the channel
    is in state Ring; the app answers it with POST /answer."""
    no = core.next_chan_no()
    args = ["inbound", caller_number, exten]
    ch = Channel(core.new_id(), f"PJSIP/{trunk}-{no:08x}", "PJSIP", state="Ring",
                 caller=CallerId("", caller_number), dialplan=Dialplan(context, exten, 1))
    call = Call(f"PJSIP/{trunk}", ch.id, callee, "inbound", args)
    core.calls.append(call)
    core.register(ch, call)

    async def arrive() -> None:
        await asyncio.sleep(0)
        if not core.enter_stasis(ch, app, args):
            call.outcome = "failed"

    core.spawn(arrive(), call, name=f"inbound-{ch.id}")
    return call


async def answer(core: Core, ch: Channel) -> None:
    """POST /channels/{id}/answer, run on the channel's control queue."""
    if ch.state == "Up":
        return
    core.set_state(ch, "Up")
    call = ch.call
    if call is not None and call.channel_id == ch.id and ch.line is None:
        call.outcome = "answered"
        call.answered_at = time.monotonic()
        party = call.callee if isinstance(call.callee, Human) else Human(echo_db=None)
        core.start_line(ch, party)
        core.spawn(run_party(core, ch, party), call, name=f"party-{ch.id}")


# -- snoop ------------------------------------------------------------------------------


def snoop(core: Core, target: Channel, spy: str, whisper: str, app: str, app_args: str,
          snoop_id: str | None) -> Channel:
    if snoop_id and snoop_id in core.channels:
        raise AriError(500, "Snoop channel could not be created")
    ch = Channel(snoop_id or core.new_id(), f"Snoop/{target.id}-{next(core._snoop_counter):08x}", "Snoop",
                 state="Up", app=app)
    ch.snoop_of, ch.spy, ch.whisper = target, spy, whisper
    args = app_args.split(",") if app_args else []
    ch.label = args[0] if args else ""
    target.snoops.append(ch)
    core.register(ch, target.call)

    async def start() -> None:
        await asyncio.sleep(0)
        core.enter_stasis(ch, app, args)

    core.spawn(start(), target.call, name=f"snoop-{ch.id}")
    return ch


# -- externalMedia -------------------------------------------------------------------------


@dataclass
class ExternalMedia:
    app: str
    external_host: str
    fmt: str
    data: str
    channel_id: str | None = None
    variables: dict[str, str] | None = None


async def external_media(core: Core, req: ExternalMedia) -> Channel:
    """AudioSocket over TCP: Asterisk connects inside the request (facts §2.2)."""
    try:
        call_uuid = uuid.UUID(req.data)
    except ValueError:
        raise AriError(500, GENERIC_500) from None  # audiosocket_request: bad UUID -> failure
    if req.fmt not in FORMATS:
        raise AriError(500, GENERIC_500)  # "Provided format (x) was not found", then overwritten
    if req.channel_id and req.channel_id in core.channels:
        raise AriError(500, GENERIC_500)
    if core.faults.external_media_status is not None:
        raise AriError(core.faults.external_media_status, GENERIC_500)
    host, _, port = req.external_host.rpartition(":")
    host = host.strip("[]")
    ch = Channel(req.channel_id or core.new_id(), f"AudioSocket/{req.external_host}-{req.data}", "AudioSocket",
                 app=req.app, explicit=True, dialplan=replace(ORIGINATED))
    ch.home_dialplan = replace(ch.dialplan)
    ch.variables.update(req.variables or {})
    ch.variables.update(AUDIOSOCKET_SERVICE=req.external_host, AUDIOSOCKET_UUID=req.data)
    if not core.faults.audiosocket_never_connects:
        leg = AudioSocketLeg(host, int(port), call_uuid, req.fmt, lambda why: core.audiosocket_lost(ch, why),
                             core.track)
        try:
            await leg.connect()
        except (OSError, TimeoutError) as exc:
            log.warning("externalMedia: connection to %s failed: %s", req.external_host, exc)
            raise AriError(500, GENERIC_500) from None
        ch.leg = leg
    core.register(ch)
    core.spawn(_answer_external(core, ch, req), name=f"external-{ch.id}")
    return ch


async def _answer_external(core: Core, ch: Channel, req: ExternalMedia) -> None:
    await asyncio.sleep(0)
    if core.faults.audiosocket_uuid_delay:
        await asyncio.sleep(core.faults.audiosocket_uuid_delay)
    if not ch.alive:
        return
    if ch.leg is not None:
        ch.leg.start()  # audiosocket_call: the UUID, then the channel answers
    dialstring = f"{req.external_host}/{req.data}"
    core.publish(ch, ev.dial(ch, "", dialstring))
    core.set_state(ch, "Up")
    core.publish(ch, ev.dial(ch, "ANSWER", dialstring))
    core.enter_stasis(ch, req.app, [req.data])


# -- continue ------------------------------------------------------------------------------


async def continue_in_dialplan(core: Core, ch: Channel, context: str, exten: str, priority: int) -> None:
    """Runs on the control queue: the channel leaves Stasis for the dialplan. The AMD context
    is simulated (AMD() then Stasis(app,amd,STATUS,CAUSE)); any other dialplan just ends."""
    app = ch.app
    core.leave_stasis(ch)
    ch.dialplan = Dialplan(context, exten, priority)
    call = ch.call
    if context in core.settings.amd_contexts and app is not None:
        core.spawn(_amd(core, ch, app), call, name=f"amd-{ch.id}")
    else:
        core.spawn(core._hangup_soon(ch, 16), call)


async def _amd(core: Core, ch: Channel, app: str) -> None:
    target = ch.snoop_of or ch
    call = target.call
    party = call.callee if call is not None and isinstance(call.callee, Human) else Human()
    direct = ch.snoop_of is None
    status, cause, after = (*party.amd_direct, party.amd_direct_after) if direct else party.amd_answer()
    ch.dialplan = replace(ch.dialplan, app_name="AMD", app_data="")
    core.publish(ch, ev.dialplan(ch))
    await asyncio.sleep(core.scaled(after))
    if not ch.alive:
        return
    core.set_var(ch, "AMDSTATUS", status)
    core.set_var(ch, "AMDCAUSE", cause)
    args = ["amd", status, cause]
    ch.dialplan = replace(ch.dialplan, priority=ch.dialplan.priority + 1)
    if call is not None:
        call.amd = (status, cause)
    if direct:
        ch.dialplan = replace(ch.dialplan, app_name="Stasis", app_data=",".join([app, *args]))
        core.publish(ch, ev.dialplan(ch))
    core.enter_stasis(ch, app, args)
