"""Campaign rows: create, read, change status, and the figures of a campaign."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ..campaign.lifecycle import CampaignStatus, TransitionError, target
from ..compliance.campaign import LEGAL_FIELDS
from ..i18n import _


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    scenario: str
    status: CampaignStatus
    max_concurrent_calls: int
    calls_per_second: float
    retry_policy: dict[str, Any]
    compliance: dict[str, Any]
    variables: dict[str, str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    pause_reason: str | None = None  # why it is PAUSED (an operator, or the breaker's French reason)
    paused_by: str | None = None  # operator | breaker
    # What the campaign states about the law (migration 0004, bot.compliance.campaign).
    legal_basis: str | None = None
    sector: str | None = None
    advertiser: str | None = None
    purpose: str | None = None
    contract_subject: str | None = None
    no_sales_declared: bool = False
    caller_id: str | None = None
    legal_ground: str | None = None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Campaign:
        return cls(id=row["id"], name=row["name"], scenario=row["scenario"], status=CampaignStatus(row["status"]),
                   max_concurrent_calls=row["max_concurrent_calls"], calls_per_second=row["calls_per_second"],
                   retry_policy=json.loads(row["retry_policy"]), compliance=json.loads(row["compliance"]),
                   variables=json.loads(row["variables"]), created_at=row["created_at"],
                   started_at=row["started_at"], finished_at=row["finished_at"],
                   pause_reason=row.get("pause_reason"), paused_by=row.get("paused_by"),
                   **{k: row[k] for k in LEGAL_FIELDS})

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "scenario": self.scenario, "status": self.status.value,
                "max_concurrent_calls": self.max_concurrent_calls, "calls_per_second": self.calls_per_second,
                "retry_policy": self.retry_policy, "compliance": self.compliance, "variables": self.variables,
                "created_at": self.created_at.isoformat(),
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "pause_reason": self.pause_reason, "paused_by": self.paused_by,
                **{k: getattr(self, k) for k in LEGAL_FIELDS}}


async def create_campaign(db: asyncpg.Pool | asyncpg.Connection, name: str, scenario: str, *,
                          max_concurrent_calls: int = 5, calls_per_second: float = 1.0,
                          retry_policy: dict | None = None, compliance: dict | None = None,
                          variables: dict | None = None, legal_basis: str | None = None, sector: str | None = None,
                          advertiser: str | None = None, purpose: str | None = None,
                          contract_subject: str | None = None, no_sales_declared: bool = False,
                          caller_id: str | None = None, legal_ground: str | None = None) -> Campaign:
    """Insert a campaign as given; the checks (bot.campaign.control.new_campaign) come before."""
    row = await db.fetchrow(
        """INSERT INTO campaigns (name, scenario, max_concurrent_calls, calls_per_second, retry_policy, compliance,
                                  variables, legal_basis, sector, advertiser, purpose, contract_subject,
                                  no_sales_declared, caller_id, legal_ground)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15)
           RETURNING *""",
        name, scenario, max_concurrent_calls, calls_per_second, json.dumps(retry_policy or {}),
        json.dumps(compliance or {}), json.dumps(variables or {}), legal_basis, sector, advertiser, purpose,
        contract_subject, no_sales_declared, caller_id, legal_ground)
    return Campaign.from_row(row)


async def get_campaign(db: asyncpg.Pool | asyncpg.Connection, campaign_id: int) -> Campaign:
    row = await db.fetchrow("SELECT * FROM campaigns WHERE id = $1", campaign_id)
    if row is None:
        raise LookupError(_("campagne {id} introuvable").format(id=campaign_id))
    return Campaign.from_row(row)


async def list_campaigns(db: asyncpg.Pool | asyncpg.Connection) -> list[Campaign]:
    return [Campaign.from_row(r) for r in await db.fetch("SELECT * FROM campaigns ORDER BY id")]


async def change_status(db: asyncpg.Pool, campaign_id: int, action: str) -> Campaign:
    """Apply a lifecycle action atomically; TransitionError when the status does not allow it.
    Cancelling also cancels the scheduled attempts (calls in progress finish)."""
    allowed, to = target(action)
    async with db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """UPDATE campaigns SET status = $3, updated_at = now(),
                   started_at = CASE WHEN $3 = 'RUNNING' THEN coalesce(started_at, now()) ELSE started_at END,
                   finished_at = CASE WHEN $3 IN ('COMPLETED', 'CANCELLED') THEN now() ELSE finished_at END
               WHERE id = $1 AND status = ANY($2::text[]) RETURNING *""",
            campaign_id, [s.value for s in allowed], to.value)
        if row is None:
            current = await conn.fetchval("SELECT status FROM campaigns WHERE id = $1", campaign_id)
            if current is None:
                raise LookupError(_("campagne {id} introuvable").format(id=campaign_id))
            raise TransitionError(campaign_id, action, current)
        if to is CampaignStatus.CANCELLED:
            await conn.execute("""UPDATE attempts SET status = 'CANCELLED', updated_at = now()
                                  WHERE campaign_id = $1 AND status = 'SCHEDULED'""", campaign_id)
        return Campaign.from_row(row)


async def campaign_stats(db: asyncpg.Pool | asyncpg.Connection, campaign_id: int) -> dict[str, Any]:
    """Contacts by status, calls by outcome and result, attempts waiting, and a few rates."""
    await get_campaign(db, campaign_id)
    contacts = {r["status"]: r["n"] for r in await db.fetch(
        "SELECT status, count(*) AS n FROM campaign_contacts WHERE campaign_id = $1 GROUP BY 1", campaign_id)}
    outcomes = {r["outcome"] or "in_progress": r["n"] for r in await db.fetch(
        "SELECT outcome, count(*) AS n FROM calls WHERE campaign_id = $1 GROUP BY 1", campaign_id)}
    results = {r["result"]: r["n"] for r in await db.fetch(
        "SELECT result, count(*) AS n FROM calls WHERE campaign_id = $1 AND result IS NOT NULL GROUP BY 1",
        campaign_id)}
    attempts = {r["status"]: r["n"] for r in await db.fetch(
        "SELECT status, count(*) AS n FROM attempts WHERE campaign_id = $1 GROUP BY 1", campaign_id)}
    figures = await db.fetchrow(
        """SELECT count(*) AS calls, count(answered_at) AS answered,
                  avg(duration_ms) FILTER (WHERE answered_at IS NOT NULL) AS avg_duration_ms,
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY (latency->>'answer_to_first_audio_ms')::float)
                      AS answer_to_first_audio_p95_ms
           FROM calls WHERE campaign_id = $1""", campaign_id)
    calls, answered = figures["calls"], figures["answered"]
    return {
        "campaign_id": campaign_id,
        "contacts": sum(contacts.values()),
        "contacts_by_status": contacts,
        "calls": calls,
        "answered": answered,
        "answer_rate": round(answered / calls, 4) if calls else None,
        "calls_by_outcome": outcomes,
        "results": results,
        "attempts_by_status": attempts,
        "avg_duration_s": round(figures["avg_duration_ms"] / 1000, 1) if figures["avg_duration_ms"] else None,
        "answer_to_first_audio_p95_ms": (round(figures["answer_to_first_audio_p95_ms"])
                                         if figures["answer_to_first_audio_p95_ms"] is not None else None),
    }
