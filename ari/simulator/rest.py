"""ARI over HTTP: authentication, routing and the REST resources the simulator implements.

Order of checks as res/res_ari.c: authenticate (401 + WWW-Authenticate), trailing slash
(404 "ARI URLs do not end with a slash"), route (404 "Resource not found"), method (405).
Parameters come from the query string or a JSON body (ARI's *_parse_body); the body may also
carry "variables". Error bodies are ``{"message": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from . import dialing
from .audio import RECORD_FORMATS, SOUND_FORMATS
from .bus import WsSession
from .causes import HANGUP_REASONS
from .core import AriError, Core
from .model import ASTERISK_ID, Bridge, Channel, ast_timestamp
from .recording import LiveRecording

if TYPE_CHECKING:
    from .server import SimulatedAsterisk

log = logging.getLogger(__name__)

REALM = "Asterisk REST Interface"
VERSION = "22.11.0-rc1 (simulated)"


@dataclass
class Req:
    request: web.Request
    path: dict[str, str]
    params: dict[str, str]
    variables: dict[str, str] | None

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.params.get(name)
        return default if value is None or value == "" else value

    def int(self, name: str, default: int = 0) -> int:
        try:
            return int(self.params.get(name) or default)
        except ValueError:
            return default  # the generated parsers use atoi

    def bool(self, name: str) -> bool:
        return (self.params.get(name) or "").lower() in ("1", "true", "yes", "on")


Handler = Callable[[Req], Awaitable[web.StreamResponse]]


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json", headers=headers)


def no_content() -> web.Response:
    return web.Response(status=204)


def error(status: int, message: str, body: dict[str, Any] | None = None) -> web.Response:
    return ok(body if body is not None else {"message": message}, status)


# What Asterisk's HTTP server answers to every request while `core stop` runs (captured live).
SHUTDOWN_PAGE = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html><head>
<title>503 Service Unavailable</title>
</head><body>
<h1>Service Unavailable</h1>
<p>Shutdown in progress</p>
<hr />
<address>Asterisk</address>
</body></html>
"""

# Swagger resources the simulator knows of but does not simulate: 501, not a misleading 404.
NOT_SIMULATED = re.compile(
    r"^(channels/create|channels/[^/]+/(move|redirect|progress|dtmf|mute|hold|moh|silence|dial|"
    r"rtp_statistics|transfer_progress|variables)|bridges/[^/]+/(record|moh|videoSource|variable|"
    r"variables)(/.*)?|playbacks/[^/]+/control|recordings/live/[^/]+/(pause|mute)|recordings/stored/[^/]+/copy|"
    r"endpoints(/.*)?|deviceStates(/.*)?|sounds(/.*)?|applications(/.*)?|mailboxes(/.*)?|"
    r"asterisk/(modules|logging|config|variable)(/.*)?)$"
)


