"""Calls over HTTP: a filtered, paged list (no transcripts: they are the heavy part) and one call with
its transcript, objections, latency figures and timeline events.

Phone numbers are given in full: the API is the operator's own view of their campaigns (logs mask them).
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...contacts.phones import InvalidPhone, to_e164
from ...dialog.nlu.sentiment import in_french
from ..context import context
from ..errors import ApiError
from . import Answer, Route, parse_query, path_id, reply

PARIS = ZoneInfo("Europe/Paris")  # a time without an offset is the operator's local time


class CallStatus(StrEnum):
    DIALING = "DIALING"
    IN_PROGRESS = "IN_PROGRESS"
    ENDED = "ENDED"
    INTERRUPTED = "INTERRUPTED"


class CallFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: int | None = Field(None, ge=1)
    outcome: str | None = Field(None, description="how the call ended (bot.call.outcome), e.g. completed, no_answer")
    result: str | None = Field(None, description="the scenario's result, e.g. QUALIFIED, OPT_OUT")
    status: CallStatus | None = None
    phone: str | None = Field(None, description="the number called, E.164 or French national format")
    since: datetime | None = Field(None, description="placed at or after (ISO 8601; no offset: Europe/Paris)")
    until: datetime | None = Field(None, description="placed before (ISO 8601; no offset: Europe/Paris)")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return to_e164(value, "FR")
        except InvalidPhone as exc:
            raise ValueError(str(exc)) from None

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=PARIS) if value is not None and value.tzinfo is None else value


# The list's columns: everything but the heavy JSON (transcript, objections, latency) and internals.
_LIST_COLUMNS = """c.id, c.call_uuid, c.campaign_id, c.contact_id, c.phone, k.first_name, k.last_name, c.direction,
       c.status, c.outcome, c.result, c.amd_verdict, c.hangup_cause, c.hangup_cause_txt, c.created_at,
       c.answered_at, c.ended_at, c.ring_ms, c.duration_ms, c.qualification, c.freestyle_turns, c.barge_ins, c.note"""


class CallSummary(BaseModel):
    id: int
    call_uuid: str
    campaign_id: int | None
    contact_id: int | None
    phone: str
    first_name: str | None
    last_name: str | None
    direction: str
    status: CallStatus
    outcome: str | None
    result: str | None
    amd_verdict: str | None
    hangup_cause: int | None
    hangup_cause_txt: str | None
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    ring_ms: int | None
    duration_ms: int | None
    qualification: float | None
    freestyle_turns: int
    barge_ins: int
    note: str | None


class CallList(BaseModel):
    calls: list[CallSummary]
    total: int = Field(description="calls matching the filters, all pages together")
    limit: int
    offset: int


class CallEvent(BaseModel):
    at_ms: int = Field(description="milliseconds since the call was placed")
    kind: str
    detail: str


class CallDetail(CallSummary):
    attempt_id: int | None
    worker: str | None
    amd_status: str | None
    amd_cause: str | None
    recording_path: str | None
    purged_at: datetime | None
    caller_id: str | None = Field(None, description="the number presented to the callee")
    disclosure_done_ms: int | None = Field(None, description="the AI disclosure heard to its end, ms after the "
                                           "answer (null: not heard to its end)")
    transcript: list[dict[str, Any]] = Field(
        description="[{speaker, text, at_ms}]; a caller's line also has sentiment (positive|neutral|negative|"
                    "irritated), sentiment_fr (positif|neutre|négatif|irrité) and step (the scenario step it "
                    "answered) when known; empty once purged")
    objections: list[dict[str, Any]] = Field(description="[{id, score, at_ms}]")
    latency: dict[str, Any] = Field(description="answer_to_first_audio_ms, turn_latency_ms [...]")
    events: list[CallEvent]


def _where(filters: CallFilters) -> tuple[str, list[Any]]:
    """The WHERE clause, values as $n parameters."""
    conditions: list[str] = []
    values: list[Any] = []
    for column, value, op in (("campaign_id", filters.campaign_id, "="), ("outcome", filters.outcome, "="),
                              ("result", filters.result, "="), ("status", filters.status, "="),
                              ("phone", filters.phone, "="), ("created_at", filters.since, ">="),
                              ("created_at", filters.until, "<")):
        if value is not None:
            values.append(value.value if isinstance(value, StrEnum) else value)
            conditions.append(f"c.{column} {op} ${len(values)}")
    return (" WHERE " + " AND ".join(conditions)) if conditions else "", values


async def list_calls(request: web.Request) -> web.Response:
    filters = parse_query(request, CallFilters)
    where, values = _where(filters)
    n = len(values)
    async with context(request).db.pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        total = await conn.fetchval(f"SELECT count(*) FROM calls c{where}", *values)
        rows = await conn.fetch(
            f"""SELECT {_LIST_COLUMNS} FROM calls c LEFT JOIN contacts k ON k.id = c.contact_id{where}
                ORDER BY c.created_at DESC, c.id DESC LIMIT ${n + 1} OFFSET ${n + 2}""",
            *values, filters.limit, filters.offset)
    return reply({"calls": [dict(r) for r in rows], "total": total, "limit": filters.limit,
                  "offset": filters.offset})


def _json(value: str | None, empty: Any) -> Any:
    return json.loads(value) if value else empty


def _with_french(line: Any) -> Any:
    """A transcript line with its sentiment also in French, as the people reading the call say it."""
    if isinstance(line, dict) and (fr := in_french(line.get("sentiment"))):
        return {**line, "sentiment_fr": fr}
    return line


async def call_detail(conn: asyncpg.Connection, call_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"""SELECT {_LIST_COLUMNS}, c.attempt_id, c.worker, c.amd_status, c.amd_cause, c.recording_path, c.purged_at,
                   c.caller_id, c.disclosure_done_ms, c.transcript, c.objections, c.latency
            FROM calls c LEFT JOIN contacts k ON k.id = c.contact_id WHERE c.id = $1""", call_id)
    if row is None:
        return None
    call = dict(row)
    call["transcript"] = [_with_french(line) for line in _json(call["transcript"], [])]
    call["objections"] = _json(call["objections"], [])
    call["latency"] = _json(call["latency"], {})
    call["events"] = [dict(r) for r in await conn.fetch(
        "SELECT at_ms, kind, detail FROM call_events WHERE call_id = $1 ORDER BY at_ms, id", call_id)]
    return call


async def get_call(request: web.Request) -> web.Response:
    call_id = path_id(request, what="call")
    async with context(request).db.pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        call = await call_detail(conn, call_id)
    if call is None:
        raise ApiError(404, f"no call {call_id}")
    return reply(call)


ROUTES = (
    Route("GET", "/api/calls", list_calls, "List calls, newest first", "calls", query=CallFilters,
          description="Filters combine with AND. Transcripts are left out: GET /api/calls/{id} has them.",
          answers=(Answer(200, "a page of calls and the total", schema=CallList),), errors=(400,)),
    Route("GET", "/api/calls/{id}", get_call, "One call with its transcript and events", "calls",
          answers=(Answer(200, "the call", schema=CallDetail),), errors=(404,)),
)
