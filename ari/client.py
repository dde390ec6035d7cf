"""A thin async ARI REST client on aiohttp.

Every request the client can make is declared in ``ROUTES`` (method, path template and the
parameter names as the official API description spells them); ``_call`` refuses any other
parameter, so the contract test that checks ROUTES against the description covers the
whole client. Credentials travel in the Authorization header, never in a query string.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from .errors import AriUnavailable, http_error
from .models import Bridge, Channel, LiveRecording, Playback


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    query: frozenset[str] = frozenset()
    body: bool = False  # JSON body with "variables"


def _r(method: str, path: str, *query: str, body: bool = False) -> Route:
    return Route(method, path, frozenset(query), body)


_ORIGINATE = ("endpoint", "app", "appArgs", "callerId", "timeout", "channelId", "otherChannelId",
              "originator", "formats", "context", "extension", "priority", "label")

ROUTES: dict[str, Route] = {
    "info": _r("GET", "/asterisk/info", "only"),
    "get_application": _r("GET", "/applications/{applicationName}"),
    "originate": _r("POST", "/channels", *_ORIGINATE, body=True),
    "list_channels": _r("GET", "/channels"),
    "get_channel": _r("GET", "/channels/{channelId}"),
    "hangup": _r("DELETE", "/channels/{channelId}", "reason", "reason_code"),
    "answer": _r("POST", "/channels/{channelId}/answer"),
    "continue_in_dialplan": _r("POST", "/channels/{channelId}/continue", "context", "extension", "priority", "label"),
    "snoop": _r("POST", "/channels/{channelId}/snoop", "spy", "whisper", "app", "appArgs", "snoopId"),
    "external_media": _r("POST", "/channels/externalMedia", "app", "external_host", "encapsulation", "transport",
                         "format", "data", "channelId", "direction", "connection_type", body=True),
    "play": _r("POST", "/channels/{channelId}/play", "media", "lang", "offsetms", "skipms", "playbackId"),
    "stop_playback": _r("DELETE", "/playbacks/{playbackId}"),
    "record": _r("POST", "/channels/{channelId}/record", "name", "format", "maxDurationSeconds",
                 "maxSilenceSeconds", "ifExists", "beep", "terminateOn"),
    "stop_recording": _r("POST", "/recordings/live/{recordingName}/stop"),
    "set_variable": _r("POST", "/channels/{channelId}/variable", "variable", "value"),
    "get_variable": _r("GET", "/channels/{channelId}/variable", "variable"),
    "create_bridge": _r("POST", "/bridges", "type", "bridgeId", "name"),
    "list_bridges": _r("GET", "/bridges"),
    "destroy_bridge": _r("DELETE", "/bridges/{bridgeId}"),
    "add_channel": _r("POST", "/bridges/{bridgeId}/addChannel", "channel", "role"),
    "remove_channel": _r("POST", "/bridges/{bridgeId}/removeChannel", "channel"),
    "play_on_bridge": _r("POST", "/bridges/{bridgeId}/play", "media", "lang", "offsetms", "skipms", "playbackId"),
}


@dataclass(frozen=True, slots=True)
class AriConfig:
    url: str = "http://127.0.0.1:8088/ari"
    username: str = "minibot"
    password: str = ""
    app: str = "minibot"
    request_timeout: float = 5.0

    def auth_headers(self) -> dict[str, str]:
        """HTTP Basic credentials, in a header (an api_key query string ends up in logs)."""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def __repr__(self) -> str:  # never print the password
        return f"AriConfig(url={self.url!r}, username={self.username!r}, app={self.app!r})"


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v)


class AriClient:
    """REST half of ARI. Use as an async context manager (owns its HTTP session)."""

    def __init__(self, config: AriConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AriClient:
        self._session = aiohttp.ClientSession(
            headers=self.config.auth_headers(), timeout=aiohttp.ClientTimeout(total=self.config.request_timeout))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("AriClient used outside 'async with'")
        return self._session

    async def _call(self, route_name: str, path_params: dict[str, str] | None = None, body: dict | None = None,
                    /, **query: Any) -> Any:
        route, name = ROUTES[route_name], route_name
        unknown = set(query) - route.query
        if unknown:
            raise ValueError(f"{name}: parameters not in the ARI description: {sorted(unknown)}")
        path = route.path.format(**(path_params or {}))
        params = {k: _query_value(v) for k, v in query.items() if v is not None}
        kwargs: dict[str, Any] = {"params": params}
        if body is not None and route.body:
            kwargs["json"] = body
        url = self.config.url.rstrip("/") + path
        try:
            async with self.session.request(route.method, url, **kwargs) as resp:
                text = await resp.text()
                if resp.status >= 400:
                    raise http_error(route.method, path, resp.status, _message(text))
                return json.loads(text) if text.strip() else None
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            why = f"{exc.__class__.__name__}: {exc}"
            # A refused connection never carried the request; a timeout or a reset may have.
            sent = not isinstance(exc, aiohttp.ClientConnectorError)
            raise AriUnavailable(f"{route.method} {path}: Asterisk unreachable ({why})", sent=sent) from exc

    # -- asterisk --------------------------------------------------------------------

    async def info(self) -> dict:
        return await self._call("info")

    async def application(self, name: str) -> dict:
        """The Stasis application as Asterisk holds it (AriNotFound when no event socket ever registered it)."""
        return await self._call("get_application", {"applicationName": name})

    # -- channels --------------------------------------------------------------------

    async def originate(self, endpoint: str, *, app: str | None = None, app_args: list[str] | None = None,
                        caller_id: str | None = None, timeout: int | None = None, channel_id: str | None = None,
                        other_channel_id: str | None = None, variables: dict[str, str] | None = None) -> Channel:
        body = {"variables": variables} if variables else None
        d = await self._call("originate", None, body, endpoint=endpoint, app=app or self.config.app,
                             appArgs=app_args, callerId=caller_id, timeout=timeout, channelId=channel_id,
                             otherChannelId=other_channel_id)
        return Channel.from_json(d)

    async def list_channels(self) -> list[Channel]:
        return [Channel.from_json(d) for d in await self._call("list_channels")]

    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.from_json(await self._call("get_channel", {"channelId": channel_id}))

    async def hangup(self, channel_id: str, *, reason: str | None = None) -> None:
        await self._call("hangup", {"channelId": channel_id}, reason=reason)

    async def answer(self, channel_id: str) -> None:
        await self._call("answer", {"channelId": channel_id})

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str = "s",
                                   priority: int = 1) -> None:
        await self._call("continue_in_dialplan", {"channelId": channel_id}, context=context,
                         extension=extension, priority=priority)

    async def snoop(self, channel_id: str, *, spy: str = "in", whisper: str | None = None,
                    app_args: list[str] | None = None, snoop_id: str | None = None) -> Channel:
        d = await self._call("snoop", {"channelId": channel_id}, spy=spy, whisper=whisper, app=self.config.app,
                             appArgs=app_args, snoopId=snoop_id)
        return Channel.from_json(d)

    async def external_media(self, *, external_host: str, data: str, format: str = "slin16",
                             channel_id: str | None = None) -> Channel:
        """An AudioSocket channel to ``external_host``; ``data`` is the session UUID."""
        d = await self._call("external_media", app=self.config.app, external_host=external_host,
                             encapsulation="audiosocket", transport="tcp", format=format, data=data,
                             channelId=channel_id)
        return Channel.from_json(d)

    async def play(self, channel_id: str, media: list[str], *, playback_id: str | None = None,
                   lang: str | None = None, offset_ms: int = 0) -> Playback:
        # Several items go comma-separated in one parameter (a repeated media= keeps the last).
        # offsetms skips into the first item only (ARI channels.json).
        d = await self._call("play", {"channelId": channel_id}, media=media, playbackId=playback_id, lang=lang,
                             offsetms=offset_ms or None)
        return Playback.from_json(d)

    async def stop_playback(self, playback_id: str) -> None:
        await self._call("stop_playback", {"playbackId": playback_id})

    async def record(self, channel_id: str, name: str, *, format: str = "wav", max_duration_s: int | None = None,
                     if_exists: str = "overwrite", beep: bool = False) -> LiveRecording:
        d = await self._call("record", {"channelId": channel_id}, name=name, format=format,
                             maxDurationSeconds=max_duration_s, ifExists=if_exists, beep=beep, terminateOn="none")
        return LiveRecording.from_json(d)

    async def stop_recording(self, name: str) -> None:
        await self._call("stop_recording", {"recordingName": name})

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        await self._call("set_variable", {"channelId": channel_id}, variable=variable, value=value)

    async def get_variable(self, channel_id: str, variable: str) -> str:
        d = await self._call("get_variable", {"channelId": channel_id}, variable=variable)
        return (d or {}).get("value", "")

    # -- bridges ---------------------------------------------------------------------

    async def create_bridge(self, *, bridge_id: str | None = None, type: str = "mixing") -> Bridge:
        return Bridge.from_json(await self._call("create_bridge", type=type, bridgeId=bridge_id))

    async def list_bridges(self) -> list[Bridge]:
        return [Bridge.from_json(d) for d in await self._call("list_bridges")]

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self._call("destroy_bridge", {"bridgeId": bridge_id})

    async def add_channels(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self._call("add_channel", {"bridgeId": bridge_id}, channel=channel_ids)

    async def remove_channels(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self._call("remove_channel", {"bridgeId": bridge_id}, channel=channel_ids)

    async def play_on_bridge(self, bridge_id: str, media: list[str], *, playback_id: str | None = None,
                             lang: str | None = None, offset_ms: int = 0) -> Playback:
        """Every member hears it, from an Announcer channel (needs chan_bridge_media). The members'
        own command queues stay free meanwhile (a channel playback holds its channel's)."""
        d = await self._call("play_on_bridge", {"bridgeId": bridge_id}, media=media, playbackId=playback_id,
                             lang=lang, offsetms=offset_ms or None)
        return Playback.from_json(d)


def _message(text: str) -> str:
    try:
        d = json.loads(text)
    except ValueError:
        # A stopping Asterisk answers 503 with an HTML page: keep its title, one line.
        title = re.search(r"<title>([^<]*)</title>", text, re.IGNORECASE)
        plain = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
        return " ".join(plain.split())[:200] or "(no body)"
    if isinstance(d, dict):  # ARI says {"message": ...}; a failed originate says {"error": "Allocation failed"}
        return str(d.get("message") or d.get("error") or d)
    return str(d)
