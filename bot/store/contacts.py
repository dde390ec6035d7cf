"""Contact rows: look up stored phones, insert many at once, enrol contacts in a campaign.

Bulk statements over arrays (``unnest``, ``= ANY``) rather than one statement per row: an import of
100,000 contacts is a few round trips, not 100,000. Callers run these on one connection inside one
transaction, so an import either lands whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

BATCH = 10_000  # rows per statement: large enough to be fast, small enough to keep messages modest


class ContactFields(Protocol):
    """What an insert needs of a contact (bot.contacts.importer.Contact has it)."""

    phone: str
    first_name: str | None
    last_name: str | None
    email: str | None
    company: str | None
    timezone: str | None
    extra: dict[str, Any]


async def campaign_status(conn: asyncpg.Connection, campaign_id: int) -> str | None:
    """The campaign's status, or None when there is no such campaign."""
    return await conn.fetchval("SELECT status FROM campaigns WHERE id = $1", campaign_id)


async def stored_fields(conn: asyncpg.Connection, contact_ids: Sequence[int]) -> dict[int, asyncpg.Record]:
    """Contact id → its stored fields (first_name, last_name, email, company, timezone, extra)."""
    found: dict[int, asyncpg.Record] = {}
    for start in range(0, len(contact_ids), BATCH):
        rows = await conn.fetch(
            """SELECT id, first_name, last_name, email, company, timezone, extra
               FROM contacts WHERE id = ANY($1::bigint[])""",
            list(contact_ids[start:start + BATCH]))
        found.update((r["id"], r) for r in rows)
    return found


async def update_fields(conn: asyncpg.Connection,
                        changes: Sequence[tuple[int, dict[str, Any], dict[str, Any]]]) -> None:
    """Apply (contact id, fields, extra keys) changes; extra keys are merged into what is stored."""
    for contact_id, fields, extra in changes:
        sets = [f"{name} = ${i}" for i, name in enumerate(fields, 3)]
        await conn.execute(
            f"UPDATE contacts SET {', '.join([*sets, 'extra = extra || $2::jsonb'])} WHERE id = $1",
            contact_id, json.dumps(extra, ensure_ascii=False, default=str), *fields.values())


async def existing_phones(conn: asyncpg.Connection, phones: Sequence[str]) -> dict[str, int]:
    """Phone → contact id, for the given phones that are already stored."""
    found: dict[str, int] = {}
    for start in range(0, len(phones), BATCH):
        rows = await conn.fetch("SELECT id, phone FROM contacts WHERE phone = ANY($1::text[])",
                                list(phones[start:start + BATCH]))
        found.update((r["phone"], r["id"]) for r in rows)
    return found


async def insert_contacts(conn: asyncpg.Connection, contacts: Sequence[ContactFields],
                          source: str | None = None) -> dict[str, int]:
    """Insert contacts; phone → new id. A phone stored meanwhile by someone else is skipped (ON CONFLICT),
    so it is missing from the result and the caller can report it as already stored."""
    inserted: dict[str, int] = {}
    for start in range(0, len(contacts), BATCH):
        batch = contacts[start:start + BATCH]
        rows = await conn.fetch(
            """INSERT INTO contacts (phone, first_name, last_name, email, company, timezone, extra, source)
               SELECT t.phone, t.first_name, t.last_name, t.email, t.company, t.timezone, t.extra::jsonb, $8
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                    AS t (phone, first_name, last_name, email, company, timezone, extra)
               ON CONFLICT (phone) DO NOTHING
               RETURNING id, phone""",
            [c.phone for c in batch], [c.first_name for c in batch], [c.last_name for c in batch],
            [c.email for c in batch], [c.company for c in batch], [c.timezone for c in batch],
            [json.dumps(c.extra, ensure_ascii=False) for c in batch], source)
        inserted.update((r["phone"], r["id"]) for r in rows)
    return inserted


async def enrolled_already(conn: asyncpg.Connection, campaign_id: int, contact_ids: Sequence[int]) -> set[int]:
    """Those of the contacts that are already in the campaign."""
    found: set[int] = set()
    for start in range(0, len(contact_ids), BATCH):
        rows = await conn.fetch(
            "SELECT contact_id FROM campaign_contacts WHERE campaign_id = $1 AND contact_id = ANY($2::bigint[])",
            campaign_id, list(contact_ids[start:start + BATCH]))
        found.update(r["contact_id"] for r in rows)
    return found


async def enrol(conn: asyncpg.Connection, campaign_id: int, contact_ids: Sequence[int]) -> int:
    """Add contacts to a campaign, each with its first attempt due now; contacts already in it are left
    as they are. Returns how many were really added."""
    enrolled = 0
    for start in range(0, len(contact_ids), BATCH):
        # a data-modifying CTE runs to completion even unread: attempts are planned for exactly the rows added
        enrolled += await conn.fetchval(
            """WITH added AS (
                   INSERT INTO campaign_contacts (campaign_id, contact_id)
                   SELECT $1, unnest($2::bigint[])
                   ON CONFLICT DO NOTHING
                   RETURNING contact_id),
               planned AS (
                   INSERT INTO attempts (campaign_id, contact_id, number, reason, status, due_at)
                   SELECT $1, contact_id, 1, 'first', 'SCHEDULED', now() FROM added
                   ON CONFLICT DO NOTHING)
               SELECT count(*) FROM added""",
            campaign_id, list(contact_ids[start:start + BATCH]))
    return enrolled


async def contact_fields(conn: asyncpg.Connection | asyncpg.Pool, phone: str) -> dict[str, str] | None:
    """A stored contact's fields (names, email, company and the file's other columns) by phone,
    as a scenario's variables read them; None when the number is not a contact."""
    row = await conn.fetchrow(
        "SELECT first_name, last_name, email, company, extra FROM contacts WHERE phone = $1", phone)
    if row is None:
        return None
    extra = json.loads(row["extra"]) if isinstance(row["extra"], str) else dict(row["extra"] or {})
    fields = {k: str(v) for k, v in extra.items() if v not in (None, "")}
    fields.update({k: row[k] for k in ("first_name", "last_name", "email", "company") if row[k]})
    return fields
