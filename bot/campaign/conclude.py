"""What happens to a contact after an attempt: a retry, a callback at the time they asked for,
an opt-out kept as evidence, or done. Runs in the transaction that stores the call."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg

from ..integrations.outbox import enqueue_call_ended
from ..store import attempts as q
from ..store.compliance import record_opt_out
from .callback_time import parse_callback_time
from .retries import RetryPolicy, retry_cause

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ending:
    """How an attempt ended, as the campaign sees it."""

    outcome: str | None  # bot.call.outcome.Outcome value, or "interrupted"
    result: str | None  # the scenario's CallResult value
    caller_said: tuple[str, ...] = ()  # the caller's utterances, in order
    callback_at: datetime | None = None  # the callback time the caller confirmed aloud (RunRecord.callback_at)
    opt_out_evidence: str = ""  # the request's words and their confirmation, dated (bot.compliance.opt_out_evidence)


@dataclass(frozen=True)
class Next:
    due_at: datetime | None  # None: the contact is done with
    reason: str = ""


def plan_next(ending: Ending, policy: RetryPolicy, retries_made: dict[str, int], now: datetime,
              zone: ZoneInfo) -> Next:
    """The next attempt for this contact (pure: tested without a database)."""
    if ending.result == "CALLBACK_REQUESTED":
        if retries_made.get("callback", 0) >= policy.callbacks_max:
            return Next(None)
        if ending.callback_at is not None:
            # Said back to the caller and confirmed (corrections and legal slots included): it wins over
            # re-reading their words, which would miss a correction ("non, plutôt 19 heures").
            return Next(max(ending.callback_at, now), "callback")
        for text in reversed(ending.caller_said):  # the latest time they gave wins
            asked = parse_callback_time(text, now, zone=zone)
            if asked is not None:
                return Next(max(asked.at, now), "callback")
        return Next(now + policy.callback_without_time.delay, "callback")
    cause = "interrupted" if ending.outcome == "interrupted" else retry_cause(ending.outcome, ending.result)
    if cause is None:
        return Next(None)
    rule = getattr(policy, cause)
    reason = f"retry:{cause}"
    if retries_made.get(reason, 0) >= rule.max_retries:
        return Next(None)
    return Next(now + rule.delay, reason)


async def conclude(conn: asyncpg.Connection, *, campaign_id: int, contact_id: int, phone: str, call_id: int | None,
                   ending: Ending, policy: RetryPolicy, now: datetime, zone: ZoneInfo, replaces: bool = False) -> Next:
    """Record the contact's state after an attempt and plan the next one; the caller's
    transaction makes it all or nothing with the call row. ``replaces``: the attempt was
    concluded before (a recovery took it for lost); this is its real ending, not another dial."""
    # The campaign row first, before anything that references it: an insert (opt-out, next attempt)
    # takes a key-share lock on it, and two conclusions that each held one and then asked for the
    # update lock of `complete_finished_campaigns` deadlocked (issue 15, a graceful stop with 4 calls).
    await q.lock_campaign(conn, campaign_id)
    if ending.result == "OPTED_OUT":
        # The request and its confirmation as the conversation heard them; without them (another kind of
        # conversation), the caller's last utterance (the call id leads to the rest).
        evidence = ending.opt_out_evidence or (
            ending.caller_said[-1] if ending.caller_said else "(demande d'opposition comprise pendant l'appel)")
        await record_opt_out(conn, phone, source="call", evidence=evidence, call_id=call_id, campaign_id=campaign_id)
    made = {r["reason"]: r["n"] for r in await conn.fetch(
        "SELECT reason, count(*) AS n FROM attempts WHERE campaign_id = $1 AND contact_id = $2 GROUP BY 1",
        campaign_id, contact_id)}
    nxt = Next(None) if ending.result == "OPTED_OUT" else plan_next(ending, policy, made, now, zone)
    if nxt.due_at is not None:
        await q.schedule(conn, campaign_id, contact_id, due_at=nxt.due_at, reason=nxt.reason)
    await conn.execute(
        """UPDATE campaign_contacts SET status = $3, result = $4, attempts = attempts + $5, updated_at = now()
           WHERE campaign_id = $1 AND contact_id = $2""",
        campaign_id, contact_id, "PENDING" if nxt.due_at is not None else "DONE",
        ending.result or ending.outcome, 0 if replaces else 1)
    # The CRM's event, committed with the call's result or not at all (bot.integrations.outbox).
    await enqueue_call_ended(conn, campaign_id=campaign_id, call_id=call_id,
                             callback_at=nxt.due_at if nxt.reason == "callback" else None,
                             next_attempt_at=nxt.due_at, opted_out=ending.result == "OPTED_OUT")
    if await q.complete_finished_campaigns(conn, campaign_id):
        log.info("campaign %s completed: nothing left to dial", campaign_id)
    return nxt
