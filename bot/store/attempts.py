"""The attempts queue: what the dialer claims, leases, and closes.

Claims are serialised by a transaction-level advisory lock (a few milliseconds each), so the
concurrency limits and the pace hold exactly across every worker of every machine; the rows
themselves are taken with FOR UPDATE SKIP LOCKED. Business times (due, pace) use the dialer's
clock; leases use the database's clock, the one every machine shares.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

_CLAIM_LOCK = 72_190_412  # pg_advisory_xact_lock key: "MiniBot claims"
ACTIVE = ("CLAIMED", "DIALING")


@dataclass(frozen=True)
class Due:
    """A due attempt with what dialling it needs: the contact and its campaign."""

    attempt_id: int
    campaign_id: int
    contact_id: int
    number: int
    reason: str
    phone: str
    contact: dict[str, Any]  # first_name, last_name, email, company, timezone, and the file's other columns
    scenario: str
    variables: dict[str, str]
    compliance: dict[str, Any]
    retry_policy: dict[str, Any]
    scenario_yaml: str | None = None  # the scenario's text stored when the campaign started (None: before 0003)
    scenario_version: str | None = None
    scenario_dir: str | None = None


async def lock_claims(conn: asyncpg.Connection) -> None:
    """Serialise claims until the end of the transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _CLAIM_LOCK)


async def next_due(conn: asyncpg.Connection, now: datetime, *, campaign_ids: list[int] | None = None,
                   max_total: int | None = None, skip: list[int] | None = None) -> Due | None:
    """The oldest due attempt of a running campaign under its concurrency limit and pace, locked
    for this transaction; None when nothing may be dialled now."""
    if max_total is not None:
        active = await conn.fetchval("SELECT count(*) FROM attempts WHERE status = ANY($1::text[])", list(ACTIVE))
        if active >= max_total:
            return None
    # Campaigns that may dial now are few: find them first (the active counts come from the small
    # partial index of leased attempts), then walk the due index in order to the first attempt of one.
    row = await conn.fetchrow(
        """WITH active AS (
               SELECT campaign_id, count(*) AS n FROM attempts
               WHERE status IN ('CLAIMED', 'DIALING') GROUP BY campaign_id),
           dialable AS (
               SELECT c.id FROM campaigns c LEFT JOIN active x ON x.campaign_id = c.id
               WHERE c.status = 'RUNNING' AND c.next_dial_at <= $1 AND coalesce(x.n, 0) < c.max_concurrent_calls
                 AND ($2::bigint[] IS NULL OR c.id = ANY($2)))
           SELECT a.id, a.campaign_id, a.contact_id, a.number, a.reason,
                  k.phone, k.first_name, k.last_name, k.email, k.company, k.timezone, k.extra,
                  c.scenario, c.variables, c.compliance, c.retry_policy,
                  c.scenario_yaml, c.scenario_version, c.scenario_dir
           FROM attempts a
           JOIN campaigns c ON c.id = a.campaign_id
           JOIN contacts k ON k.id = a.contact_id
           WHERE a.status = 'SCHEDULED' AND a.due_at <= $1 AND a.campaign_id IN (SELECT id FROM dialable)
             AND NOT (a.id = ANY($3::bigint[]))
           ORDER BY a.due_at, a.id
           LIMIT 1
           FOR UPDATE OF a SKIP LOCKED""",
        now, campaign_ids, skip or [])
    if row is None:
        return None
    contact = {k: row[k] for k in ("first_name", "last_name", "email", "company", "timezone") if row[k]}
    extra = json.loads(row["extra"])
    contact = {**{k: str(v) for k, v in extra.items() if v not in (None, "")}, **contact}
    return Due(attempt_id=row["id"], campaign_id=row["campaign_id"], contact_id=row["contact_id"],
               number=row["number"], reason=row["reason"], phone=row["phone"], contact=contact,
               scenario=row["scenario"], variables=json.loads(row["variables"]),
               compliance=json.loads(row["compliance"]), retry_policy=json.loads(row["retry_policy"]),
               scenario_yaml=row["scenario_yaml"], scenario_version=row["scenario_version"],
               scenario_dir=row["scenario_dir"])


