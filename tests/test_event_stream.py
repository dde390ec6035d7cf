"""ARI's event WebSocket when Asterisk accepts the connection but never answers the upgrade (seen on
a loaded CI machine: no call could be dialled, the session's default would have waited 5 minutes).
A real aiohttp server on loopback plays that Asterisk."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from ari.client import AriConfig
from ari.stream import Backoff, ConnectionLost, EventStream


async def _server(answer_from: int):
    """Upgrade requests before number ``answer_from`` (1-based) hang; later ones are accepted."""
    seen = 0

    async def events(request: web.Request) -> web.StreamResponse:
        nonlocal seen
        seen += 1
        if seen < answer_from:
            await asyncio.sleep(3600)  # accepted, read, never answered
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ari/events", events)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, AriConfig(url=f"http://127.0.0.1:{port}/ari", username="u", password="p", app="minibot")


async def test_an_unanswered_handshake_is_given_up_and_retried():
    runner, config = await _server(answer_from=2)
    stream = EventStream(config, connect_timeout=0.5, backoff=Backoff(first=0.05))
    events = stream.subscribe(everything=True)
    task = asyncio.create_task(stream.run())
    try:
        await stream.wait_connected(5)
        lost = await events.get(1)
        assert isinstance(lost, ConnectionLost)
        assert lost.reason == "no answer to the WebSocket handshake within 0.5 s"
        assert stream.connections == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()


async def test_waiting_for_a_socket_that_never_connects_says_where_and_why():
    runner, config = await _server(answer_from=10**6)
    stream = EventStream(config, connect_timeout=0.3, backoff=Backoff(first=0.05))
    task = asyncio.create_task(stream.run())
    try:
        with pytest.raises(TimeoutError) as caught:
            await stream.wait_connected(1)
        assert f"{config.url}/events".replace("http", "ws", 1) in str(caught.value)
        assert "no answer to the WebSocket handshake within 0.3 s" in str(caught.value)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()
