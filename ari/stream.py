"""The ARI event WebSocket: typed events routed to the calls that own the channels.

One connection per process. It reconnects with capped exponential backoff; while it is
down every subscriber gets ``ConnectionLost``, then ``Reconnected`` when it is back, or
``AriGone`` once it has been down for ``give_up_after`` seconds, so no call waits forever
on an event that will never come.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp

from .client import AriConfig
from .events import AriEvent, parse_event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    reason: str
    at: float  # monotonic


@dataclass(frozen=True, slots=True)
class Reconnected:
    down_for: float  # seconds


@dataclass(frozen=True, slots=True)
class AriGone:
    reason: str


StreamEvent = AriEvent | ConnectionLost | Reconnected | AriGone


class Subscription:
    """Events for a set of ids (channels, bridges, playback targets) that can grow as a
    call creates more channels; connection-state events always come through."""

    def __init__(self, stream: EventStream, ids: Iterable[str], everything: bool) -> None:
        self._stream = stream
        self.ids: set[str] = set(ids)
        self.everything = everything
        self.queue: asyncio.Queue[StreamEvent] = asyncio.Queue()

    def add(self, *ids: str) -> None:
        self.ids.update(ids)

    def wants(self, event: AriEvent) -> bool:
        return self.everything or any(i in self.ids for i in event.channel_ids())

    async def get(self, timeout: float | None = None) -> StreamEvent:
        async with asyncio.timeout(timeout):
            return await self.queue.get()

    def close(self) -> None:
        self._stream._subs.discard(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Backoff:
    first: float = 0.25
    factor: float = 2.0
    cap: float = 8.0

    def delays(self):
        d = self.first
        while True:
            yield d * random.uniform(0.8, 1.2)  # jitter: many MiniBots do not reconnect in step
            d = min(self.cap, d * self.factor)


class _HandshakeTimeout(Exception):
    pass


class EventStream:
    def __init__(self, config: AriConfig, *, backoff: Backoff | None = None, give_up_after: float = 60.0,
                 heartbeat: float = 10.0, connect_timeout: float = 5.0) -> None:
        self.config = config
        self.backoff = backoff or Backoff()
        self.give_up_after = give_up_after
        self.heartbeat = heartbeat
        self.connect_timeout = connect_timeout
        self.connected = asyncio.Event()
        self.gone = False
        self.connections = 0
        self.last_error = ""  # why the latest attempt failed, for the error a caller sees
        self._subs: set[Subscription] = set()

    def subscribe(self, ids: Iterable[str] = (), *, everything: bool = False) -> Subscription:
        sub = Subscription(self, ids, everything)
        self._subs.add(sub)
        return sub

    def _broadcast(self, event: StreamEvent) -> None:
        for sub in list(self._subs):
            if not isinstance(event, AriEvent) or sub.wants(event):
                sub.queue.put_nowait(event)

    @property
    def ws_url(self) -> str:
        base = self.config.url.rstrip("/")
        base = "ws" + base[len("http"):] if base.startswith("http") else base
        return f"{base}/events"

    async def wait_connected(self, timeout: float) -> None:
        """Raises TimeoutError saying where and why (the last failed attempt) when not connected in time."""
        try:
            async with asyncio.timeout(timeout):
                await self.connected.wait()
        except TimeoutError:
            raise TimeoutError(f"ARI event socket {self.ws_url} not connected within {timeout:g} s"
                               f" ({self.last_error or 'no attempt finished'})") from None

    async def run(self) -> None:
        """Until cancelled: connect, read, reconnect. ``AriGone`` is sent once per outage
        that outlasts ``give_up_after``; the stream keeps trying afterwards."""
        down_since: float | None = None
        delays = self.backoff.delays()
        async with aiohttp.ClientSession(headers=self.config.auth_headers()) as session:
            while True:
                reason = "closed by Asterisk"
                try:
                    async with await self._connect(session) as ws:
                        self.connections += 1
                        self.connected.set()
                        if down_since is not None:
                            self._broadcast(Reconnected(time.monotonic() - down_since))
                            log.info("ARI events reconnected after %.1f s", time.monotonic() - down_since)
                        down_since, self.gone = None, False
                        delays = self.backoff.delays()
                        await self._read(ws)
                except asyncio.CancelledError:
                    raise
                except aiohttp.WSServerHandshakeError as exc:
                    reason = f"handshake refused ({exc.status})"
                except _HandshakeTimeout:
                    reason = f"no answer to the WebSocket handshake within {self.connect_timeout:g} s"
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    reason = f"{exc.__class__.__name__}: {exc}"
                self.last_error = reason
                now = time.monotonic()
                if self.connected.is_set() or down_since is None:
                    self.connected.clear()
                    down_since = down_since or now
                    self._broadcast(ConnectionLost(reason, now))
                    log.warning("ARI events connection lost: %s", reason)
                if not self.gone and now - down_since >= self.give_up_after:
                    self.gone = True
                    self._broadcast(AriGone(f"no ARI connection for {now - down_since:.0f} s ({reason})"))
                await asyncio.sleep(next(delays))

    async def _connect(self, session: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
        """Open the socket, the handshake included, within ``connect_timeout``: the session's own
        default would wait 5 minutes on an Asterisk that accepted the TCP connection but never
        answered the upgrade, and no call could be dialled meanwhile; a retry gets through."""
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await session.ws_connect(
                    self.ws_url, params={"app": self.config.app, "subscribeAll": "false"},
                    heartbeat=self.heartbeat, timeout=aiohttp.ClientWSTimeout(ws_close=self.connect_timeout),
                    receive_timeout=None,
                )
        except TimeoutError as exc:
            raise _HandshakeTimeout from exc

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                try:
                    event = parse_event(json.loads(msg.data))
                except (ValueError, KeyError, TypeError) as exc:
                    # One malformed event must not end the stream for every call.
                    log.warning("ARI event skipped (%s): %.200s", exc, msg.data)
                    continue
                self._broadcast(event)
            elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                return
