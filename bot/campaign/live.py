"""What a campaign is doing right now, as one JSON-ready dict: the figures `minibot campaign monitor`
draws in the terminal and the dashboard page draws in a browser (GET /api/campaigns/{id}/live).

Both poll it every couple of seconds while calls run, so it is four small queries on one connection,
each answered from the campaign's indexes (calls(campaign_id, created_at), attempts(campaign_id, status),
campaign_contacts' primary key), and the time buckets of the chart are cut by PostgreSQL (date_bin).

Rates, with the denominators an operator expects:
- answer rate: answered calls over ended calls (calls still ringing or talking are not counted yet);
- qualified, opt-out and machine rates: over answered calls (a machine answers too).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from ..dialog.nlu.sentiment import Sentiment
from ..i18n import _

# Results that count as a success for the qualified rate.
QUALIFIED_RESULTS = ("QUALIFIED", "APPOINTMENT_SCHEDULED")
# The chart draws at most this many buckets: a long campaign gets wider buckets, not a wider chart.
MAX_BUCKETS = 288
_BUCKET_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
# Active calls listed one by one (the count is always exact).
MAX_ACTIVE_LISTED = 100
# Buckets start on round wall-clock times (…:00, :05, :10 for 5 minutes), whatever the campaign's start.
_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)

_CAMPAIGN_SQL = """
SELECT c.id, c.name, c.scenario, c.status, c.max_concurrent_calls, c.created_at, c.started_at, c.finished_at,
       c.pause_reason, c.paused_by,
       c.compliance, cc.contacts, a.due_now, a.due_later, a.next_due_at, a.gate_reasons
FROM campaigns c
CROSS JOIN LATERAL (
    SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb) AS contacts
    FROM (SELECT status, count(*) AS n FROM campaign_contacts WHERE campaign_id = c.id GROUP BY status) s
) cc
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE due_at <= $2) AS due_now,
           count(*) FILTER (WHERE due_at > $2) AS due_later,
           min(due_at) FILTER (WHERE due_at > $2) AS next_due_at,
           (SELECT coalesce(array_agg(DISTINCT r), '{}') FROM attempts x, unnest(x.gate_reasons) r
            WHERE x.campaign_id = c.id AND x.status = 'SCHEDULED' AND x.due_at > $2) AS gate_reasons
    FROM attempts WHERE campaign_id = c.id AND status = 'SCHEDULED'
) a
WHERE c.id = $1
"""

# One pass over the campaign's calls: counts, rates' numerators, outcome and result counts, latencies.
# Latency values that are not JSON numbers are skipped rather than failing the whole view.
_FIGURES_SQL = """
WITH c AS (
    SELECT status, outcome, result, amd_verdict, answered_at, latency FROM calls WHERE campaign_id = $1
), ended AS (
    SELECT * FROM c WHERE status IN ('ENDED', 'INTERRUPTED')
), turns AS (
    SELECT (e #>> '{}')::float AS ms
    FROM c, jsonb_array_elements(CASE WHEN jsonb_typeof(c.latency -> 'turn_latency_ms') = 'array'
                                      THEN c.latency -> 'turn_latency_ms' ELSE '[]'::jsonb END) AS e
    WHERE jsonb_typeof(e) = 'number'
)
SELECT (SELECT count(*) FROM c) AS calls,
       (SELECT count(*) FROM ended) AS ended,
       (SELECT count(*) FROM ended WHERE answered_at IS NOT NULL) AS answered,
       (SELECT count(*) FROM ended WHERE answered_at IS NOT NULL AND result = ANY($2::text[])) AS qualified,
       (SELECT count(*) FROM ended WHERE answered_at IS NOT NULL AND result = 'OPTED_OUT') AS opted_out,
       (SELECT count(*) FROM ended WHERE answered_at IS NOT NULL AND amd_verdict = 'machine') AS machine,
       (SELECT count(*) FROM ended WHERE answered_at IS NOT NULL AND result IS NULL) AS answered_without_result,
       (SELECT coalesce(jsonb_object_agg(label, n), '{}'::jsonb) FROM (
            SELECT coalesce(outcome, CASE status WHEN 'INTERRUPTED' THEN 'interrupted' ELSE 'unknown' END) AS label,
                   count(*) AS n
            FROM ended GROUP BY 1) o) AS outcomes,
       (SELECT coalesce(jsonb_object_agg(result, n), '{}'::jsonb) FROM (
            SELECT result, count(*) AS n FROM ended WHERE result IS NOT NULL GROUP BY 1) r) AS results,
       (SELECT percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY (latency ->> 'answer_to_first_audio_ms')::float)
        FROM c WHERE jsonb_typeof(latency -> 'answer_to_first_audio_ms') = 'number') AS first_audio,
       (SELECT percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY ms) FROM turns) AS turns,
       (SELECT count(*) FROM turns) AS turn_count
