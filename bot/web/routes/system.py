"""The public service routes (`/`, /health, /metrics, /openapi.json) and the operator's system figures."""

from __future__ import annotations

import inspect
from datetime import datetime, time
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web
from prometheus_client.exposition import choose_encoder

from ..context import context
from ..openapi import OPENAPI
from . import Answer, Route, reply

PARIS = ZoneInfo("Europe/Paris")  # "today" is the operator's day, as the calling hours are


@cache
def minibot_version() -> str:
    try:
        return version("minibot")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


async def index(request: web.Request) -> web.Response:
    return reply({
        "name": "MiniBot",
        "version": minibot_version(),
        "links": {"health": "/health", "metrics": "/metrics", "openapi": "/openapi.json", "dashboard": "/dashboard",
                  "campaigns": "/api/campaigns", "calls": "/api/calls", "scenarios": "/api/scenarios",
                  "system": "/api/system"},
    })


async def health(request: web.Request) -> web.Response:
    """bot.ops.health's report and its status (503 when a required part is down)."""
    checker = context(request).health
    if checker is None:
        return reply({"status": "ok", "components": {}})
    report, status = await checker.report()
    return reply(report, status=status)


async def metrics(request: web.Request) -> web.Response:
    # Prometheus says in Accept which exposition format it reads (text 0.0.4, or OpenMetrics)
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encode(context(request).metrics_registry)
    return web.Response(body=body, headers={"Content-Type": content_type})


async def openapi_document(request: web.Request) -> web.Response:
    return reply(request.app[OPENAPI])


async def system(request: web.Request) -> web.Response:
    """What the running process reports (serve's system_stats: calls active, dialer workers...) and
    the database's figures."""
    ctx = context(request)
    runtime: dict[str, Any] | None = None
    if ctx.system_stats is not None:
        runtime = ctx.system_stats()
        if inspect.isawaitable(runtime):
            runtime = await runtime
    return reply({"runtime": runtime, "database": await database_figures(ctx.db.pool)})


async def database_figures(pool: asyncpg.Pool) -> dict[str, Any]:
    midnight = datetime.combine(datetime.now(PARIS).date(), time(), tzinfo=PARIS)
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        campaigns = {r["status"]: r["n"] for r in await conn.fetch(
            "SELECT status, count(*) AS n FROM campaigns GROUP BY 1 ORDER BY 1")}
        calls = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE created_at >= $1) AS today,
                      count(*) FILTER (WHERE created_at >= $1 AND answered_at IS NOT NULL) AS answered_today,
                      count(*) FILTER (WHERE status IN ('DIALING', 'IN_PROGRESS')) AS active,
                      count(*) AS total
               FROM calls""", midnight)
        contacts = await conn.fetchval("SELECT count(*) FROM contacts")
        scheduled = await conn.fetchval("SELECT count(*) FROM attempts WHERE status = 'SCHEDULED'")
        opt_outs = await conn.fetchval("SELECT count(DISTINCT phone) FROM opt_outs")
    return {
        "campaigns_by_status": campaigns,
        "campaigns": sum(campaigns.values()),
        "calls_today": calls["today"],
        "calls_answered_today": calls["answered_today"],
        "calls_active": calls["active"],
        "calls_total": calls["total"],
        "contacts": contacts,
        "attempts_scheduled": scheduled,
        "opt_outs": opt_outs,
        "today_since": midnight.isoformat(),
    }


_INDEX = {"type": "object", "properties": {
    "name": {"type": "string"}, "version": {"type": "string"},
    "links": {"type": "object", "additionalProperties": {"type": "string"}}}}
_HEALTH = {"type": "object", "properties": {
    "status": {"enum": ["ok", "degraded", "down"]}, "components": {"type": "object"}}}
_TEXT = {"type": "string"}

ROUTES = (
    Route("GET", "/", index, "Service name, version and links", "system",
          answers=(Answer(200, "the index", schema=_INDEX),)),
    Route("GET", "/health", health, "Health of each component", "system",
          description="Database, ARI and Asterisk, AudioSocket listener, ASR, TTS, LLM, objection library. "
                      "503 when a required component is down.",
          answers=(Answer(200, "healthy or degraded", schema=_HEALTH),
                   Answer(503, "a required component is down", schema=_HEALTH))),
    Route("GET", "/metrics", metrics, "Prometheus metrics", "system",
          description="Text exposition format 0.0.4, or OpenMetrics when the Accept header asks for it.",
          answers=(Answer(200, "the metrics", content_type="text/plain", schema=_TEXT),)),
    Route("GET", "/openapi.json", openapi_document, "This OpenAPI document", "system",
          answers=(Answer(200, "the OpenAPI 3.1 document"),)),
    Route("GET", "/api/system", system, "Process and database figures", "system",
          description="`runtime`: what the running service reports (calls in progress, dialer workers...), "
                      "null when not provided; `database`: campaigns by status, calls today (Europe/Paris), "
                      "calls in progress, contacts, scheduled attempts, opted-out numbers.",
          answers=(Answer(200, "the figures"),)),
)