class AriRest:
    def __init__(self, sim: SimulatedAsterisk) -> None:
        self.sim = sim
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = []
        r = self._route
        r("asterisk/info", GET=self.asterisk_info)
        r("asterisk/ping", GET=self.asterisk_ping)
        r("events", GET=self.events)
        r("applications/{applicationName}", GET=self.get_application)
        r("channels", GET=self.list_channels, POST=self.originate)
        r("channels/externalMedia", POST=self.external_media)
        r("channels/{channelId}", GET=self.get_channel, POST=self.originate, DELETE=self.hangup)
        r("channels/{channelId}/continue", POST=self.continue_)
        r("channels/{channelId}/answer", POST=self.answer)
        r("channels/{channelId}/ring", POST=self.ring, DELETE=self.ring)
        r("channels/{channelId}/play", POST=self.play)
        r("channels/{channelId}/play/{playbackId}", POST=self.play)
        r("channels/{channelId}/record", POST=self.record)
        r("channels/{channelId}/snoop", POST=self.snoop)
        r("channels/{channelId}/snoop/{snoopId}", POST=self.snoop)
        r("channels/{channelId}/variable", GET=self.get_var, POST=self.set_var)
        r("bridges", GET=self.list_bridges, POST=self.create_bridge)
        r("bridges/{bridgeId}", GET=self.get_bridge, POST=self.create_bridge, DELETE=self.destroy_bridge)
        r("bridges/{bridgeId}/addChannel", POST=self.add_channel)
        r("bridges/{bridgeId}/removeChannel", POST=self.remove_channel)
        r("bridges/{bridgeId}/play", POST=self.play_on_bridge)
        r("bridges/{bridgeId}/play/{playbackId}", POST=self.play_on_bridge)
        r("playbacks/{playbackId}", GET=self.get_playback, DELETE=self.stop_playback)
        r("recordings/live/{recordingName}", GET=self.get_live, DELETE=self.cancel_live)
        r("recordings/live/{recordingName}/stop", POST=self.stop_live)
        r("recordings/stored", GET=self.list_stored)
        r("recordings/stored/{recordingName}", GET=self.get_stored, DELETE=self.delete_stored)
        r("recordings/stored/{recordingName}/file", GET=self.stored_file)

    def _route(self, template: str, **methods: Handler) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self.routes.append((re.compile(f"^{pattern}$"), methods))

    @property
    def core(self) -> Core:
        return self.sim.core

    # -- entry point ---------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/ari/"):
            return web.Response(status=404, text="Not Found")
        if self.sim.stopping == "unavailable":
            return web.Response(status=503, text=SHUTDOWN_PAGE, content_type="text/html")
        if not self._authenticated(request):
            return ok({"message": "Authentication required"}, 401, {"WWW-Authenticate": f'Basic realm="{REALM}"'})
        # match on the raw path so that an encoded "/" (a recording name "calls%2Fc1") stays
        # inside its segment
        uri = request.rel_url.raw_path[len("/ari/") :]
        if uri.endswith("/"):
            return error(404, f"ARI URLs do not end with a slash. Try /ari/{uri.rstrip('/')}")
        for pattern, methods in self.routes:
            match = pattern.match(uri)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                return ok({"message": "Invalid method"}, 405, {"Allow": ",".join(methods)})
            try:
                req = await self._req(request, {k: unquote(v) for k, v in match.groupdict().items()})
                return await handler(req)
            except AriError as exc:
                return error(exc.status, str(exc), exc.body)
        if NOT_SIMULATED.match(uri):
            return error(501, "Not simulated by ari.simulator")
        return error(404, "Resource not found")

    def _authenticated(self, request: web.Request) -> bool:
        users = self.sim.users
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return users.get(user) == password
        for key in request.query.getall("api_key", []):
            user, _, password = key.partition(":")
            if users.get(user) == password:
                return True
        return False

    @staticmethod
    async def _req(request: web.Request, path: dict[str, str]) -> Req:
        params = {k: v for k, v in request.query.items()}  # a repeated key keeps its last value
        variables = None
        if request.can_read_body and request.method != "GET":
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise AriError(400, "Failed to parse request body") from None
                if isinstance(body, dict):
                    for key, value in body.items():
                        if key == "variables" and isinstance(value, dict):
                            variables = {
                                k: str(v.get("value", "")) if isinstance(v, dict) else str(v) for k, v in value.items()
                            }
                        elif not isinstance(value, dict | list):
                            params[key] = str(value).lower() if isinstance(value, bool) else str(value)
        return Req(request, path, params, variables)

    # -- asterisk ------------------------------------------------------------------------

    async def asterisk_info(self, req: Req) -> web.Response:
        started = ast_timestamp(self.core.started)
        return ok({
            "build": {"os": "Linux", "kernel": "", "machine": "x86_64", "options": "", "date": "", "user": ""},
            "system": {"version": VERSION, "entity_id": ASTERISK_ID},
            "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}},
            "status": {"startup_time": started, "last_reload_time": started},
        })

    async def asterisk_ping(self, req: Req) -> web.Response:
        return ok({"asterisk_id": ASTERISK_ID, "ping": "pong", "timestamp": ast_timestamp()})

    async def get_application(self, req: Req) -> web.Response:
        """The app as Asterisk lists it once an event socket registered it (real Asterisk also keeps
        an app whose socket closed while it still has channels; the simulator forgets it)."""
        name = req.path["applicationName"]
        if not self.sim.bus.active(name):
            raise AriError(404, "Application not found")
        ids = [c.id for c in self.core.channels.values() if c.alive and c.app == name]
        return ok({"name": name, "channel_ids": ids, "bridge_ids": [], "endpoint_ids": [], "device_names": [],
                   "events_allowed": [], "events_disallowed": []})

    # -- events websocket ------------------------------------------------------------------

    async def events(self, req: Req) -> web.StreamResponse:
        apps = [a for a in (req.get("app") or "").split(",") if a]
        if not apps:
            return error(400, "HTTP request is missing param: [app]")
        ws = web.WebSocketResponse(autoping=True)
        if not ws.can_prepare(req.request).ok:
            return error(400, "Bad Request: not a websocket upgrade")
        await ws.prepare(req.request)
        session = WsSession(req.request, ws, apps)
        self.sim.bus.register(session)
        try:
            async for _ in ws:
                pass  # REST over the websocket (22.x) is not simulated
        finally:
            self.sim.bus.unregister(session)
            await session.aclose(graceful=False)
        return ws

    # -- channels ----------------------------------------------------------------------------

    def _channel(self, channel_id: str) -> Channel:
        ch = self.core.channel(channel_id)
        if ch is None:
            raise AriError(404, "Channel not found")
        return ch

    async def list_channels(self, req: Req) -> web.Response:
        return ok([c.to_json() for c in self.core.channels.values() if c.alive])

    async def get_channel(self, req: Req) -> web.Response:
        return ok(self._channel(req.path["channelId"]).to_json())

    async def originate(self, req: Req) -> web.Response:
        if self.core.faults.originate_status is not None:
            raise AriError(self.core.faults.originate_status, "Allocation failed")
        if self.sim.stopping == "allocation":  # a stopping core allocates no channel
            raise AriError(500, "Allocation failed", {"error": "Allocation failed"})
        if req.get("originator") and req.get("formats"):
            raise AriError(400, "Originator and formats can't both be specified")
        if not req.get("endpoint"):
            raise AriError(400, "Endpoint must be specified")
        ch = dialing.originate(self.core, dialing.Originate(
            endpoint=req.get("endpoint") or "",
            app=req.get("app"),
            app_args=req.get("appArgs", "") or "",
            extension=req.get("extension"),
            caller_id=req.get("callerId"),
            timeout=req.int("timeout", 30),
            channel_id=req.path.get("channelId") or req.get("channelId"),
            other_channel_id=req.get("otherChannelId"),
            variables=req.variables,
        ))
        return ok(ch.to_json())

    async def external_media(self, req: Req) -> web.Response:
        app = req.get("app")
        if not app:
            raise AriError(400, "app cannot be empty")
        transport = req.get("transport", "udp")
        encapsulation = req.get("encapsulation", "rtp")
        if transport == "websocket" and encapsulation != "none":
            raise AriError(400, "encapsulation must be 'none' for websocket transport")
        if encapsulation == "rtp" and transport != "udp":
            raise AriError(400, "transport must be 'udp' for rtp encapsulation")
        if encapsulation == "audiosocket" and transport != "tcp":
            raise AriError(400, "transport must be 'tcp' for audiosocket encapsulation")
        if transport != "websocket" and req.get("connection_type") == "server":
            raise AriError(400, "'server' connection_type can only be used with the websocket transport")
        host = req.get("external_host")
        if not host:
            raise AriError(400, "external_host is required for all but websocket server connections")
        if not re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]+):\d+", host):
            raise AriError(400, "external_host must be <host>:<port> for all transports other than websocket")
        fmt = req.get("format")
        if not fmt:
            raise AriError(400, "format cannot be empty")
        if req.get("direction") not in (None, "both", "in", "out"):
            raise AriError(400, "Invalid direction specified")
        if encapsulation != "audiosocket":
            raise AriError(501, "The encapsulation and/or transport is not supported by the simulator")
        data = req.get("data")
        if not data:
            raise AriError(400, "data can not be empty")
        ch = await dialing.external_media(self.core, dialing.ExternalMedia(
            app=app, external_host=host, fmt=fmt, data=data, channel_id=req.get("channelId"),
            variables=req.variables,
        ))
        body = ch.to_json()
        body["channelvars"] = {"AUDIOSOCKET_SERVICE": host, "AUDIOSOCKET_UUID": data}
        return ok(body)

    async def hangup(self, req: Req) -> web.Response:
        ch = self._channel(req.path["channelId"])
        reason, code = req.get("reason"), req.get("reason_code")
        if reason and code:
            raise AriError(400, "The reason and reason_code can't both be specified")
        cause = 16
        if code:
            try:
                cause = int(code)
            except ValueError:
                raise AriError(400, "Invalid reason for hangup reason code provided") from None
        elif reason:
            if reason not in HANGUP_REASONS:
                raise AriError(400, "Invalid reason for hangup reason provided")
            cause = HANGUP_REASONS[reason]
        self.core.hangup_request(ch, cause)
        return no_content()

    async def continue_(self, req: Req) -> web.Response:
        ch, control = self.core.control_of(req.path["channelId"])
        self.core.check_state(ch)
        context = req.get("context")
        if context is None:
            context, exten = ch.dialplan.context, req.get("extension") or ch.dialplan.exten
        else:
            exten = req.get("extension") or "s"
        label = req.get("label")
        if label is not None:
            if not label.isdigit():
                raise AriError(404, "Requested label can not be found")
            priority = int(label)
        elif req.int("priority"):
            priority = req.int("priority")
        elif req.get("context") is None and req.get("extension") is None:
            priority = ch.dialplan.priority + 1
        else:
            priority = 1
        if priority <= 0:
            raise AriError(400, "Requested priority is illegal")
        control.submit(lambda: dialing.continue_in_dialplan(self.core, ch, context, exten, priority))
        return no_content()

    async def answer(self, req: Req) -> web.Response:
        ch, control = self.core.control_of(req.path["channelId"])
        self.core.check_state(ch)
        await self.core.in_control(control, lambda: dialing.answer(self.core, ch))
        return no_content()

    async def ring(self, req: Req) -> web.Response:
        ch, _ = self.core.control_of(req.path["channelId"])
        self.core.check_state(ch)
        return no_content()  # indications are not simulated

    async def play(self, req: Req) -> web.Response:
        ch, _ = self.core.control_of(req.path["channelId"])
        self.core.check_state(ch)
        if req.int("skipms", 3000) < 0:
            raise AriError(400, "skipms cannot be negative")
        if req.int("offsetms") < 0:
            raise AriError(400, "offsetms cannot be negative")
        media = req.params.get("media")
        medias = media.split(",") if media is not None else []
        if not medias or any(not m for m in medias):
            raise AriError(500, "Failed to queue media for playback")
        playback_id = req.path.get("playbackId") or req.get("playbackId")
        pb = self.core.play(ch, medias, req.get("lang") or ch.language, playback_id, req.int("offsetms"))
        return ok(pb.to_json(), 201, {"Location": f"/playbacks/{pb.id}"})

    async def play_on_bridge(self, req: Req) -> web.Response:
        bridge = self._bridge(req.path["bridgeId"])
        if req.int("skipms", 3000) < 0:
            raise AriError(400, "skipms cannot be negative")
        if req.int("offsetms") < 0:
            raise AriError(400, "offsetms cannot be negative")
        medias = (req.params.get("media") or "").split(",")
        if not all(medias):
            raise AriError(400, "media: Missing required parameter")
        playback_id = req.path.get("playbackId") or req.get("playbackId")
        pb = self.core.play_on_bridge(bridge, medias, req.get("lang") or "en", playback_id, req.int("offsetms"))
        return ok(pb.to_json(), 201, {"Location": f"/playbacks/{pb.id}"})

    async def record(self, req: Req) -> web.Response:
        if req.int("maxDurationSeconds") < 0:
            raise AriError(400, "max_duration_seconds cannot be negative")
        if req.int("maxSilenceSeconds") < 0:
            raise AriError(400, "max_silence_seconds cannot be negative")
        ch, control = self.core.control_of(req.path["channelId"])
        name, fmt_name = req.get("name"), req.get("format")
        if not name or not fmt_name:
            raise AriError(500, "Error parsing request")
        terminate = req.get("terminateOn", "none")
        if terminate not in ("none", "any", "*", "#") and not (terminate and terminate in "0123456789"):
            raise AriError(400, "terminateOn invalid")
        if_exists = req.get("ifExists", "fail")
        if if_exists not in ("fail", "overwrite", "append"):
            raise AriError(400, "ifExists invalid")
        fmt = RECORD_FORMATS.get(fmt_name)
        if fmt is None:
            raise AriError(422, "specified format is unknown on this system")
        base = self.sim.recordings_dir.resolve()
        path = (base / f"{name}.{fmt_name}").resolve()
        if not path.is_relative_to(base):
            raise AriError(400, "Recording name invalid")
        if name in self.core.recordings:
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        if if_exists == "fail" and _stored_exists(base / name):
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        rec = LiveRecording(name, fmt, fmt_name, ch, path, req.int("maxDurationSeconds"),
                            req.int("maxSilenceSeconds"))
        self.core.recordings[name] = rec
        control.submit(lambda: self.core.run_recording(rec), tag=rec)
        return ok(rec.to_json(), 201, {"Location": f"/recordings/live/{name}"})

    async def snoop(self, req: Req) -> web.Response:
        spy, whisper = req.get("spy", "none"), req.get("whisper", "none")
        if spy not in ("none", "both", "out", "in"):
            raise AriError(400, "Invalid direction specified for spy")
        if whisper not in ("none", "both", "out", "in"):
            raise AriError(400, "Invalid direction specified for whisper")
        if spy == "none" and whisper == "none":
            raise AriError(400, "Direction must be specified for at least spy or whisper")
        app = req.get("app")
        if not app:
            raise AriError(400, "Application name is required")
        target = self.core.channel(req.path["channelId"])
        if target is None:
            raise AriError(404, "Provided channel was not found")
        snoop_id = req.path.get("snoopId") or req.get("snoopId")
        ch = dialing.snoop(self.core, target, spy, whisper, app, req.get("appArgs", "") or "", snoop_id)
        return ok(ch.to_json())

    async def get_var(self, req: Req) -> web.Response:
        name = req.get("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        ch = self.core.channel(req.path["channelId"])
        if ch is None:
            raise AriError(404, "Provided channel was not found")
        if name not in ch.variables:
            raise AriError(404, "Provided variable was not found")
        return ok({"value": ch.variables[name]})

    async def set_var(self, req: Req) -> web.Response:
        name = req.get("variable")
        if not name:
            raise AriError(400, "Variable name is required")
        ch, control = self.core.control_of(req.path["channelId"])
        value = req.params.get("value", "")

        async def set_it() -> None:
            self.core.set_var(ch, name, value)

        # Like every channel command, it waits its turn on the control queue: behind a channel
        # playback, until that ends (a bridged channel's bridge playback does not hold it).
        await self.core.in_control(control, set_it)
        return no_content()

    # -- bridges -----------------------------------------------------------------------------

    def _bridge(self, bridge_id: str) -> Bridge:
        bridge = self.core.bridges.get(bridge_id)
        if bridge is None:
            raise AriError(404, "Bridge not found")
        return bridge

    async def list_bridges(self, req: Req) -> web.Response:
        return ok([b.to_json() for b in self.core.bridges.values()])

    async def get_bridge(self, req: Req) -> web.Response:
        return ok(self._bridge(req.path["bridgeId"]).to_json())

    async def create_bridge(self, req: Req) -> web.Response:
        bridge_id = req.path.get("bridgeId") or req.get("bridgeId")
        bridge = self.core.create_bridge(bridge_id, req.get("type", "mixing") or "mixing", req.get("name", "") or "",
                                         self.sim.app)
        return ok(bridge.to_json())

    async def destroy_bridge(self, req: Req) -> web.Response:
        self.core.destroy_bridge(self._bridge(req.path["bridgeId"]))
        return no_content()

    def _bridge_channels(self, req: Req) -> list[Channel]:
        names = [c for c in (req.get("channel") or "").split(",") if c]
        if not names:
            raise AriError(400, "Missing parameter channel")
        out = []
        for name in names:
            ch = self.core.channel(name)
            if ch is None:
                raise AriError(400, "Channel not found")
            if not ch.in_stasis or ch.control is None:
                raise AriError(422, "Channel not in Stasis application")
            out.append(ch)
        return out

    async def add_channel(self, req: Req) -> web.Response:
        bridge = self._bridge(req.path["bridgeId"])
        channels = self._bridge_channels(req)
        for ch in channels:
            if ch.recording is not None:
                raise AriError(409, f"Channel {ch.id} currently recording")
        for ch in channels:
            assert ch.control is not None

            async def add(ch: Channel = ch) -> None:
                self.core.add_to_bridge(bridge, ch)

            await self.core.in_control(ch.control, add)
        self.core.update_bridgepeers(bridge)
        return no_content()

    async def remove_channel(self, req: Req) -> web.Response:
        bridge = self._bridge(req.path["bridgeId"])
        channels = self._bridge_channels(req)
        for ch in channels:
            if ch.bridge is not bridge:
                raise AriError(422, "Channel not in this bridge")
        for ch in channels:
            self.core.leave_bridge(ch)
        return no_content()

    # -- playbacks -----------------------------------------------------------------------------

    async def get_playback(self, req: Req) -> web.Response:
        pb = self.core.playbacks.get(req.path["playbackId"])
        if pb is None:
            raise AriError(404, "Playback not found")
        return ok(pb.to_json())

    async def stop_playback(self, req: Req) -> web.Response:
        pb = self.core.playbacks.get(req.path["playbackId"])
        if pb is None:
            raise AriError(404, "Playback not found")
        if not pb.stop():
            raise AriError(500, "Could not stop playback")
        return no_content()

    # -- recordings ----------------------------------------------------------------------------

    def _live(self, name: str) -> LiveRecording:
        rec = self.core.recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        return rec

    async def get_live(self, req: Req) -> web.Response:
        return ok(self._live(req.path["recordingName"]).to_json())

    async def stop_live(self, req: Req) -> web.Response:
        self._live(req.path["recordingName"]).stop()
        return no_content()

    async def cancel_live(self, req: Req) -> web.Response:
        self._live(req.path["recordingName"]).cancel()
        return no_content()

    def _stored(self) -> dict[str, Path]:
        base = self.sim.recordings_dir
        out: dict[str, Path] = {}
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                ext = path.name.rsplit(".", 1)[-1]
                if path.is_file() and ext in RECORD_FORMATS:
                    out[str(path.relative_to(base))[: -len(ext) - 1]] = path
        return out

    async def list_stored(self, req: Req) -> web.Response:
        return ok([{"name": n, "format": p.name.rsplit(".", 1)[-1]} for n, p in self._stored().items()])

    def _stored_one(self, name: str) -> Path:
        path = self._stored().get(name)
        if path is None:
            raise AriError(404, "Recording not found")
        return path

    async def get_stored(self, req: Req) -> web.Response:
        path = self._stored_one(req.path["recordingName"])
        return ok({"name": req.path["recordingName"], "format": path.name.rsplit(".", 1)[-1]})

    async def delete_stored(self, req: Req) -> web.Response:
        self._stored_one(req.path["recordingName"]).unlink()
        return no_content()

    async def stored_file(self, req: Req) -> web.Response:
        path = self._stored_one(req.path["recordingName"])
        kind = "audio/wav" if path.suffix.startswith(".wav") else "application/octet-stream"
        return web.Response(body=path.read_bytes(), content_type=kind)


def _stored_exists(base: Path) -> bool:
    return any(Path(f"{base}.{f.ext}").exists() for f in SOUND_FORMATS)