async def mark_claimed(conn: asyncpg.Connection, due: Due, worker: str, lease: timedelta, now: datetime) -> None:
    """Take the attempt under a lease, and move the campaign's pace on by one dial."""
    await conn.execute(
        """UPDATE attempts SET status = 'CLAIMED', lease_owner = $2, lease_expires_at = clock_timestamp() + $3,
                  gate_reasons = '{}', updated_at = now() WHERE id = $1""",
        due.attempt_id, worker, lease)
    await conn.execute(
        """UPDATE campaigns
           SET next_dial_at = greatest(next_dial_at, $2) + make_interval(secs => 1.0 / calls_per_second)
           WHERE id = $1""", due.campaign_id, now)
    await conn.execute(
        """UPDATE campaign_contacts SET status = 'IN_PROGRESS', updated_at = now()
           WHERE campaign_id = $1 AND contact_id = $2""", due.campaign_id, due.contact_id)


async def reschedule(conn: asyncpg.Connection, attempt_id: int, due_at: datetime, reasons: list[str]) -> None:
    """Not now (the gate said so): the same attempt, later."""
    await conn.execute(
        """UPDATE attempts SET due_at = $2, gate_reasons = $3, status = 'SCHEDULED', lease_owner = NULL,
                  lease_expires_at = NULL, updated_at = now() WHERE id = $1""", attempt_id, due_at, reasons)


async def skip(conn: asyncpg.Connection, due: Due, reasons: list[str]) -> None:
    """Never (opt-out, blacklist, Bloctel, no consent): the contact leaves the campaign."""
    await conn.execute(
        "UPDATE attempts SET status = 'SKIPPED', gate_reasons = $2, updated_at = now() WHERE id = $1",
        due.attempt_id, reasons)
    await conn.execute(
        """UPDATE campaign_contacts SET status = 'EXCLUDED', result = $3, updated_at = now()
           WHERE campaign_id = $1 AND contact_id = $2""", due.campaign_id, due.contact_id, ",".join(reasons))


async def mark_dialing(conn: asyncpg.Connection, attempt_id: int, worker: str, call_id: int) -> bool:
    """The call row exists: from now on a lost worker means "maybe dialled", never "dial again"."""
    done = await conn.execute(
        """UPDATE attempts SET status = 'DIALING', call_id = $3, updated_at = now()
           WHERE id = $1 AND lease_owner = $2 AND status = 'CLAIMED'""", attempt_id, worker, call_id)
    return done.endswith(" 1")


async def renew_leases(db: asyncpg.Pool | asyncpg.Connection, worker: str, attempt_ids: list[int],
                       lease: timedelta) -> set[int]:
    """Extend this worker's leases; returns the ids it still holds."""
    if not attempt_ids:
        return set()
    rows = await db.fetch(
        """UPDATE attempts SET lease_expires_at = clock_timestamp() + $3
           WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND status = ANY($4::text[]) RETURNING id""",
        worker, attempt_ids, lease, list(ACTIVE))
    return {r["id"] for r in rows}


async def release_claimed(db: asyncpg.Pool | asyncpg.Connection, worker: str) -> int:
    """At shutdown: attempts claimed but not dialled go back to the queue at once."""
    done = await db.execute(
        """UPDATE attempts SET status = 'SCHEDULED', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
           WHERE lease_owner = $1 AND status = 'CLAIMED'""", worker)
    return int(done.split()[-1])


async def requeue_expired_claims(db: asyncpg.Pool | asyncpg.Connection) -> int:
    """Claims whose worker vanished before dialling: nobody was called, so back to the queue."""
    done = await db.execute(
        """UPDATE attempts SET status = 'SCHEDULED', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
           WHERE status = 'CLAIMED' AND lease_expires_at < clock_timestamp()""")
    return int(done.split()[-1])


