"""The SQL behind the compliance gate and `minibot compliance`: opt-outs, blacklist, Bloctel,
consent ledger, and the attempt history the frequency cap and the refusal cool-off read.

Every function takes an asyncpg connection or pool (both have fetch/execute). Phone numbers are
E.164 strings; callers normalise them first (bot.contacts.phones.to_e164).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    """Record one do-not-call request (source: call, cli, api, import); its id. A second request adds a row.
    The request withdraws every consent of the number at once (art. 7 §3 RGPD: withdrawing is as easy as
    giving), with the same words as the revocation's evidence."""
    return await conn.fetchval(
        """WITH opt AS (
               INSERT INTO opt_outs (phone, source, evidence, call_id, campaign_id) VALUES ($1, $2, $3, $4, $5)
               RETURNING id),
           revoked AS (
               UPDATE consents SET revoked_at = now(), revoked_source = 'opt_out:' || $2, revoked_evidence = $3,
                                   revoked_call_id = $4
               WHERE phone = $1 AND revoked_at IS NULL)
           SELECT id FROM opt""",
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

@dataclass(frozen=True)
class Consent:
    """One entry of the consent ledger, with its proof (bot.compliance.consent)."""

    id: int
    phone: str
    campaign_id: int | None
    source: str
    evidence: str
    granted_at: datetime
    revoked_at: datetime | None
    collected_by: str | None
    company: str | None
    method: str
    wording: str
    purposes: list[str]
    channel: str
    proof_ref: str | None
    outside_hours: bool
    revoked_source: str | None
    revoked_evidence: str | None
    revoked_call_id: int | None

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("granted_at", "revoked_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


_CONSENT_COLUMNS = ("id, phone, campaign_id, source, evidence, granted_at, revoked_at, collected_by, company, method, "
                    "wording, purposes, channel, proof_ref, outside_hours, revoked_source, revoked_evidence, "
                    "revoked_call_id")


async def grant_consent(conn: Conn, phone: str, *, source: str, evidence: str,
                        campaign_id: int | None = None, granted_at: datetime | None = None,
                        collected_by: str | None = None, company: str | None = None, method: str = "other",
                        wording: str = "", purposes: Sequence[str] = (), channel: str = "telephone",
                        proof_ref: str | None = None, outside_hours: bool = False) -> int:
    """Record a consent (campaign_id None: for `company` and `purposes`, whatever the campaign); its id.
    granted_at: when the person agreed (default now)."""
    return await conn.fetchval(
        """INSERT INTO consents (phone, campaign_id, source, evidence, granted_at, collected_by, company, method,
                                 wording, purposes, channel, proof_ref, outside_hours)
           VALUES ($1, $2, $3, $4, coalesce($5, now()), $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id""",
        phone, campaign_id, source, evidence, granted_at, collected_by, company, method, wording, list(purposes),
        channel, proof_ref, outside_hours)


async def revoke_consent(conn: Conn, phone: str, *, campaign_id: int | None = None, at: datetime | None = None,
                         source: str = "cli", evidence: str = "", call_id: int | None = None) -> int:
    """Revoke the phone's active consents: those for `campaign_id`, or every one when it is None.
    Rows stay (revoked_at set, with who asked and the words) as the record of what was agreed and when
    it ended. How many were revoked."""
    status = await conn.execute(
        """UPDATE consents SET revoked_at = coalesce($3, now()), revoked_source = $4, revoked_evidence = $5,
                               revoked_call_id = $6
           WHERE phone = $1 AND revoked_at IS NULL AND ($2::bigint IS NULL OR campaign_id = $2)""",
        phone, campaign_id, at, source, evidence, call_id)
    return int(status.rsplit(" ", 1)[1])  # "UPDATE n"


async def has_consent(conn: Conn, phone: str, campaign_id: int | None = None) -> bool:
    """An unrevoked consent for this campaign, or one for every campaign (campaign_id NULL)."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM consents WHERE phone = $1 AND revoked_at IS NULL "
        "AND (campaign_id IS NULL OR campaign_id = $2))", phone, campaign_id)


async def list_consents(conn: Conn, phone: str | None = None, *, active_only: bool = False) -> list[Consent]:
    """The ledger, oldest first (one phone's when given)."""
    rows = await conn.fetch(
        f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE ($1::text IS NULL OR phone = $1) "
        "AND (NOT $2 OR revoked_at IS NULL) ORDER BY granted_at, id", phone, active_only)
    return [Consent(**{**dict(r), "purposes": list(r["purposes"])}) for r in rows]


async def get_consent(conn: Conn, consent_id: int) -> Consent | None:
    row = await conn.fetchrow(f"SELECT {_CONSENT_COLUMNS} FROM consents WHERE id = $1", consent_id)
    return Consent(**{**dict(row), "purposes": list(row["purposes"])}) if row else None


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
class ConsentUsed:
    """The consent a dial relies on: valid at the dial (granted before, not yet revoked), for this
    campaign or for its advertiser and purpose."""

    id: int
    granted_at: datetime
    method: str
    company: str | None
    purposes: list[str]
    proof_ref: str | None
    outside_hours: bool


_CAMPAIGN_LAW = ("legal_basis", "sector", "advertiser", "purpose", "contract_subject", "no_sales_declared",
                 "caller_id", "legal_ground")

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
    phone: str = ""
    campaign_law: dict[str, Any] = field(default_factory=dict)  # legal_basis, sector, advertiser... (0004)
    contact_company: str | None = None
    contact_extra: dict[str, Any] = field(default_factory=dict)
    consent: ConsentUsed | None = None  # the valid consent the dial can rely on, when one exists


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
    c.legal_basis, c.sector, c.advertiser, c.purpose, c.contract_subject, c.no_sales_declared, c.caller_id,
    c.legal_ground,
    (SELECT company FROM contacts WHERE phone = $1) AS contact_company,
    (SELECT extra FROM contacts WHERE phone = $1) AS contact_extra,
    cs.id AS consent_id, cs.granted_at AS consent_at, cs.method AS consent_method, cs.company AS consent_company,
    cs.purposes AS consent_purposes, cs.proof_ref AS consent_proof, cs.outside_hours AS consent_outside_hours,
    ARRAY(SELECT created_at FROM calls WHERE phone = $1 AND direction = 'outbound'
          AND created_at > $4 AND created_at <= $2 ORDER BY created_at) AS attempt_times,
    ARRAY(SELECT ROW(result, max(created_at)) FROM calls WHERE phone = $1 AND result IS NOT NULL
          AND created_at <= $2 GROUP BY result) AS last_results
FROM (SELECT 1) AS one
LEFT JOIN campaigns c ON c.id = $3
LEFT JOIN LATERAL (SELECT * FROM opt_outs WHERE phone = $1 ORDER BY created_at DESC, id DESC LIMIT 1) o ON true
-- A consent counts when valid at the dial, and given for this campaign, or for the campaign's advertiser
-- (NULL on both sides: the operator itself) and purpose (a consent listing no purpose covers the company's).
-- Without a campaign (a check from the command line) any valid consent of the number is shown.
LEFT JOIN LATERAL (
    SELECT * FROM consents k WHERE k.phone = $1 AND k.granted_at <= $2 AND (k.revoked_at IS NULL OR k.revoked_at > $2)
      AND ($3::bigint IS NULL OR k.campaign_id = $3
           OR (k.campaign_id IS NULL AND lower(coalesce(k.company, '')) = lower(coalesce(c.advertiser, ''))
               AND (cardinality(k.purposes) = 0 OR c.purpose IS NULL OR c.purpose = ANY(k.purposes))))
    ORDER BY k.outside_hours DESC, k.granted_at DESC, k.id DESC LIMIT 1) cs ON true
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
        has_consent=row["consent_id"] is not None,
        attempt_times=list(row["attempt_times"]),
        last_results=dict(row["last_results"]),
        phone=phone,
        campaign_law={k: row[k] for k in _CAMPAIGN_LAW},
        contact_company=row["contact_company"],
        contact_extra=_json(row["contact_extra"]) if row["contact_extra"] is not None else {},
        consent=ConsentUsed(row["consent_id"], row["consent_at"], row["consent_method"], row["consent_company"],
                            list(row["consent_purposes"]), row["consent_proof"], row["consent_outside_hours"])
        if row["consent_id"] is not None else None,
    )
