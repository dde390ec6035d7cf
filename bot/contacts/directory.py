"""Contacts as the operator manages them: list with filters, one contact with its campaigns and calls,
and corrections (name, e-mail, company, time zone, the file's own columns). Forgetting a person (the
GDPR erasure) is bot.compliance's, not here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from .phones import InvalidPhone, to_e164

EDITABLE = ("first_name", "last_name", "email", "company", "timezone")


@dataclass(frozen=True)
class ContactFilter:
    campaign_id: int | None = None
    status: str | None = None  # campaign_contacts.status (with campaign_id): PENDING, IN_PROGRESS, DONE, EXCLUDED
    result: str | None = None  # the last call's result in the campaign
    search: str | None = None  # part of a name, company, e-mail or phone
    limit: int = 50
    offset: int = 0


async def list_contacts(db: asyncpg.Pool | asyncpg.Connection, f: ContactFilter) -> tuple[list[dict[str, Any]], int]:
    """The contacts matching, newest first, and how many match in all."""
    if f.status is not None and f.campaign_id is None:
        raise ValueError("--status : préciser la campagne (--campaign)")
    like = None
    if f.search:
        like = "%" + f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        digits = "".join(ch for ch in f.search if ch.isdigit())
        try:
            phone_like = "%" + to_e164(f.search, "FR")[1:] + "%"
        except InvalidPhone:
            phone_like = "%" + (digits[1:] if digits.startswith("0") else digits) + "%" if len(digits) >= 4 else None
    else:
        phone_like = None
    rows = await db.fetch(
        """SELECT k.id, k.phone, k.first_name, k.last_name, k.email, k.company, k.timezone, k.created_at,
                  cc.status AS campaign_status, cc.result AS campaign_result, cc.attempts,
                  count(*) OVER () AS total
           FROM contacts k
           LEFT JOIN campaign_contacts cc ON cc.contact_id = k.id AND cc.campaign_id = $1
           WHERE ($1::bigint IS NULL OR cc.campaign_id IS NOT NULL)
             AND ($2::text IS NULL OR cc.status = $2) AND ($3::text IS NULL OR cc.result = $3)
             AND ($4::text IS NULL OR concat_ws(' ', k.first_name, k.last_name, k.company, k.email) ILIKE $4
                  OR ($5::text IS NOT NULL AND k.phone LIKE $5))
           ORDER BY k.id DESC LIMIT $6 OFFSET $7""",
        f.campaign_id, f.status, f.result, like, phone_like, f.limit, f.offset)
    total = rows[0]["total"] if rows else 0
    return [{k: v for k, v in dict(r).items() if k != "total"} for r in rows], total


async def find_contact(db: asyncpg.Pool | asyncpg.Connection, ref: str) -> int:
    """A contact's id from its id or its phone number (any French or E.164 form); LookupError if none."""
    ref = ref.strip()
    if ref.isdigit() and len(ref) < 10:
        found = await db.fetchval("SELECT id FROM contacts WHERE id = $1", int(ref))
    else:
        try:
            found = await db.fetchval("SELECT id FROM contacts WHERE phone = $1", to_e164(ref, "FR"))
        except InvalidPhone:
            found = None
    if found is None:
        raise LookupError(f"aucun contact « {ref} »")
    return found


async def contact_detail(db: asyncpg.Pool | asyncpg.Connection, contact_id: int) -> dict[str, Any]:
    row = await db.fetchrow("SELECT * FROM contacts WHERE id = $1", contact_id)
    if row is None:
        raise LookupError(f"aucun contact {contact_id}")
    out = dict(row)
    out["extra"] = json.loads(out["extra"]) if isinstance(out["extra"], str) else out["extra"]
    out["campaigns"] = [dict(r) for r in await db.fetch(
        """SELECT cc.campaign_id, c.name, cc.status, cc.result, cc.attempts, cc.updated_at
           FROM campaign_contacts cc JOIN campaigns c ON c.id = cc.campaign_id
           WHERE cc.contact_id = $1 ORDER BY cc.campaign_id""", contact_id)]
    out["calls"] = [dict(r) for r in await db.fetch(
        """SELECT id, call_uuid, campaign_id, created_at, status, outcome, result, duration_ms
           FROM calls WHERE contact_id = $1 ORDER BY created_at DESC LIMIT 20""", contact_id)]
    # Every do-not-call request with its evidence (for a call: the request's words and their confirmation).
    out["opt_outs"] = [dict(r) for r in await db.fetch(
        """SELECT o.created_at, o.source, o.evidence, c.call_uuid, o.campaign_id
           FROM opt_outs o LEFT JOIN calls c ON c.id = o.call_id
           WHERE o.phone = $1 ORDER BY o.created_at, o.id""", row["phone"])]
    out["opted_out"] = bool(out["opt_outs"])
    return out


async def update_contact(db: asyncpg.Pool | asyncpg.Connection, contact_id: int, changes: dict[str, str | None],
                         extra: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Correct a contact. `changes`: EDITABLE fields ('' or None clears one); `extra`: the file's own
    columns (None removes one). The phone is not editable: a new number is a new contact."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"champ non modifiable : {', '.join(sorted(unknown))} (modifiables : {', '.join(EDITABLE)})")
    values = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in changes.items()}
    if values.get("timezone"):
        try:
            ZoneInfo(values["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone : fuseau inconnu {values['timezone']!r} (par exemple Europe/Paris)") from None
    if values.get("email") and "@" not in values["email"]:
        raise ValueError(f"email : adresse invalide {values['email']!r}")
    sets = [f"{name} = ${i}" for i, name in enumerate(values, 2)]
    args: list[Any] = [contact_id, *values.values()]
    if extra:
        keep = {k: v for k, v in extra.items() if v is not None}
        drop = [k for k, v in extra.items() if v is None]
        args += [json.dumps(keep, ensure_ascii=False), drop]
        n = len(args)
        sets.append(f"extra = (extra || ${n - 1}::jsonb) - ${n}::text[]")
    if not sets:
        raise ValueError("rien à modifier")
    done = await db.fetchval(f"UPDATE contacts SET {', '.join(sets)} WHERE id = $1 RETURNING id", *args)
    if done is None:
        raise LookupError(f"aucun contact {contact_id}")
    return await contact_detail(db, contact_id)