async def expired_dialing(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Attempts whose worker vanished after the call row was written (the number may have rung)."""
    return await conn.fetch(
        """SELECT a.id, a.campaign_id, a.contact_id, a.call_id, a.lease_owner, c.retry_policy, k.phone,
                  (SELECT call_uuid FROM calls WHERE id = a.call_id) AS call_uuid
           FROM attempts a JOIN campaigns c ON c.id = a.campaign_id JOIN contacts k ON k.id = a.contact_id
           WHERE a.status = 'DIALING' AND a.lease_expires_at < clock_timestamp()
           FOR UPDATE OF a SKIP LOCKED""")


async def retries_made(conn: asyncpg.Connection, campaign_id: int, contact_id: int, reason: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM attempts WHERE campaign_id = $1 AND contact_id = $2 AND reason = $3",
        campaign_id, contact_id, reason)


async def schedule(conn: asyncpg.Connection, campaign_id: int, contact_id: int, *, due_at: datetime, reason: str,
                   ) -> int:
    number = await conn.fetchval(
        "SELECT coalesce(max(number), 0) + 1 FROM attempts WHERE campaign_id = $1 AND contact_id = $2",
        campaign_id, contact_id)
    return await conn.fetchval(
        """INSERT INTO attempts (campaign_id, contact_id, number, reason, due_at)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""", campaign_id, contact_id, number, reason, due_at)


async def close(conn: asyncpg.Connection, attempt_id: int, worker: str | None) -> bool:
    """The attempt is over. False when this worker no longer held it (its lease was taken back)."""
    done = await conn.execute(
        """UPDATE attempts SET status = 'DONE', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
           WHERE id = $1 AND status = 'DIALING' AND ($2::text IS NULL OR lease_owner = $2)""", attempt_id, worker)
    return done.endswith(" 1")


_CAMPAIGN_LOCK = "SELECT 1 FROM campaigns WHERE id = $1 FOR NO KEY UPDATE"


async def lock_campaign(conn: asyncpg.Connection, campaign_id: int) -> None:
    """Lock the campaign row until the end of the transaction (conclusions of one campaign queue here).

    NO KEY UPDATE, not UPDATE: a conclusion's transaction has already written rows that reference
    the campaign (the call, its attempt), each a key-share lock on its row. FOR UPDATE waits for
    the other conclusions' key-share locks while they wait for it: PostgreSQL's "deadlock
    detected" when calls end together (seen as Asterisk stopped). NO KEY UPDATE still excludes
    every other conclusion, and the status update below needs no more."""
    await conn.execute(_CAMPAIGN_LOCK, campaign_id)


async def complete_finished_campaigns(conn: asyncpg.Connection, campaign_id: int) -> bool:
    """A running campaign with nothing left to dial is complete.

    The campaign row is locked first: two calls ending together would otherwise each see the
    other's attempt still open (neither committed yet) and neither would complete it."""
    await conn.execute(_CAMPAIGN_LOCK, campaign_id)
    done = await conn.execute(
        """UPDATE campaigns SET status = 'COMPLETED', finished_at = now(), updated_at = now()
           WHERE id = $1 AND status = 'RUNNING' AND NOT EXISTS (
               SELECT 1 FROM attempts WHERE campaign_id = $1 AND status IN ('SCHEDULED', 'CLAIMED', 'DIALING'))""",
        campaign_id)
    return done.endswith(" 1")


async def complete_idle_campaigns(db: asyncpg.Pool | asyncpg.Connection) -> list[int]:
    """Running campaigns with nothing left to dial (e.g. every contact opted out by hand): complete."""
    rows = await db.fetch(
        """UPDATE campaigns c SET status = 'COMPLETED', finished_at = now(), updated_at = now()
           WHERE c.status = 'RUNNING' AND EXISTS (SELECT 1 FROM campaign_contacts WHERE campaign_id = c.id)
             AND NOT EXISTS (SELECT 1 FROM attempts
                             WHERE campaign_id = c.id AND status IN ('SCHEDULED', 'CLAIMED', 'DIALING'))
           RETURNING c.id""")
    return [r["id"] for r in rows]
