"""A campaign's CRM link over HTTP: its webhook and pre-call lookup settings, the outbox of post-call
events (delivered, pending, failed), and resending the failed ones (bot.integrations)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from ...integrations import outbox
from ...store.campaigns import get_campaign
from ..context import context
from ..errors import ApiError
from . import Answer, Route, parse_body, parse_query, path_id, reply


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, description="where each call's signed event is POSTed (http or https)")
    secret: str | None = Field(None, min_length=16, max_length=200,
                               description="the HMAC-SHA256 key; omitted: the current one, or a new one returned once")
    lookup_url: str | None = Field(None, description="asked for extra variables before each call")
    lookup_timeout_s: float = Field(2.0, gt=0, le=30, description="seconds the lookup may take")
    lookup_required: bool = Field(False, description="true: no call while the lookup fails (retried later)")
    max_attempts: int = Field(15, ge=1, le=100, description="tries of an event before it is FAILED")


class WebhookOut(BaseModel):
    campaign_id: int
    url: str | None
    secret_set: bool
    lookup_url: str | None
    lookup_timeout_s: float
    lookup_required: bool
    max_attempts: int


class Counts(BaseModel):
    PENDING: int
    DELIVERED: int
    FAILED: int


class WebhookState(BaseModel):
    webhook: WebhookOut | None
    events: Counts
    secret: str | None = Field(None, description="the generated secret, in the answer that created it only")


class EventOut(BaseModel):
    id: int
    event_id: str
    kind: str
    campaign_id: int | None
    call_id: int | None
    call_uuid: str | None
    status: Literal["PENDING", "DELIVERED", "FAILED"]
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class EventList(BaseModel):
    events: list[EventOut]
    counts: Counts


class EventFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: int | None = Field(None, ge=1)
    status: Literal["PENDING", "DELIVERED", "FAILED"] | None = None
    limit: int = Field(100, ge=1, le=1000)


class Resent(BaseModel):
    requeued: int


async def get_state(request: web.Request) -> web.Response:
    pool, campaign_id = context(request).db.pool, path_id(request)
    await get_campaign(pool, campaign_id)
    hook = await outbox.get_webhook(pool, campaign_id)
    return reply({"webhook": hook.to_json() if hook else None, "events": await outbox.outbox_counts(pool, campaign_id),
                  "secret": None})


async def put(request: web.Request) -> web.Response:
    pool, campaign_id = context(request).db.pool, path_id(request)
    body = await parse_body(request, WebhookIn)
    await get_campaign(pool, campaign_id)
    try:
        hook, generated = await outbox.set_webhook(pool, campaign_id, **body.model_dump())
    except ValueError as exc:
        where = str(exc).partition(":")[0]
        raise ApiError(400, str(exc), field=where if where in WebhookIn.model_fields else "body") from None
    return reply({"webhook": hook.to_json(), "events": await outbox.outbox_counts(pool, campaign_id),
                  "secret": generated})


async def delete(request: web.Request) -> web.Response:
    pool, campaign_id = context(request).db.pool, path_id(request)
    if not await outbox.remove_webhook(pool, campaign_id):
        raise ApiError(404, f"campaign {campaign_id} has no webhook")
    return reply({"webhook": None, "events": await outbox.outbox_counts(pool, campaign_id), "secret": None})


async def resend(request: web.Request) -> web.Response:
    pool, campaign_id = context(request).db.pool, path_id(request)
    await get_campaign(pool, campaign_id)
    return reply({"requeued": await outbox.requeue(pool, campaign_id=campaign_id)})


async def list_events(request: web.Request) -> web.Response:
    pool = context(request).db.pool
    q = parse_query(request, EventFilter)
    return reply({"events": await outbox.list_events(pool, campaign_id=q.campaign_id, status=q.status, limit=q.limit),
                  "counts": await outbox.outbox_counts(pool, q.campaign_id)})


_STATE = (Answer(200, "the settings (never the secret) and the campaign's events by status", schema=WebhookState),)

ROUTES = (
    Route("GET", "/api/campaigns/{id}/webhook", get_state, "A campaign's webhook and its events' delivery", "webhooks",
          answers=_STATE, errors=(404,)),
    Route("PUT", "/api/campaigns/{id}/webhook", put, "Set a campaign's webhook and pre-call lookup", "webhooks",
          description="Each call's event is POSTed as JSON with `X-MiniBot-Event-Id` (the same on every try), "
                      "`X-MiniBot-Timestamp` (Unix seconds) and `X-MiniBot-Signature: sha256=<hex HMAC-SHA256 of "
                      "'<timestamp>.<body>'>`. Without `secret`, the current one is kept, or a new one is generated "
                      "and returned in this answer only.",
          body={"application/json": WebhookIn}, answers=_STATE, errors=(400, 404)),
    Route("DELETE", "/api/campaigns/{id}/webhook", delete, "Remove a campaign's webhook", "webhooks",
          description="No new events; those already in the outbox still go out.",
          answers=_STATE, errors=(404,)),
    Route("POST", "/api/campaigns/{id}/webhook/resend", resend, "Send a campaign's failed events again", "webhooks",
          answers=(Answer(200, "how many went back to PENDING (same event ids)", schema=Resent),), errors=(404,)),
    Route("GET", "/api/webhook-events", list_events, "Post-call events and their delivery", "webhooks",
          query=EventFilter, answers=(Answer(200, "the latest events first, and counts by status", schema=EventList),),
          errors=(400,)),
)