"""

# IN_PROGRESS or answered_at set: someone picked up. Until the dialer records the answer while the call
# runs, a live call shows as ringing.
_ACTIVE_SQL = """
SELECT c.id, c.call_uuid, c.phone, c.worker, c.created_at, c.answered_at, c.amd_verdict,
       c.status = 'IN_PROGRESS' OR c.answered_at IS NOT NULL AS talking,
       nullif(concat_ws(' ', k.first_name, k.last_name), '') AS name,
       count(*) OVER () AS total
FROM calls c LEFT JOIN contacts k ON k.id = c.contact_id
WHERE c.campaign_id = $1 AND c.status IN ('DIALING', 'IN_PROGRESS')
ORDER BY c.created_at, c.id
LIMIT $2
"""

# Calls placed in each bucket, by how they ended: the result when the scenario gave one, else the
# outcome (busy, no_answer...), and in_progress while they run; so the labels partition the calls and
# the chart can stack them.
_TIMELINE_SQL = """
SELECT date_bin($2::interval, created_at, $3) AS at,
       coalesce(result, outcome,
                CASE WHEN status IN ('DIALING', 'IN_PROGRESS') THEN 'in_progress'
                     WHEN status = 'INTERRUPTED' THEN 'interrupted' ELSE 'unknown' END) AS label,
       count(*) AS n
FROM calls
WHERE campaign_id = $1 AND ($4::timestamptz IS NULL OR created_at >= $4) AND created_at <= $5
GROUP BY 1, 2
ORDER BY 1, 2
"""

_SPAN_SQL = "SELECT min(created_at) FROM calls WHERE campaign_id = $1"


def campaign_timezone(compliance: str | None) -> str:
    """The campaign's time zone (its calling hours'), for showing times to people."""
    from ..compliance.rules import ComplianceRules

    try:
        return ComplianceRules.for_campaign(json.loads(compliance or "{}")).hours.timezone
    except ValueError:
        return "Europe/Paris"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)


def _pair(values: list[float] | None) -> tuple[int | None, int | None]:
    if not values:
        return None, None
    return _ms(values[0]), _ms(values[1])


def bucket_width(span: timedelta, bucket_minutes: int) -> int:
    """The bucket in minutes: the one asked for, or the next round width that keeps the chart to
    MAX_BUCKETS bars over `span`."""
    minutes = max(1, bucket_minutes)
    needed = span.total_seconds() / 60 / MAX_BUCKETS
    if minutes >= needed:
        return minutes
    for step in _BUCKET_STEPS:
        if step >= needed and step >= minutes:
            return step
    return max(minutes, math.ceil(needed / 1440) * 1440)


def _bin(at: datetime, minutes: int) -> datetime:
    """date_bin in Python, for the buckets between those that have calls."""
    width = timedelta(minutes=minutes)
    return _ORIGIN + ((at - _ORIGIN) // width) * width


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


async def live_view(pool: asyncpg.Pool | asyncpg.Connection, campaign_id: int, *, now: datetime | None = None,
                    bucket_minutes: int = 5, hours: float | None = None) -> dict[str, Any]:
    """The campaign's live figures (see the module docstring); LookupError when there is no such campaign.

    `now` fixes the clock (tests; ages and due attempts are measured from it). `hours` limits the
    timeline to the last hours; otherwise it covers the campaign's calls from the first one."""
    now = now or datetime.now(UTC)
    if hours is not None and hours <= 0:
        raise ValueError(f"hours must be positive, got {hours}")
    if isinstance(pool, asyncpg.Pool):
        async with pool.acquire() as conn:
            return await _live_view(conn, campaign_id, now, bucket_minutes, hours)
    return await _live_view(pool, campaign_id, now, bucket_minutes, hours)


