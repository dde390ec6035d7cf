"""`minibot serve`: one process with the call side (ARI controller, AudioSocket server, dialer
worker, inbound calls) and the HTTP side (REST API, /health, /metrics, dashboard); `--role`
runs either alone, so call workers scale out on several machines against one PostgreSQL.

Shutdown is graceful: dialling stops at once, calls in progress get `drain_seconds` to finish
(then they are ended and stored as interrupted, to be retried), claimed-but-not-dialled
attempts go back to the queue for the other workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from .call.call import CallRecord
from .call.controller import CallController
from .call.runtime import call_runtime
from .campaign.conversations import CampaignConversations
from .campaign.dialer import Dialer, DialerConfig
from .campaign.inbound import InboundConversations
from .config import Settings
from .integrations.delivery import run_delivery
from .integrations.lookup import PreCallLookup
from .store import Database
from .store.calls import insert_call, save_call
from .store.compliance import record_opt_out

log = logging.getLogger(__name__)
ROLES = ("api", "calls")


@dataclass
class Service:
    """What a running `minibot serve` holds; `stats()` feeds /api/system."""

    settings: Settings
    roles: tuple[str, ...]
    db: Database | None = None
    controller: CallController | None = None
    dialer: Dialer | None = None
    started: float = field(default_factory=time.monotonic)
    api_address: str | None = None
    health: Any = None  # bot.ops.health.Health: what /health reports

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"roles": list(self.roles), "uptime_s": round(time.monotonic() - self.started)}
        if self.controller is not None:
            out["calls_in_progress"] = len(self.controller.calls)
            out["audiosocket"] = self.controller.server.address
        if self.dialer is not None:
            out["dialer"] = {"worker": self.dialer.config.worker_id, "max_calls": self.dialer.config.max_calls,
                             "active": len(self.dialer.active), "dialled": self.dialer.dialled}
        return out


async def store_inbound(db: Database, record: CallRecord) -> None:
    """An inbound call is stored like a campaign call; a do-not-call request on it is kept as evidence."""
    async with db.pool.acquire() as conn, conn.transaction():
        call_id = await insert_call(conn, call_uuid=record.call_id, phone=record.number, worker="inbound",
                                    direction="inbound")
        await save_call(conn, call_id, record)
        if record.result == "OPTED_OUT" and record.number.startswith("+"):
            said = [u.text for u in record.utterances if u.speaker == "caller"]
            await record_opt_out(conn, record.number, source="call",
                                 evidence=record.opt_out_evidence or (said[-1] if said else ""), call_id=call_id)


async def _store_inbound(service: Service, record: CallRecord) -> None:
    # Through the dialer's journal (bot.store.journal) when it runs: kept through a database outage.
    if service.dialer is not None:
        await service.dialer.store_inbound(record)
    else:
        await store_inbound(service.db, record)


async def serve(settings: Settings, roles: tuple[str, ...] = ROLES, *, stop: asyncio.Event,
                ready: asyncio.Event | None = None, service: Service | None = None) -> Service:
    """Run until `stop` is set, then shut down gracefully."""
    from .ops import health as checks
    from .ops import metrics

    service = service or Service(settings, roles)
    service.health = checks.Health({"llm": checks.llm(settings.llm), "objection_library": checks.objection_library()})
    async with contextlib.AsyncExitStack() as stack:
        service.db = db = await Database.open(settings.database_dsn, settings.data_dir)
        stack.push_async_callback(db.close)
        service.health.add("database", checks.database(db))
        gauges = asyncio.create_task(metrics.refresh_campaign_gauges_every(db.pool, 5.0), name="gauges")
        stack.push_async_callback(_cancel, gauges)
        # Post-call webhooks: every process delivers from the shared outbox (bot.integrations.delivery).
        webhooks = asyncio.create_task(run_delivery(db.pool), name="webhooks")
        stack.push_async_callback(_cancel, webhooks)
        dialer_task: asyncio.Task | None = None
        if "calls" in roles:
            dialer_task = await _start_calls(settings, service, stack)
        if "api" in roles:
            await _start_api(settings, service, stack)
        log.info("minibot serve: %s", ", ".join(roles))
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping: no new dials; calls in progress get %.0f s", settings.dialer.drain_seconds)
        if service.dialer is not None:
            await service.dialer.drain(settings.dialer.drain_seconds)
        if dialer_task is not None:
            await _cancel(dialer_task)
    return service


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _start_calls(settings: Settings, service: Service, stack: contextlib.AsyncExitStack) -> asyncio.Task:
    from .ops import health as checks
    from .voice.voice import voice_from_settings

    voice = voice_from_settings(settings)
    lookup = PreCallLookup(service.db.pool)
    stack.push_async_callback(lookup.aclose)
    conversations = CampaignConversations(voice, settings.llm, agent_endpoint=settings.dial.agent_endpoint,
                                          lookup=lookup)
    stack.push_async_callback(conversations.aclose)
    db = service.db
    inbound = None  # none: inbound calls are refused (the controller hangs up with a cause)
    if settings.dialer.inbound_scenario:
        brain = await conversations.brain(settings.dialer.inbound_scenario)
        inbound = InboundConversations(brain, voice, db, agent_endpoint=settings.dial.agent_endpoint)
    service.controller = controller = await stack.enter_async_context(call_runtime(
        settings, inbound=inbound, on_inbound_end=lambda record: _store_inbound(service, record)))
    for name, check in (("ari", checks.ari(controller.client, controller.stream, readiness=controller.readiness)),
                        ("audiosocket", checks.audiosocket(controller.server)),
                        ("asr", checks.asr(controller.recognizer)), ("tts", checks.tts(voice.engine))):
        service.health.add(name, check)
    d = settings.dialer
    service.dialer = Dialer(db, controller.place_call, conversations,
                            DialerConfig(max_calls=d.max_calls, max_total_calls=d.max_total_calls,
                                         caller_id=settings.dial.caller_id),
                            ready=lambda: controller.ready, clean_up=controller.remove_leftovers)
    return asyncio.create_task(service.dialer.run(), name="dialer")


async def _start_api(settings: Settings, service: Service, stack: contextlib.AsyncExitStack) -> None:
    from .web.app import build_app, start_server
    from .web.context import WebContext

    key = settings.api.key.get_secret_value() if settings.api.key else None
    if key is None:
        log.warning("MINIBOT_API__KEY is not set: /api/* answers 401 until it is")
    app = build_app(WebContext(db=service.db, api_key=key, health=service.health, system_stats=service.stats,
                               recordings_dir=settings.recordings_dir, caller_id=settings.dial.caller_id,
                               uploads_dir=settings.data_dir / "scenarios"))
    runner = await start_server(app, settings.api.host, settings.api.port)
    stack.push_async_callback(runner.cleanup)
    service.api_address = ", ".join(f"{host}:{port}" for host, port, *_ in runner.addresses)
    log.info("API on http://%s", service.api_address)
