"""The JSON event a concluded call produces, as the CRM receives it.

Built from the stored call row (not from the in-memory record), so a call closed by the lease
recovery gets the same shape as one that ended normally. The event id is derived from the call's
UUID: the same call always yields the same id, however many times its conclusion is replayed.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg

_NAMESPACE = uuid.UUID("6f1e1f9a-3c56-4b39-9b51-6d0d8f0c2a11")  # MiniBot's events; fixed forever
CALL_ENDED = "call.ended"


def event_id_for(call_uuid: str, kind: str = CALL_ENDED) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{kind}:{call_uuid}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def call_event(conn: asyncpg.Connection, call_id: int, *, callback_at: datetime | None = None,
                     next_attempt_at: datetime | None = None, opted_out: bool | None = None) -> dict[str, Any] | None:
    """The `call.ended` event of a stored call (None when there is no such call)."""
    row = await conn.fetchrow(
        """SELECT c.*, k.first_name, k.last_name, k.email, k.company, k.extra,
                  p.name AS campaign_name, p.scenario
           FROM calls c LEFT JOIN contacts k ON k.id = c.contact_id LEFT JOIN campaigns p ON p.id = c.campaign_id
           WHERE c.id = $1""", call_id)
    if row is None:
        return None
    if opted_out is None:
        opted_out = row["result"] == "OPTED_OUT" or bool(await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM opt_outs WHERE call_id = $1)", call_id))
    duration = row["duration_ms"]
    return {
        "id": str(event_id_for(row["call_uuid"])),
        "type": CALL_ENDED,
        "campaign": {"id": row["campaign_id"], "name": row["campaign_name"], "scenario": row["scenario"]},
        "contact": {"id": row["contact_id"], "phone": row["phone"], "first_name": row["first_name"],
                    "last_name": row["last_name"], "email": row["email"], "company": row["company"],
                    "extra": json.loads(row["extra"]) if row["extra"] else {}},
        "call": {
            "uuid": row["call_uuid"], "direction": row["direction"], "status": row["status"],
            "outcome": row["outcome"], "result": row["result"], "qualification": row["qualification"],
            "placed_at": _iso(row["created_at"]), "answered_at": _iso(row["answered_at"]),
            "ended_at": _iso(row["ended_at"]),
            "duration_s": round(duration / 1000, 1) if duration is not None else None,
            "amd": row["amd_verdict"], "hangup_cause": row["hangup_cause"],
            "transcript": json.loads(row["transcript"]), "recording": row["recording_path"],
            "note": row["note"],
        },
        "callback_at": _iso(callback_at),
        "next_attempt_at": _iso(next_attempt_at),
        "opted_out": opted_out,
    }
