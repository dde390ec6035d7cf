"""A campaign's webhook settings, and the outbox of events waiting to be delivered.

`enqueue` runs inside the transaction that concludes a call: the event is committed with the
call's result or not at all, so neither a CRM that is down nor a MiniBot that stops loses one.
The delivery worker (bot.integrations.delivery) claims due events with FOR UPDATE SKIP LOCKED, so
several `minibot serve` processes share the outbox; while one sends an event, its
`next_attempt_at` is pushed past the request's timeout (a lease), so no other process sends it
at the same time, and a process that dies mid-send leaves it to be sent again, with the same id.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from .events import CALL_ENDED, call_event
from .signing import new_secret

log = logging.getLogger(__name__)
STATUSES = ("PENDING", "DELIVERED", "FAILED")


@dataclass(frozen=True)
class Webhook:
    campaign_id: int
    url: str | None
    secret: str
    lookup_url: str | None
    lookup_timeout_s: float
    lookup_required: bool
    max_attempts: int

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Webhook:
        return cls(row["campaign_id"], row["url"], row["secret"], row["lookup_url"], row["lookup_timeout_s"],
                   row["lookup_required"], row["max_attempts"])

    def to_json(self) -> dict[str, Any]:
        """What the API and the CLI show: never the secret itself."""
        return {"campaign_id": self.campaign_id, "url": self.url, "secret_set": bool(self.secret),
                "lookup_url": self.lookup_url, "lookup_timeout_s": self.lookup_timeout_s,
                "lookup_required": self.lookup_required, "max_attempts": self.max_attempts}


def check_url(url: str | None, what: str = "url") -> str | None:
    """An http(s) URL, without credentials or a query string (those end up in logs and screens)."""
    if url is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what}: une adresse http:// ou https:// est attendue, pas {url!r}")
    if parts.username or parts.password or parts.query:
        raise ValueError(f"{what}: ni identifiants ni paramètres dans l'adresse (le secret partagé signe "
                         "chaque requête)")
    return url.strip()


async def set_webhook(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int, *, url: str | None,
                      secret: str | None = None, lookup_url: str | None = None, lookup_timeout_s: float = 2.0,
                      lookup_required: bool = False, max_attempts: int = 15) -> tuple[Webhook, str | None]:
    """Create or replace a campaign's webhook. Returns it and, when a secret was generated, that
    secret (shown once, for the operator to give the CRM)."""
    url, lookup_url = check_url(url), check_url(lookup_url, "lookup_url")
    if url is None and lookup_url is None:
        raise ValueError("url: au moins une adresse (webhook ou consultation avant l'appel) est attendue")
    if not 0 < lookup_timeout_s <= 30:
        raise ValueError("lookup_timeout_s: entre 0 et 30 secondes")
    if max_attempts < 1:
        raise ValueError("max_attempts: au moins 1")
    generated = None
    if secret is None:
        kept = await conn.fetchval("SELECT secret FROM campaign_webhooks WHERE campaign_id = $1", campaign_id)
        secret = kept or new_secret()
        generated = None if kept else secret
    elif len(secret) < 16:
        raise ValueError("secret: au moins 16 caractères")
    row = await conn.fetchrow(
        """INSERT INTO campaign_webhooks (campaign_id, url, secret, lookup_url, lookup_timeout_s, lookup_required,
                                          max_attempts)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (campaign_id) DO UPDATE SET url = $2, secret = $3, lookup_url = $4, lookup_timeout_s = $5,
                  lookup_required = $6, max_attempts = $7, updated_at = now()
           RETURNING *""", campaign_id, url, secret, lookup_url, lookup_timeout_s, lookup_required, max_attempts)
    return Webhook.from_row(row), generated


async def get_webhook(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> Webhook | None:
    row = await conn.fetchrow("SELECT * FROM campaign_webhooks WHERE campaign_id = $1", campaign_id)
    return Webhook.from_row(row) if row else None


async def remove_webhook(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int) -> bool:
    """Stop sending new events; those already in the outbox are still delivered."""
    return await conn.fetchval("DELETE FROM campaign_webhooks WHERE campaign_id = $1 RETURNING true",
                               campaign_id) or False


async def enqueue_call_ended(conn: asyncpg.Connection, *, campaign_id: int | None, call_id: int | None,
                             callback_at: datetime | None = None, next_attempt_at: datetime | None = None,
                             opted_out: bool | None = None) -> str | None:
    """Put the call's event in the outbox if its campaign has a webhook (inside the caller's
    transaction). A second conclusion of the same call (the lease recovery, then the call's real
    end) replaces the pending event's body, with the same event id; a delivered one is left as is.
    Returns the event id, or None when the campaign has no webhook."""
    if campaign_id is None or call_id is None:
        return None
    url = await conn.fetchval("SELECT url FROM campaign_webhooks WHERE campaign_id = $1 AND url IS NOT NULL",
                              campaign_id)
    if url is None:
        return None
    event = await call_event(conn, call_id, callback_at=callback_at, next_attempt_at=next_attempt_at,
                             opted_out=opted_out)
    if event is None:
        return None
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    await conn.execute(
        """INSERT INTO webhook_outbox (event_id, kind, campaign_id, call_id, url, body)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (call_id, kind) WHERE call_id IS NOT NULL
           DO UPDATE SET body = EXCLUDED.body, url = EXCLUDED.url WHERE webhook_outbox.status = 'PENDING'""",
        uuid_of(event["id"]), CALL_ENDED, campaign_id, call_id, url, body)
    return event["id"]


def uuid_of(text: str) -> uuid.UUID:  # asyncpg takes uuid.UUID for uuid columns
    return uuid.UUID(text)


@dataclass(frozen=True)
class Pending:
    id: int
    event_id: str
    url: str
    body: str
    secret: str | None  # None: the campaign's webhook was removed since; the event waits for a new one
    attempts: int  # this try included
    max_attempts: int


async def claim_due(pool: asyncpg.Pool, *, limit: int, lease: timedelta) -> list[Pending]:
    """Due events, leased to this worker for `lease` (see the module's docstring)."""
    rows = await pool.fetch(
        """WITH due AS (
               SELECT id FROM webhook_outbox WHERE status = 'PENDING' AND next_attempt_at <= now()
               ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
           UPDATE webhook_outbox o SET attempts = o.attempts + 1, next_attempt_at = now() + $2::interval
           FROM due WHERE o.id = due.id
           RETURNING o.id, o.event_id, o.url, o.body, o.attempts, o.campaign_id""", limit, lease)
    hooks = {r["campaign_id"]: r for r in await pool.fetch(
        "SELECT campaign_id, secret, max_attempts FROM campaign_webhooks WHERE campaign_id = ANY($1::bigint[])",
        list({r["campaign_id"] for r in rows}))}
    out = []
    for r in sorted(rows, key=lambda r: r["id"]):
        hook = hooks.get(r["campaign_id"])
        out.append(Pending(r["id"], str(r["event_id"]), r["url"], r["body"], hook["secret"] if hook else None,
                           r["attempts"], hook["max_attempts"] if hook else 1))
    return out


async def mark_delivered(pool: asyncpg.Pool, outbox_id: int, status: int) -> None:
    await pool.execute(
        """UPDATE webhook_outbox SET status = 'DELIVERED', delivered_at = now(), last_status = $2, last_error = NULL
           WHERE id = $1""", outbox_id, status)


async def mark_failed_try(pool: asyncpg.Pool, outbox_id: int, *, status: int | None, error: str,
                          retry_in: timedelta | None) -> None:
    """A try that did not get a 2xx: try again in `retry_in`, or give up (None): FAILED, kept
    for the operator to see and resend (`requeue`)."""
    await pool.execute(
        """UPDATE webhook_outbox SET last_status = $2, last_error = $3,
                  status = CASE WHEN $4::interval IS NULL THEN 'FAILED' ELSE 'PENDING' END,
                  next_attempt_at = CASE WHEN $4::interval IS NULL THEN next_attempt_at ELSE now() + $4::interval END
           WHERE id = $1""", outbox_id, status, error[:500], retry_in)


async def requeue(conn: asyncpg.Connection | asyncpg.Pool, *, campaign_id: int | None = None,
                  event_id: str | None = None) -> int:
    """FAILED events back to PENDING, due now, with a fresh count of tries (same event ids)."""
    result = await conn.execute(
        """UPDATE webhook_outbox SET status = 'PENDING', attempts = 0, next_attempt_at = now()
           WHERE status = 'FAILED' AND ($1::bigint IS NULL OR campaign_id = $1)
             AND ($2::uuid IS NULL OR event_id = $2)""", campaign_id, uuid_of(event_id) if event_id else None)
    return int(result.split()[-1])


async def outbox_counts(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: int | None = None) -> dict[str, int]:
    """Events by status (every status present, zero included)."""
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM webhook_outbox WHERE $1::bigint IS NULL OR campaign_id = $1 GROUP BY 1",
        campaign_id)
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({r["status"]: r["n"] for r in rows})
    return counts


