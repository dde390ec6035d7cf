"""A bare ARI client for driving the simulator in tests and scripts: REST calls and the event
stream, nothing else (no reconnects, no call logic; MiniBot's own client lives in ``ari``)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

import aiohttp

Event = dict[str, Any]


def event_id(event: Event) -> str | None:
    """The id an event is about: its channel (Dial: the peer), playback, recording or bridge."""
    for key in ("channel", "peer", "playback", "bridge"):
        if isinstance(event.get(key), dict):
            return event[key]["id"]
    if isinstance(event.get("recording"), dict):
        return event["recording"]["name"]
    return None


class AriProbe:
    def __init__(self, url: str, username: str, password: str, app: str = "minibot") -> None:
        self.url = url.rstrip("/")
        self.app = app
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._auth = {"Authorization": f"Basic {token}"}
        self.events: list[Event] = []
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    @classmethod
    def for_sim(cls, sim: Any, app: str | None = None) -> AriProbe:
        user, password = next(iter(sim.users.items()))
        return cls(sim.url, user, password, app or sim.app)

    async def __aenter__(self) -> AriProbe:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(headers=self._auth)
        ws_url = self.url.replace("http://", "ws://", 1) + f"/events?app={self.app}"
        self._ws = await self._http.ws_connect(ws_url)
        self._reader = asyncio.get_running_loop().create_task(self._read(self._ws), name="probe-events")

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed and self._reader is not None and not self._reader.done()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(msg.data))
                self._arrived.set()
                self._arrived = asyncio.Event()

    async def wait_closed(self, timeout: float = 5.0) -> None:
        """Until the server cut the event stream."""
        assert self._reader is not None
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._reader)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def rest(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> tuple[int, Any]:
        assert self._http is not None, "connect() first"
        async with self._http.request(method, self.url + path, params=params, json=body) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text) if text else ""
            except ValueError:
                return resp.status, text

    # -- waiting for events ------------------------------------------------------------------

    def find(self, type_: str | None = None, id_: str | None = None, *, since: int = 0,
             where: Callable[[Event], bool] | None = None) -> list[Event]:
        return [
            e
            for e in self.events[since:]
            if (type_ is None or e["type"] == type_)
            and (id_ is None or event_id(e) == id_)
            and (where is None or where(e))
        ]

    async def wait_for(self, type_: str | None = None, id_: str | None = None, *, since: int = 0, count: int = 1,
                       where: Callable[[Event], bool] | None = None, timeout: float = 5.0) -> Event:
        """The ``count``-th matching event at or after index ``since`` (waiting for it)."""
        async with asyncio.timeout(timeout):
            while True:
                found = self.find(type_, id_, since=since, where=where)
                if len(found) >= count:
                    return found[count - 1]
                await self._arrived.wait()

    def of(self, id_: str) -> list[Event]:
        return [e for e in self.events if event_id(e) == id_]

    def types(self, id_: str) -> list[str]:
        return [e["type"] for e in self.of(id_)]
