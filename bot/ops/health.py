"""The /health report: is each part of MiniBot up, and can the service do its job?

Each part has a named check, run concurrently with the others under its own timeout (2 s), so
a hung database or an unreachable Ollama never hangs /health. A check answers with a
`Component`, or a short detail string (up), or raises (down, the exception as detail). A part
is `required` when MiniBot cannot place or hold calls without it: the report is then "down" with
HTTP 503. An optional part down makes it "degraded" (200); a part switched off is "disabled".

The check factories below take the parts themselves (a Database, an AriClient, ...), not the
settings of `minibot serve`: serve builds the Health from the parts of its roles.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import asyncpg

if TYPE_CHECKING:
    from ari.client import AriClient
    from ari.stream import EventStream
    from audiosocket import AudioSocketServer

    from ..call.readiness import Readiness
    from ..config import LlmSettings
    from ..dialog.objections.library import Library
    from ..speech.asr.base import Recognizer
    from ..speech.tts.base import TtsEngine
    from ..store import Database

Status = Literal["ok", "down", "disabled"]
CHECK_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class Component:
    status: Status
    detail: str = ""
    required: bool = False

    def as_dict(self, ms: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "detail": self.detail, "required": self.required}
        if ms is not None:
            out["ms"] = round(ms, 1)
        return out


def ok(detail: str = "") -> Component:
    return Component("ok", detail)


def down(detail: str) -> Component:
    return Component("down", detail)


def disabled(detail: str = "") -> Component:
    return Component("disabled", detail)


CheckFn = Callable[[], Awaitable["Component | str"]]


@dataclass(frozen=True, slots=True)
class Check:
    fn: CheckFn
    required: bool = True


class Health:
    """``await health.report()`` → (body, HTTP status). Checks are independent; add more with ``add``."""

    def __init__(self, checks: dict[str, Check] | None = None, *, timeout: float = CHECK_TIMEOUT) -> None:
        self.checks: dict[str, Check] = dict(checks or {})
        self.timeout = timeout

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    async def report(self) -> tuple[dict[str, Any], int]:
        names = list(self.checks)
        results = await asyncio.gather(*(self._run(self.checks[n]) for n in names))
        components = {n: c.as_dict(ms) for n, (c, ms) in zip(names, results, strict=True)}
        required_down = any(c.status == "down" and c.required for c, _ in results)
        any_down = any(c.status == "down" for c, _ in results)
        status = "down" if required_down else "degraded" if any_down else "ok"
        return {"status": status, "components": components}, 503 if required_down else 200

    async def _run(self, check: Check) -> tuple[Component, float]:
        started = time.monotonic()
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                answer = await check.fn()
        except TimeoutError as exc:
            # Ours, or one the check hit itself (a client timeout shorter than ours).
            answer = down(f"no answer in {self.timeout:g} s" if deadline.expired() else _why(exc))
        except Exception as exc:  # a check that fails says why; it never breaks the report
            answer = down(_why(exc))
        if isinstance(answer, str):
            answer = ok(answer)
        return Component(answer.status, answer.detail, check.required), (time.monotonic() - started) * 1000


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- ready-made checks ---------------------------------------------------------------------------

def database(db: Database, *, required: bool = True) -> Check:
    """PostgreSQL answers, and the schema version it is migrated to."""

    async def check() -> Component:
        try:
            async with db.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
                version = await conn.fetchval("SELECT max(version) FROM schema_migrations")
                server = await conn.fetchval("SHOW server_version")
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                asyncpg.InterfaceError) as exc:
            # What the socket said (a unix socket gone reads "FileNotFoundError"), said as what it means.
            where = f" at {db.url}" if db.url else ""
            return down(f"PostgreSQL unreachable{where} ({_why(exc)})")
        if version is None:
            return down("not migrated (schema_migrations is empty)")
        return ok(f"PostgreSQL {server.split()[0]}, schema version {version}")

    return Check(check, required)


def ari(client: AriClient, stream: EventStream | None = None, *, required: bool = True,
        readiness: Readiness | None = None) -> Check:
    """Asterisk answers ARI (GET /asterisk/info: its version), and, given the event stream,
    MiniBot's event WebSocket is connected (without it no call can be followed); given the
    readiness, why dials are held (the Stasis app not registered, taken over, Asterisk stopping)."""

    async def check() -> Component:
        info = await client.info()
        version = ((info or {}).get("system") or {}).get("version", "unknown version")
        if stream is not None and not stream.connected.is_set():
            return down(f"Asterisk {version} answers REST, but the event WebSocket is not connected")
        if readiness is not None and not readiness.ready:
            return down(f"Asterisk {version}: {readiness.why_not}")
        return ok(f"Asterisk {version}")

    return Check(check, required)


def audiosocket(server: AudioSocketServer, *, required: bool = True) -> Check:
    """The AudioSocket server listens (Asterisk connects to it for every call's audio)."""

    async def check() -> Component:
        # AudioSocketServer keeps its asyncio.Server private; `listening` would be the public
        # way if it grows one.
        listening = getattr(server, "listening", None)
        if listening is None:
            inner = getattr(server, "_server", None)
            listening = inner is not None and inner.is_serving()
        if not listening:
            return down(f"not listening on {server.address}")
        return ok(f"listening on {server.address}, {len(server.sessions)} sessions")

    return Check(check, required)


def asr(recognizer: Recognizer | None = None, *, name: str | None = None, model_path: Path | None = None,
        required: bool = True) -> Check:
    """The recogniser is loaded (given one), or at least its model files are there (given a
    name and a model path, for a process that loads it later). A recogniser on speech servers is
    probed: each server (Wyoming ``describe``), up while one of them answers, every state shown."""

    async def check() -> Component:
        if recognizer is not None and hasattr(recognizer, "probe"):  # a recogniser on another machine
            try:
                return ok(await recognizer.probe())
            except Exception as exc:  # noqa: BLE001 - any failure is the component's state
                return down(str(exc))
        if recognizer is not None:
            kind = "streaming" if getattr(recognizer, "streaming", False) else "offline"
            where = f" from {model_path}" if model_path else ""
            return ok(f"{recognizer.name} ({kind}) loaded{where}")
        if model_path is None:
            return down(f"{name or 'ASR'}: no recogniser and no model path")
        if not await asyncio.to_thread(model_path.exists):
            return down(f"{name or 'ASR'} model missing: {model_path} (run: minibot models pull)")
        return ok(f"{name or 'ASR'} model at {model_path}")

    return Check(check, required)


def tts(engine: TtsEngine, *, probe: bool = False, required: bool = True) -> Check:
    """The TTS engine is loaded; with ``probe``, it renders a short word (in a thread: the event
    loop keeps serving calls). Slow engines (XTTS) would not render inside the 2 s."""

    async def check() -> Component:
        if hasattr(engine, "probe"):  # voices on speech servers: each server's state
            return ok(await engine.probe())
        version = await asyncio.to_thread(lambda: engine.version)
        detail = f"{engine.name} {version}, voice {engine.default_voice}"
        if probe:
            started = time.monotonic()
            audio = await asyncio.to_thread(engine.synthesize, "Bonjour.", None)
            if not audio.pcm:
                return down(f"{detail}: rendered no audio")
            detail += f", renders in {(time.monotonic() - started) * 1000:.0f} ms"
        return ok(detail)

    return Check(check, required)


def llm(settings: LlmSettings, *, required: bool = False) -> Check:
    """Ollama answers and has the model (GET /api/tags). Off unless enabled; never required:
    without it the offline classifier and scripted fallbacks keep calls going."""

    async def check() -> Component:
        if not settings.enabled:
            return disabled("LLM off (llm.enabled is false)")
        url = settings.ollama_url.rstrip("/") + "/api/tags"
        seconds = min(settings.timeout, CHECK_TIMEOUT - 0.25)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session, \
                    session.get(url) as resp:
                if resp.status != 200:
                    return down(f"Ollama at {settings.ollama_url}: HTTP {resp.status}")
                models = [m.get("name") or m.get("model") for m in (await resp.json()).get("models", [])]
        except TimeoutError:
            return down(f"Ollama at {settings.ollama_url}: no answer in {seconds:g} s")
        except aiohttp.ClientError as exc:
            return down(f"Ollama at {settings.ollama_url}: {_why(exc)}")
        if not _has_model(models, settings.model):
            return down(f"Ollama at {settings.ollama_url} lacks {settings.model} (run: ollama pull {settings.model})")
        return ok(f"Ollama at {settings.ollama_url}, model {settings.model}")

    return Check(check, required)


def _has_model(models: list[str | None], wanted: str) -> bool:
    # Ollama names an untagged pull "name:latest".
    names = {m for m in models if m}
    return wanted in names or (":" not in wanted and f"{wanted}:latest" in names)


def objection_library(library: Library | None = None, directory: Path | None = None, *,
                      required: bool = True) -> Check:
    """The objection and FAQ library loads (given one: it is in memory) and is not empty."""

    async def check() -> Component:
        lib = library
        if lib is None:
            from ..dialog.objections.library import DEFAULT_DIR, load_library

            lib = await asyncio.to_thread(load_library, directory or DEFAULT_DIR)
        if not lib.entries:
            return down("the objection library is empty")
        return ok(f"{len(lib.entries)} entries in {len(lib.themes)} themes")

    return Check(check, required)