async def list_events(conn: asyncpg.Connection | asyncpg.Pool, *, campaign_id: int | None = None,
                      status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT o.id, o.event_id, o.kind, o.campaign_id, o.call_id, c.call_uuid, o.status, o.attempts,
                  o.next_attempt_at, o.last_status, o.last_error, o.created_at, o.delivered_at
           FROM webhook_outbox o LEFT JOIN calls c ON c.id = o.call_id
           WHERE ($1::bigint IS NULL OR o.campaign_id = $1) AND ($2::text IS NULL OR o.status = $2)
           ORDER BY o.id DESC LIMIT $3""", campaign_id, status, limit)
    return [{**dict(r), "event_id": str(r["event_id"])} for r in rows]


async def housekeep(conn: asyncpg.Connection | asyncpg.Pool, *, keep_delivered: timedelta = timedelta(days=30)) -> int:
    """Keep the outbox to what it is for: delivered events go after `keep_delivered`, and an event
    whose call the retention purge emptied (calls.purged_at) loses the transcript and recording its
    body copied, so the outbox never keeps words longer than the call does. Returns rows touched."""
    deleted = await conn.execute(
        "DELETE FROM webhook_outbox WHERE status = 'DELIVERED' AND delivered_at < now() - $1::interval",
        keep_delivered)
    scrubbed = await conn.execute(
        """UPDATE webhook_outbox o
              SET body = jsonb_set(jsonb_set(o.body::jsonb, '{call,transcript}', '[]'), '{call,recording}',
                                   'null')::text
             FROM calls c
            WHERE c.id = o.call_id AND c.purged_at IS NOT NULL
              AND jsonb_typeof(o.body::jsonb -> 'call' -> 'transcript') = 'array'
              AND (jsonb_array_length(o.body::jsonb -> 'call' -> 'transcript') > 0
                   OR o.body::jsonb -> 'call' ->> 'recording' IS NOT NULL)""")
    return int(deleted.split()[-1]) + int(scrubbed.split()[-1])
