"""The SQL behind the compliance gate and `minibot compliance`: opt-outs, blacklist, Bloctel,
consent ledger, and the attempt history the frequency cap and the refusal cool-off read.

Every function takes an asyncpg connection or pool (both have fetch/execute). Phone numbers are
E.164 strings; callers normalise them first (bot.contacts.phones.to_e164).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool  # anything with fetch/fetchrow/fetchval/execute


def _json(value: Any) -> Any:
    """jsonb arrives as text unless a codec is set on the pool; accept both."""
    return json.loads(value) if isinstance(value, str | bytes) else value


# -- opt-outs: every request is kept as evidence, none is ever deleted ----------------------------

@dataclass(frozen=True)
class OptOut:
    id: int
    phone: str
    source: str
    evidence: str
    call_id: int | None
    campaign_id: int | None
    created_at: datetime


_OPT_OUT_COLUMNS = "id, phone, source, evidence, call_id, campaign_id, created_at"


async def record_opt_out(conn: Conn, phone: str, *, source: str, evidence: str = "", call_id: int | None = None,
                         campaign_id: int | None = None) -> int:
    """Record one do-not-call request (source: call, cli, api, import); its id. A second request adds a row."""
    return await conn.fetchval(
        "INSERT INTO opt_outs (phone, source, evidence, call_id, campaign_id) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        phone, source, evidence, call_id, campaign_id)


async def latest_opt_out(conn: Conn, phone: str) -> OptOut | None:
    row = await conn.fetchrow(
        f"SELECT {_OPT_OUT_COLUMNS} FROM opt_outs WHERE phone = $1 ORDER BY created_at DESC, id DESC LIMIT 1", phone)
    return OptOut(**dict(row)) if row else None


async def is_opted_out(conn: Conn, phone: str) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM opt_outs WHERE phone = $1)", phone)


async def list_opt_outs(conn: Conn, phone: str | None = None) -> list[OptOut]:
    """Every request, oldest first (one phone's when given)."""
    rows = await conn.fetch(
        f"SELECT {_OPT_OUT_COLUMNS} FROM opt_outs WHERE $1::text IS NULL OR phone = $1 ORDER BY created_at, id", phone)
    return [OptOut(**dict(r)) for r in rows]


# -- blacklist: the operator's own do-not-call list ------------------------------------------------

@dataclass(frozen=True)
class BlacklistEntry:
    phone: str
    reason: str
    created_at: datetime


async def blacklist_add(conn: Conn, phone: str, reason: str = "") -> bool:
    """True when added; False when it was already there (the reason is then updated)."""
    inserted = await conn.fetchval(
        "INSERT INTO blacklist (phone, reason) VALUES ($1, $2) "
        "ON CONFLICT (phone) DO UPDATE SET reason = EXCLUDED.reason RETURNING (xmax = 0)", phone, reason)
    return bool(inserted)


async def blacklist_remove(conn: Conn, phone: str) -> bool:
    """True when the number was on the list."""
    return await conn.execute("DELETE FROM blacklist WHERE phone = $1", phone) != "DELETE 0"


async def blacklist_list(conn: Conn) -> list[BlacklistEntry]:
    rows = await conn.fetch("SELECT phone, reason, created_at FROM blacklist ORDER BY created_at, phone")
    return [BlacklistEntry(**dict(r)) for r in rows]


async def is_blacklisted(conn: Conn, phone: str) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM blacklist WHERE phone = $1)", phone)


# -- Bloctel: the imported opposition list ---------------------------------------------------------

@dataclass(frozen=True)
class BloctelImport:
    id: int
    file_name: str
    sha256: str
    numbers: int
    imported_at: datetime


async def in_bloctel(conn: Conn, phone: str) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM bloctel_numbers WHERE phone = $1)", phone)


async def latest_bloctel_import(conn: Conn) -> BloctelImport | None:
    row = await conn.fetchrow("SELECT id, file_name, sha256, numbers, imported_at FROM bloctel_imports "
                              "ORDER BY imported_at DESC, id DESC LIMIT 1")
    return BloctelImport(**dict(row)) if row else None


async def replace_bloctel(conn: asyncpg.Connection, phones: Sequence[str], *, file_name: str, sha256: str) -> int:
    """Replace the whole list with `phones` (unique, E.164) in one transaction; the import's id.
    Earlier imports stay in bloctel_imports as the trace of what was checked when."""
    async with conn.transaction():
        await conn.execute("DELETE FROM bloctel_numbers")
        import_id = await conn.fetchval(
            "INSERT INTO bloctel_imports (file_name, sha256, numbers) VALUES ($1, $2, $3) RETURNING id",
            file_name, sha256, len(phones))
        # COPY: an opposition list can hold hundreds of thousands of numbers.
        await conn.copy_records_to_table("bloctel_numbers", records=((p, import_id) for p in phones),
                                         columns=("phone", "import_id"))
    return import_id


# -- consent ledger ---------------------------------------------------------------------------------

async def grant_consent(conn: Conn, phone: str, *, source: str, evidence: str,
                        campaign_id: int | None = None) -> int:
    """Record a consent (campaign_id None: every campaign); its id."""
    return await conn.fetchval(
        "INSERT INTO consents (phone, campaign_id, source, evidence) VALUES ($1, $2, $3, $4) RETURNING id",
        phone, campaign_id, source, evidence)


async def revoke_consent(conn: Conn, phone: str, *, campaign_id: int | None = None) -> int:
    """Revoke the phone's active consents: those for `campaign_id`, or every one when it is None.
    Rows stay (revoked_at set) as the record of what was agreed and when it ended. How many were revoked."""
    status = await conn.execute("UPDATE consents SET revoked_at = now() WHERE phone = $1 AND revoked_at IS NULL "
                                "AND ($2::bigint IS NULL OR campaign_id = $2)", phone, campaign_id)
    return int(status.rsplit(" ", 1)[1])  # "UPDATE n"


