"""A fake Ollama server: the real HTTP API as the official `ollama` client speaks it, on loopback.

Scriptable per test: `reply` maps each chat/generate request (its JSON) to the assistant's text;
`delay` holds every answer back; `fault` makes it answer HTTP 500, a garbage body, or close the
connection without a word. Every request is recorded (`requests`, `bodies(path)`), so tests can
check what went over the wire (the JSON schema in `format`, `keep_alive`, options).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiohttp import web

Fault = Literal["http_500", "garbage", "close"]
Reply = Callable[[dict], str]
DEFAULT_MODEL = "qwen2.5:3b-instruct"
VERSION = "0.12.6"


@dataclass(frozen=True, slots=True)
class Seen:
    method: str
    path: str
    body: dict | None


class FakeOllama:
    def __init__(self, models: tuple[str, ...] = (DEFAULT_MODEL,), *, reply: Reply | None = None) -> None:
        self.models = list(models)
        self.reply: Reply = reply or (lambda request: "")
        self.delay = 0.0
        self.fault: Fault | None = None
        self.requests: list[Seen] = []
        self.loaded: dict[str, str | int | float] = {}  # model -> the keep_alive it was last given
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeOllama:
        app = web.Application()
        app.router.add_post("/api/chat", self._chat)
        app.router.add_post("/api/generate", self._generate)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/ps", self._ps)
        app.router.add_get("/api/version", self._version)
        # handler_cancellation: a client that gives up (timeout) must not leave a delayed handler running.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def bodies(self, path: str) -> list[dict]:
        return [seen.body for seen in self.requests if seen.path == path and seen.body is not None]

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._receive(request)
        if (early := await self._misbehave(request, body)) is not None:
            return early
        if not body.get("messages"):  # an empty chat only loads the model
            return web.json_response(self._done(body, {"message": {"role": "assistant", "content": ""}}, "load"))
        content = self.reply(body)
        if body.get("stream", True):
            return await self._stream(request, body, content, lambda piece: {
                "message": {"role": "assistant", "content": piece}})
        return web.json_response(self._done(body, {"message": {"role": "assistant", "content": content}}))

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        body = await self._receive(request)
        if (early := await self._misbehave(request, body)) is not None:
            return early
        if not body.get("prompt"):  # an empty prompt only loads the model
            return web.json_response(self._done(body, {"response": ""}, "load"))
        content = self.reply(body)
        if body.get("stream", True):
            return await self._stream(request, body, content, lambda piece: {"response": piece})
        return web.json_response(self._done(body, {"response": content}))

    async def _tags(self, request: web.Request) -> web.Response:
        self.requests.append(Seen(request.method, request.path, None))
        return web.json_response({"models": [self._model_info(name) for name in self.models]})

    async def _ps(self, request: web.Request) -> web.Response:
        self.requests.append(Seen(request.method, request.path, None))
        expires = (datetime.now(UTC) + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
        return web.json_response({"models": [{**self._model_info(name), "expires_at": expires,
                                              "size_vram": 2_400_000_000} for name in self.loaded]})

    async def _version(self, request: web.Request) -> web.Response:
        self.requests.append(Seen(request.method, request.path, None))
        return web.json_response({"version": VERSION})

    async def _receive(self, request: web.Request) -> dict:
        body = await request.json()
        self.requests.append(Seen(request.method, request.path, body))
        return body

    async def _misbehave(self, request: web.Request, body: dict) -> web.StreamResponse | None:
        """The scripted faults, then what a real server refuses (an unknown model); None: answer."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fault == "http_500":
            return web.json_response({"error": "llama runner process has terminated: exit status 2"}, status=500)
        if self.fault == "garbage":
            return web.Response(text="<html>502 Bad Gateway</html>{", content_type="application/json")
        if self.fault == "close":
            assert request.transport is not None
            request.transport.close()
            return web.Response()  # never written: the client sees the connection drop
        model = body.get("model", "")
        if model not in self.models:
            return web.json_response({"error": f"model '{model}' not found"}, status=404)
        keep_alive = body.get("keep_alive")
        if keep_alive in (0, "0", "0s", "0m"):
            self.loaded.pop(model, None)
        else:
            self.loaded[model] = keep_alive if keep_alive is not None else "5m"
        return None

    async def _stream(self, request: web.Request, body: dict, content: str,
                      chunk: Callable[[str], dict]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for start in range(0, len(content), 8):
            part = {"model": body["model"], "created_at": _now(), **chunk(content[start:start + 8]), "done": False}
            await response.write(json.dumps(part).encode() + b"\n")
        await response.write(json.dumps(self._done(body, chunk(""))).encode() + b"\n")
        await response.write_eof()
        return response

    @staticmethod
    def _done(body: dict, payload: dict, reason: str = "stop") -> dict:
        return {"model": body["model"], "created_at": _now(), **payload, "done": True, "done_reason": reason,
                "total_duration": 412_000_000, "load_duration": 21_000_000, "prompt_eval_count": 180,
                "prompt_eval_duration": 160_000_000, "eval_count": 24, "eval_duration": 230_000_000}

    @staticmethod
    def _model_info(name: str) -> dict:
        return {"name": name, "model": name, "modified_at": "2025-01-15T10:00:00.000000000+01:00",
                "size": 1_929_912_432, "digest": "357c53fb659c" + "0" * 52,
                "details": {"parent_model": "", "format": "gguf", "family": "qwen2", "families": ["qwen2"],
                            "parameter_size": "3.1B", "quantization_level": "Q4_K_M"}}


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released), for connection-refused tests."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
