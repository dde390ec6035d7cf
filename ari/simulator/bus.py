"""Event WebSocket sessions and delivery: one active session per Stasis application.

As in Asterisk 22 (res/ari/ari_websockets.c), an inbound websocket gets no
ApplicationRegistered event; a second websocket for the same app takes it over and the first
gets ApplicationReplaced. While no websocket holds an app, its events are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any

from aiohttp import web

from .model import ASTERISK_ID, ast_timestamp

log = logging.getLogger(__name__)


class WsSession:
    def __init__(self, request: web.Request, ws: web.WebSocketResponse, apps: list[str]) -> None:
        self.request = request
        self.ws = ws
        self.apps = apps
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._sender = asyncio.get_running_loop().create_task(self._send_loop(), name="ari-ws-sender")
        self.sent = 0
        self.flowing = asyncio.Event()  # cleared: events wait in the queue (a socket read late)
        self.flowing.set()

    def send(self, event: dict[str, Any]) -> None:
        self._queue.put_nowait(event)

    async def _send_loop(self) -> None:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            await self.flowing.wait()
            try:
                await self.ws.send_str(json.dumps(event))
                self.sent += 1
            except (ConnectionError, RuntimeError):
                return  # the handler notices the closed socket and unregisters

    def abort(self) -> None:
        """A network drop: no close frame, the TCP connection just goes."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def aclose(self, *, graceful: bool = True) -> None:
        self._queue.put_nowait(None)
        if graceful and not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.ws.close(code=1001, message=b"shutdown")
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender


class EventBus:
    def __init__(self) -> None:
        self._by_app: dict[str, WsSession] = {}
        self._seq = itertools.count(1)
        self.sessions: set[WsSession] = set()
        self._registered = asyncio.Event()

    def next_seq(self) -> int:
        return next(self._seq)

    def register(self, session: WsSession) -> None:
        self.sessions.add(session)
        for app in session.apps:
            old = self._by_app.get(app)
            if old is not None and old is not session:
                old.send({"type": "ApplicationReplaced", "timestamp": ast_timestamp(), "application": app,
                          "asterisk_id": ASTERISK_ID})
            self._by_app[app] = session
        self._registered.set()
        self._registered = asyncio.Event()

    async def wait_active(self, app: str) -> None:
        while not self.active(app):
            await self._registered.wait()

    def unregister(self, session: WsSession) -> None:
        self.sessions.discard(session)
        for app in session.apps:
            if self._by_app.get(app) is session:
                del self._by_app[app]

    def active(self, app: str | None) -> bool:
        return app is not None and app in self._by_app

    def deliver(self, app: str, event: dict[str, Any]) -> None:
        session = self._by_app.get(app)
        if session is not None:
            session.send(event)

    def hold(self, held: bool) -> None:
        """Events are queued, not sent, while held: the app reads another socket first."""
        for session in self.sessions:
            (session.flowing.clear if held else session.flowing.set)()

    async def drop_all(self) -> None:
        sessions = list(self.sessions)
        for session in sessions:
            self.unregister(session)
            session.abort()
        for session in sessions:
            await session.aclose(graceful=False)

    async def close_all(self) -> None:
        sessions = list(self.sessions)
        for session in sessions:
            self.unregister(session)
        for session in sessions:
            await session.aclose()
