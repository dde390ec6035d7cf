"""Gate decisions kept for the authority: every dial's verdict with the rules and records it relied on
(migration 0004's gate_decisions). The dialer writes one per check, in the claim's transaction, so a
number is never dialled without its reason on record. Read back by the audit (bot.compliance.audit)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .compliance import Conn


class DecisionLike(Protocol):
    allowed: bool
    reasons: list[str]
    details: dict[str, str]
    regime: Any
    basis: Any
    rules: list[str]
    consent_id: int | None
    contract_ref: str | None
    caller_id: str | None


async def record_decision(conn: Conn, decision: DecisionLike, *, phone: str, at: datetime, campaign_id: int | None,
                          attempt_id: int | None = None, caller_id: str | None = None) -> int:
    """Store one decision; its id. `caller_id`: the number presented (the campaign's or the settings')."""
    return await conn.fetchval(
        """INSERT INTO gate_decisions (decided_at, phone, campaign_id, attempt_id, allowed, regime, legal_basis,
                                       reasons, rules, consent_id, contract_ref, caller_id, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb) RETURNING id""",
        at, phone, campaign_id, attempt_id, decision.allowed, str(decision.regime), str(decision.basis),
        list(decision.reasons), list(decision.rules), decision.consent_id, decision.contract_ref,
        caller_id or decision.caller_id, json.dumps(decision.details, ensure_ascii=False))


@dataclass(frozen=True)
class StoredDecision:
    id: int
    decided_at: datetime
    phone: str
    campaign_id: int | None
    attempt_id: int | None
    allowed: bool
    regime: str
    legal_basis: str | None
    reasons: list[str]
    rules: list[str]
    consent_id: int | None
    contract_ref: str | None
    caller_id: str | None
    details: dict[str, Any]


async def campaign_decisions(conn: Conn, campaign_id: int) -> list[StoredDecision]:
    rows = await conn.fetch("SELECT * FROM gate_decisions WHERE campaign_id = $1 ORDER BY decided_at, id", campaign_id)
    return [StoredDecision(**{**dict(r), "reasons": list(r["reasons"]), "rules": list(r["rules"]),
                              "details": json.loads(r["details"]) if isinstance(r["details"], str) else r["details"]})
            for r in rows]