async def _live_view(conn: asyncpg.Connection, campaign_id: int, now: datetime, bucket_minutes: int,
                     hours: float | None) -> dict[str, Any]:
    row = await conn.fetchrow(_CAMPAIGN_SQL, campaign_id, now)
    if row is None:
        raise LookupError(_("campagne {id} introuvable").format(id=campaign_id))
    figures = await conn.fetchrow(_FIGURES_SQL, campaign_id, list(QUALIFIED_RESULTS))
    active_rows = await conn.fetch(_ACTIVE_SQL, campaign_id, MAX_ACTIVE_LISTED)
    timeline, width = await _timeline(conn, campaign_id, row, now, bucket_minutes, hours)
    webhooks = await _webhooks(conn, campaign_id)
    funnel = await _funnel(conn, campaign_id)

    contacts = json.loads(row["contacts"])
    ended, answered = figures["ended"], figures["answered"]
    first_p50, first_p95 = _pair(figures["first_audio"])
    turn_p50, turn_p95 = _pair(figures["turns"])
    active = [{
        "id": r["id"],
        "call_uuid": r["call_uuid"],
        # The operator watching (API key, or the database's own credentials for the monitor) sees
        # who is being called; masking is for logs, which travel further.
        "phone": r["phone"],
        "name": r["name"],
        "state": "talking" if r["talking"] else "ringing",
        "since": r["created_at"].isoformat(),
        "seconds": max(0, round((now - r["created_at"]).total_seconds())),
        "talking_seconds": (max(0, round((now - r["answered_at"]).total_seconds()))
                            if r["answered_at"] is not None else None),
        "amd_verdict": r["amd_verdict"],
        "worker": r["worker"],
    } for r in active_rows]
    return {
        "at": now.isoformat(),
        "campaign": {
            "id": row["id"], "name": row["name"], "status": row["status"], "scenario": row["scenario"],
            "max_concurrent_calls": row["max_concurrent_calls"], "created_at": _iso(row["created_at"]),
            "timezone": campaign_timezone(row["compliance"]),
            "started_at": _iso(row["started_at"]), "finished_at": _iso(row["finished_at"]),
            "pause_reason": row["pause_reason"], "paused_by": row["paused_by"],
        },
        "active_calls": active,
        "totals": {
            "contacts": sum(contacts.values()),
            "contacts_by_status": contacts,
            "calls": figures["calls"],
            "active": active_rows[0]["total"] if active_rows else 0,
            "ended": ended,
            "answered": answered,
            # Answered calls the scenario gave no result (older calls, or a machine hung up on
            # before AMD decided): shown, so result shares are never of a subset that looks whole.
            "answered_without_result": figures["answered_without_result"],
            "outcomes": json.loads(figures["outcomes"]),
            "results": json.loads(figures["results"]),
        },
        "rates": {
            "answer": _rate(answered, ended),
            "qualified": _rate(figures["qualified"], answered),
            "opt_out": _rate(figures["opted_out"], answered),
            "machine": _rate(figures["machine"], answered),
        },
        "latencies": {
            "answer_to_first_audio_p50_ms": first_p50,
            "answer_to_first_audio_p95_ms": first_p95,
            "turn_p50_ms": turn_p50,
            "turn_p95_ms": turn_p95,
            "turns": figures["turn_count"],
        },
        "waiting": {
            "due_now": row["due_now"],
            "later": row["due_later"],
            "next_due_at": _iso(row["next_due_at"]),
            # Why the later ones wait, when the compliance gate moved them (outside_hours, weekend,
            # public_holiday, frequency_cap...): with next_due_at, the first legal slot.
            "gate_reasons": sorted(row["gate_reasons"]),
        },
        "bucket_minutes": width,
        "timeline": timeline,
        "webhooks": webhooks,
        "funnel": funnel,
    }


