"""What an Asterisk outage changes in the database: an attempt given back when nothing rang,
and campaigns paused (and resumed) with the reason an operator reads."""

from __future__ import annotations

from datetime import datetime

import asyncpg

Conn = asyncpg.Pool | asyncpg.Connection


async def give_back(conn: asyncpg.Connection, *, attempt_id: int, campaign_id: int, contact_id: int,
                    call_id: int | None, due_at: datetime, reason: str) -> None:
    """The originate was refused (or never sent): nothing rang, so it is no dial. The call row goes
    (the 4-in-30-days cap counts call rows) and the same attempt waits in the queue again."""
    await conn.execute(
        """UPDATE attempts SET status = 'SCHEDULED', call_id = NULL, lease_owner = NULL, lease_expires_at = NULL,
                  due_at = $2, gate_reasons = $3, updated_at = now() WHERE id = $1""",
        attempt_id, due_at, [reason])
    if call_id is not None:
        await conn.execute("DELETE FROM calls WHERE id = $1 AND status = 'DIALING'", call_id)
    await conn.execute(
        """UPDATE campaign_contacts SET status = 'PENDING', updated_at = now()
           WHERE campaign_id = $1 AND contact_id = $2 AND status = 'IN_PROGRESS'""", campaign_id, contact_id)


async def pause(db: Conn, campaign_id: int, reason: str, *, by: str) -> bool:
    """RUNNING → PAUSED with its reason; False when it was not running (already paused, stopped)."""
    done = await db.execute(
        """UPDATE campaigns SET status = 'PAUSED', pause_reason = $2, paused_by = $3, paused_at = now(),
                  updated_at = now() WHERE id = $1 AND status = 'RUNNING'""", campaign_id, reason, by)
    return done.endswith(" 1")


async def note_operator(db: Conn, campaign_id: int, action: str) -> None:
    """After an operator's pause or resume: who paused it (a resume clears the reason)."""
    if action == "pause":
        await db.execute(
            """UPDATE campaigns SET pause_reason = 'mise en pause par un opérateur', paused_by = 'operator',
                      paused_at = now() WHERE id = $1 AND status = 'PAUSED'""", campaign_id)
    elif action in ("resume", "cancel", "stop", "complete"):
        await db.execute("UPDATE campaigns SET pause_reason = NULL, paused_by = NULL, paused_at = NULL WHERE id = $1",
                         campaign_id)


async def breaker_paused(db: Conn, campaign_ids: list[int] | None = None) -> list[asyncpg.Record]:
    """Campaigns the breaker paused (never those an operator paused)."""
    return await db.fetch(
        """SELECT id, pause_reason, extract(epoch FROM clock_timestamp() - paused_at)::float AS paused_for
           FROM campaigns
           WHERE status = 'PAUSED' AND paused_by = 'breaker' AND ($1::bigint[] IS NULL OR id = ANY($1))""",
        campaign_ids)


async def resume_from_breaker(db: Conn, campaign_id: int) -> bool:
    """PAUSED by the breaker → RUNNING; an operator's pause is never undone here."""
    done = await db.execute(
        """UPDATE campaigns SET status = 'RUNNING', pause_reason = NULL, paused_by = NULL, paused_at = NULL,
                  updated_at = now() WHERE id = $1 AND status = 'PAUSED' AND paused_by = 'breaker'""", campaign_id)
    return done.endswith(" 1")
