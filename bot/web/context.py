"""What the web handlers reach: the database and the parts `minibot serve` hands over.

One dataclass stored on the application (under `CTX`), so handlers never import a global and a
test builds an app around its own database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry

from ..dialog.scenario.authoring import SCENARIOS_DIR
from ..ops.metrics import REGISTRY
from ..store import Database

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # a 100k-row contact file is ~10 MB; 50 MB leaves room for XLSX


class HealthReport(Protocol):
    """bot.ops.health.Health: the components' states and the HTTP status to answer with (200, or 503
    when a required part is down)."""

    async def report(self) -> tuple[dict[str, Any], int]: ...


@dataclass
class WebContext:
    db: Database
    api_key: str | None = None  # None: every /api/ route answers 401, saying the key is not configured
    health: HealthReport | None = None
    metrics_registry: CollectorRegistry = REGISTRY
    system_stats: Callable[[], dict[str, Any]] | None = None  # active calls, dialer workers... (serve)
    scenarios_dir: Path = SCENARIOS_DIR
    recordings_dir: Path = Path("/var/spool/asterisk/recording")  # where exports say recordings are
    uploads_dir: Path | None = None  # scenarios uploaded over the API (PUT /api/scenarios/{name}); None: refused
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    caller_id: str | None = None  # settings.dial.caller_id: what a campaign without its own number presents


CTX = web.AppKey("minibot_web_context", WebContext)


def context(request: web.Request) -> WebContext:
    return request.app[CTX]


def uploaded_scenario(ctx: WebContext, name: str) -> Path | None:
    """An uploaded scenario's file, when `name` is one (a shipped name always wins)."""
    if ctx.uploads_dir is None or (ctx.scenarios_dir / f"{name}.yaml").exists():
        return None
    path = ctx.uploads_dir / f"{name}.yaml"
    return path if path.is_file() else None