# Per step: how many calls reached it (once each, loops aside), in the order steps are first met;
# how many ended there, and how many of those were a hang-up. Objections matched, most frequent first.
_FUNNEL_SQL = """
WITH s AS (
    SELECT c.id, c.result, x.step, x.pos, jsonb_array_length(c.steps) AS n
    FROM calls c, jsonb_array_elements_text(c.steps) WITH ORDINALITY AS x(step, pos)
    WHERE c.campaign_id = $1 AND jsonb_typeof(c.steps) = 'array'
)
SELECT step, count(DISTINCT id) AS reached, avg(pos) AS at,
       count(DISTINCT id) FILTER (WHERE pos = n) AS ended_here,
       count(DISTINCT id) FILTER (WHERE pos = n AND result = 'HUNG_UP') AS hung_up_here
FROM s GROUP BY step ORDER BY avg(pos), step
"""
_OBJECTIONS_SQL = """
SELECT o->>'id' AS id, count(*) AS n
FROM calls c, jsonb_array_elements(CASE WHEN jsonb_typeof(c.objections) = 'array' THEN c.objections
                                        ELSE '[]'::jsonb END) AS o
WHERE c.campaign_id = $1 AND o->>'id' IS NOT NULL
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10
"""

# How callers felt, per step: their transcript lines (bot.store.calls) carry the sentiment the offline
# NLU gave each turn and the step it answered. Lines stored without a step (older calls) count in
# the campaign's whole only (step NULL).
_SENTIMENT_SQL = """
SELECT t->>'step' AS step, t->>'sentiment' AS sentiment, count(*) AS n
FROM calls c, jsonb_array_elements(CASE WHEN jsonb_typeof(c.transcript) = 'array' THEN c.transcript
                                        ELSE '[]'::jsonb END) AS t
WHERE c.campaign_id = $1 AND t->>'speaker' = 'caller' AND t->>'sentiment' = ANY($2::text[])
GROUP BY 1, 2
"""
SENTIMENTS = tuple(s.value for s in Sentiment)


async def _funnel(conn: asyncpg.Connection, campaign_id: int) -> dict[str, Any]:
    """The scenario's funnel (calls.steps): where people went and where they dropped, and how the
    caller felt at each step (their turns' sentiments, counted)."""
    moods: dict[str | None, dict[str, int]] = {}
    whole = dict.fromkeys(SENTIMENTS, 0)
    for r in await conn.fetch(_SENTIMENT_SQL, campaign_id, list(SENTIMENTS)):
        moods.setdefault(r["step"], dict.fromkeys(SENTIMENTS, 0))[r["sentiment"]] += r["n"]
        whole[r["sentiment"]] += r["n"]
    steps = [{"step": r["step"], "reached": r["reached"], "ended_here": r["ended_here"],
              "hung_up_here": r["hung_up_here"], "sentiments": moods.get(r["step"], dict.fromkeys(SENTIMENTS, 0))}
             for r in await conn.fetch(_FUNNEL_SQL, campaign_id)]
    objections = [{"id": r["id"], "count": r["n"]} for r in await conn.fetch(_OBJECTIONS_SQL, campaign_id)]
    return {"steps": steps, "objections": objections, "sentiments": whole}