async def has_consent(conn: Conn, phone: str, campaign_id: int | None = None) -> bool:
    """An unrevoked consent for this campaign, or one for every campaign (campaign_id NULL)."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM consents WHERE phone = $1 AND revoked_at IS NULL "
        "AND (campaign_id IS NULL OR campaign_id = $2))", phone, campaign_id)


# -- attempt history --------------------------------------------------------------------------------

async def attempts_since(conn: Conn, phone: str, since: datetime) -> int:
    """Outbound dials to the phone created at or after `since`, answered or not."""
    return await conn.fetchval(
        "SELECT count(*) FROM calls WHERE phone = $1 AND direction = 'outbound' AND created_at >= $2", phone, since)


async def attempt_times_since(conn: Conn, phone: str, since: datetime) -> list[datetime]:
    """Their times, oldest first: the cap frees when enough of the oldest leave the window."""
    rows = await conn.fetch("SELECT created_at FROM calls WHERE phone = $1 AND direction = 'outbound' "
                            "AND created_at >= $2 ORDER BY created_at", phone, since)
    return [r["created_at"] for r in rows]


async def last_refusal(conn: Conn, phone: str, results: Iterable[str]) -> datetime | None:
    """The latest call to the phone whose result counts as a refusal."""
    return await conn.fetchval("SELECT max(created_at) FROM calls WHERE phone = $1 AND result = ANY($2::text[])",
                               phone, list(results))


async def contact_timezone(conn: Conn, phone: str) -> str | None:
    return await conn.fetchval("SELECT timezone FROM contacts WHERE phone = $1", phone)


async def campaign_compliance(conn: Conn, campaign_id: int) -> dict[str, Any] | None:
    """The campaign's compliance overrides; None when there is no such campaign."""
    value = await conn.fetchval("SELECT compliance FROM campaigns WHERE id = $1", campaign_id)
    return None if value is None else _json(value)


# -- everything the gate needs, in one round trip ---------------------------------------------------

@dataclass(frozen=True)
class GateFacts:
    """What the database knows about one phone for a check at `at`, before any rule is applied."""

    campaign_found: bool  # always True when no campaign was asked for
    campaign_compliance: dict[str, Any]
    contact_timezone: str | None
    opt_out: OptOut | None  # the latest request
    blacklist_reason: str | None  # None: not blacklisted
    in_bloctel: bool
    bloctel_imported_at: datetime | None  # the newest list; None: never imported
    has_consent: bool
    attempt_times: list[datetime]  # outbound dials in (since, at], oldest first
    last_results: dict[str, datetime]  # call result → the latest call with it, up to `at`


# The gate runs before every dial, so this is one statement: each subselect hits an index on phone.
# Rules may come from the campaign row fetched here, so nothing below depends on them: the caller
# asks for the attempts over the longest window a rule allows, and gets the latest time of each result.
_GATE_FACTS = """
SELECT
    c.id IS NOT NULL OR $3::bigint IS NULL AS campaign_found,
    c.compliance,
    (SELECT timezone FROM contacts WHERE phone = $1) AS contact_timezone,
    o.id AS opt_out_id, o.source AS opt_out_source, o.evidence AS opt_out_evidence, o.call_id AS opt_out_call_id,
    o.campaign_id AS opt_out_campaign_id, o.created_at AS opt_out_at,
    (SELECT reason FROM blacklist WHERE phone = $1) AS blacklist_reason,
    EXISTS (SELECT 1 FROM bloctel_numbers WHERE phone = $1) AS in_bloctel,
    (SELECT max(imported_at) FROM bloctel_imports) AS bloctel_imported_at,
    EXISTS (SELECT 1 FROM consents WHERE phone = $1 AND revoked_at IS NULL
            AND (campaign_id IS NULL OR campaign_id = $3)) AS has_consent,
    ARRAY(SELECT created_at FROM calls WHERE phone = $1 AND direction = 'outbound'
          AND created_at > $4 AND created_at <= $2 ORDER BY created_at) AS attempt_times,
    ARRAY(SELECT ROW(result, max(created_at)) FROM calls WHERE phone = $1 AND result IS NOT NULL
          AND created_at <= $2 GROUP BY result) AS last_results
FROM (SELECT 1) AS one
LEFT JOIN campaigns c ON c.id = $3
LEFT JOIN LATERAL (SELECT * FROM opt_outs WHERE phone = $1 ORDER BY created_at DESC, id DESC LIMIT 1) o ON true
"""


async def gate_facts(conn: Conn, phone: str, *, at: datetime, since: datetime,
                     campaign_id: int | None = None) -> GateFacts:
    row = await conn.fetchrow(_GATE_FACTS, phone, at, campaign_id, since)
    opt_out = None
    if row["opt_out_id"] is not None:
        opt_out = OptOut(row["opt_out_id"], phone, row["opt_out_source"], row["opt_out_evidence"],
                         row["opt_out_call_id"], row["opt_out_campaign_id"], row["opt_out_at"])
    return GateFacts(
        campaign_found=row["campaign_found"],
        campaign_compliance=_json(row["compliance"]) if row["compliance"] is not None else {},
        contact_timezone=row["contact_timezone"],
        opt_out=opt_out,
        blacklist_reason=row["blacklist_reason"],
        in_bloctel=row["in_bloctel"],
        bloctel_imported_at=row["bloctel_imported_at"],
        has_consent=row["has_consent"],
        attempt_times=list(row["attempt_times"]),
        last_results=dict(row["last_results"]),
    )