_WEBHOOKS_SQL = """
SELECT (SELECT url FROM campaign_webhooks WHERE campaign_id = $1) AS url,
       count(*) FILTER (WHERE status = 'PENDING') AS pending,
       count(*) FILTER (WHERE status = 'DELIVERED') AS delivered,
       count(*) FILTER (WHERE status = 'FAILED') AS failed,
       (SELECT last_error FROM webhook_outbox WHERE campaign_id = $1 AND last_error IS NOT NULL
        ORDER BY id DESC LIMIT 1) AS last_error
FROM webhook_outbox WHERE campaign_id = $1
"""


async def _webhooks(conn: asyncpg.Connection, campaign_id: int) -> dict[str, Any] | None:
    """The CRM link's delivery (bot.integrations): None when the campaign never had events nor a webhook."""
    row = await conn.fetchrow(_WEBHOOKS_SQL, campaign_id)
    if row["url"] is None and not (row["pending"] or row["delivered"] or row["failed"]):
        return None
    return {"configured": row["url"] is not None, "pending": row["pending"], "delivered": row["delivered"],
            "failed": row["failed"], "last_error": row["last_error"]}


async def _timeline(conn: asyncpg.Connection, campaign_id: int, campaign: asyncpg.Record, now: datetime,
                    bucket_minutes: int, hours: float | None) -> tuple[list[dict[str, Any]], int]:
    """Every bucket from the window's start (or the first call) to now (or the campaign's end), empty
    ones included so the chart's x axis is time; each bucket holds the labels that had calls."""
    if hours is not None:
        start: datetime | None = now - timedelta(hours=hours)
    else:
        start = await conn.fetchval(_SPAN_SQL, campaign_id)
        if start is None:
            return [], max(1, bucket_minutes)
    end = min(now, campaign["finished_at"]) if campaign["finished_at"] is not None else now
    end = max(end, start)
    width = bucket_width(end - start, bucket_minutes)
    rows = await conn.fetch(_TIMELINE_SQL, campaign_id, timedelta(minutes=width), _ORIGIN,
                            start if hours is not None else None, now)
    counts: dict[datetime, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["at"], {})[r["label"]] = r["n"]
    step = timedelta(minutes=width)
    first = _bin(start, width)
    last = max([_bin(end, width), *counts])
    buckets = []
    at = first
    while at <= last:
        buckets.append({"at": at.isoformat(), **counts.get(at, {})})
        at += step
    return buckets, width


_REASONS_FR = {"outside_hours": "hors des heures d'appel", "weekend": "week-end", "public_holiday": "jour férié",
               "frequency_cap": "nombre d'appels maximal atteint pour ces contacts",
               "refusal_cooloff": "délai de repos après un refus"}


def explain_waiting(view: dict[str, Any], lang: str | None = None, *, dialer_running: bool = False) -> str | None:
    """Why a running campaign places no call right now, in plain words and in its time zone
    ('Aucun appel possible maintenant (week-end) ; premier créneau légal : lundi 7 décembre, 10:00');
    None when it is calling, or has nothing left."""
    from ..i18n import _, format_slot

    campaign, totals, waiting = view["campaign"], view["totals"], view["waiting"]
    if campaign["status"] != "RUNNING" or totals["active"]:
        return None
    if waiting["due_now"]:
        if dialer_running:  # it is about to take them
            return None
        return _("{n} appel(s) à passer maintenant : aucun dialer ne les prend (lancer « minibot serve » ou "
                 "« minibot campaign run »)", lang).format(n=waiting["due_now"])
    if not waiting["later"] or not waiting["next_due_at"]:
        return None
    when = format_slot(datetime.fromisoformat(waiting["next_due_at"]), campaign.get("timezone"), lang)
    reasons = [_(_REASONS_FR[r], lang) for r in waiting.get("gate_reasons", []) if r in _REASONS_FR]
    if reasons:
        return _("Aucun appel possible maintenant ({why}) ; premier créneau légal : {when}", lang).format(
            why=", ".join(reasons), when=when)
    return _("Prochain appel prévu : {when}", lang).format(when=when)
