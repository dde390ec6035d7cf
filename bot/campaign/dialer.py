"""The dialer: one worker that claims due attempts, asks the compliance gate, dials, and
stores what happened. Several workers on several machines share one database.

An attempt moves SCHEDULED → CLAIMED (leased, gate passed) → DIALING (call row written, then
the originate) → DONE. A worker renews its leases while it lives. When one dies:
- a CLAIMED attempt was never dialled: it goes back to the queue;
- a DIALING attempt may have rung: it is never dialled again as such; its call is closed as
  INTERRUPTED and the contact gets the `interrupted` retry (after 30 min, once, by default),
  which the 4-in-30-days cap still counts against.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from ..call.call import CallRecord, Conversation, mask
from ..call.outcome import Outcome
from ..call.readiness import NotDialled
from ..compliance.gate import OPT_OUT, ComplianceGate
from ..compliance.rules import ComplianceRules
from ..ops import metrics
from ..ops.logs import call_id_var
from ..store import Database, pauses
from ..store import attempts as q
from ..store import journal as jq
from ..store.calls import insert_call, interrupt_call, journal_fields, mark_answered, save_fields, stored_fields
from ..store.compliance import record_opt_out
from ..store.decisions import record_decision
from .breaker import Breaker, failure
from .conclude import Ending, conclude
from .retries import RetryPolicy

log = logging.getLogger(__name__)

# What the database being away (stopped, restarting, unreachable) raises.
_DB_AWAY = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

PlaceCall = Callable[..., Awaitable[CallRecord]]  # (phone, conversation, *, call_id, on_answer) -> CallRecord
ConversationFor = Callable[[q.Due], Awaitable[Conversation]]


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class DialerConfig:
    worker_id: str = field(default_factory=default_worker_id)
    max_calls: int = 10  # this worker's simultaneous calls (what its machine can carry)
    max_total_calls: int | None = None  # across every worker sharing the database
    campaign_ids: list[int] | None = None  # only these campaigns (None: every running one)
    poll_interval: float = 1.0  # seconds between looks at an empty queue
    lease: timedelta = timedelta(seconds=60)
    renew_every: float = 15.0
    recover_every: float = 10.0
    save_retries: int = 2  # storing a finished call at once; then the journal's replay takes over
    replay_every: float = 1.0  # seconds between tries to store journaled calls while the database is away
    journal_dir: Path | None = None  # None: <data_dir>/journal/<database> (bot.store.journal)
    give_back_delay: timedelta = timedelta(seconds=60)  # an attempt whose originate Asterisk refused waits this
    heal_every: float = 5.0  # seconds between looks at campaigns the breaker paused
    caller_id: str | None = None  # the number the trunk presents (settings.dial.caller_id), for the audit


@dataclass
class _Active:
    due: q.Due
    call_id: int | None = None
    call_uuid: str = ""
    task: asyncio.Task | None = None


class Dialer:
    def __init__(self, db: Database, place_call: PlaceCall, conversation_for: ConversationFor,
                 config: DialerConfig | None = None, *, clock: Callable[[], datetime] = utc_now,
                 ready: Callable[[], bool] | None = None, breaker: Breaker | None = None,
                 clean_up: Callable[[str], Awaitable[object]] | None = None) -> None:
        self.db, self.place_call, self.conversation_for = db, place_call, conversation_for
        self.config = config or DialerConfig()
        self.clock = clock
        # ready(): may this worker dial now (ARI event socket connected, Stasis app registered)?
        # No claim is made while it says no, so an outage burns no contact.
        self.ready = ready or (lambda: True)
        self.breaker = breaker or Breaker()
        self.clean_up = clean_up  # removes what a lost call left in Asterisk, by call id (the recovery)
        self.given_back = 0
        self._held_since: float | None = None  # monotonic: since when dials are held (ARI not ready)
        self._ready_since: float | None = None
        self.active: dict[int, _Active] = {}  # attempt id → its call
        self._caller_ids: dict[int, str] = {}  # attempt id → the campaign's own caller ID, when it has one
        self.dialled = 0
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._journal: jq.Journal | None = None
        self._replaying = asyncio.Lock()
        self._replay_failing = False

    @property
    def journal(self) -> jq.Journal:
        """Where what each call produced is kept before the database has it (bot.store.journal)."""
        if self._journal is None:
            folder = self.config.journal_dir or jq.folder_for(self.db.data_dir, self.db.url)
            self._journal = jq.Journal(folder, self.config.worker_id)
        return self._journal

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Dial until stopped (``stop()``) or cancelled; calls in progress are left to ``drain``."""
        cfg = self.config
        log.info("dialer %s: up to %d calls", cfg.worker_id, cfg.max_calls)
        adopted = await asyncio.to_thread(self.journal.adopt)
        if adopted or self.journal.pending():
            await self.replay()
        housekeeping = [asyncio.create_task(self._every(cfg.renew_every, self._renew), name="dialer-renew"),
                        asyncio.create_task(self._every(cfg.recover_every, self.recover), name="dialer-recover"),
                        asyncio.create_task(self._every(cfg.heal_every, self.heal), name="dialer-heal"),
                        asyncio.create_task(self._every(cfg.replay_every, self.replay), name="dialer-replay")]
        try:
            while not self._stopping.is_set():
                if len(self.active) >= cfg.max_calls:
                    await self._nap(cfg.poll_interval)
                    continue
                if not self._may_dial():
                    await self._nap(cfg.poll_interval)
                    continue
                try:
                    due = await self.claim()
                except _DB_AWAY as exc:
                    log.warning("dialer %s: cannot claim (%s); retrying", cfg.worker_id, exc)
                    await self._nap(cfg.poll_interval * 5)
                    continue
                if due is None:
                    await self._nap(cfg.poll_interval)
                    continue
                active = _Active(due)
                self.active[due.attempt_id] = active
                active.task = asyncio.create_task(self._dial(active), name=f"dial-{due.attempt_id}")
        finally:
            for task in housekeeping:
                task.cancel()
            await asyncio.gather(*housekeeping, return_exceptions=True)

    def _may_dial(self) -> bool:
        """Hold every claim while ARI is not ready; say so once per outage."""
        now = time.monotonic()
        if self.ready():
            if self._held_since is not None:
                log.info("dialer %s: ARI ready again after %.1f s; dialling resumes", self.config.worker_id,
                         now - self._held_since)
            self._held_since = None
            return True
        if self._held_since is None:
            self._held_since = now
            log.warning("dialer %s: numérotation suspendue, ARI pas prêt (no claim until the event socket is "
                        "connected and the Stasis app registered)", self.config.worker_id)
        return False

    def stop(self) -> None:
        """Dial nothing new (calls in progress go on)."""
        self._stopping.set()
        self._wake.set()

    async def drain(self, deadline: float) -> None:
        """Let calls in progress finish within `deadline` seconds; then end them (stored as
        interrupted, retried later). Attempts claimed but not dialled go back to the queue."""
        self.stop()
        tasks = [a.task for a in self.active.values() if a.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=deadline)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(*_DB_AWAY):
            await q.release_claimed(self.db.pool, self.config.worker_id)
        with contextlib.suppress(*_DB_AWAY):
            await self.replay()
        if self._journal is not None and self._journal.pending():
            log.warning("dialer %s: %d call(s) kept in the journal %s until the database is back "
                        "(the next worker on this machine stores them)", self.config.worker_id,
                        len(self._journal.pending()), self._journal.path)

    def close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    async def _nap(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _every(self, seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except _DB_AWAY as exc:
                if job == self.replay:
                    continue  # said once per outage by replay itself
                log.warning("dialer %s: %s failed: %s", self.config.worker_id, job.__name__, exc)

    # -- claiming ------------------------------------------------------------------------

    async def claim(self) -> q.Due | None:
        """The next attempt this worker may dial now, gate passed and leased; None if none."""
        cfg = self.config
        now = self.clock()
        passed_over: list[int] = []
        # Opt-outs heard while the database was away are in the journal, not yet in opt_outs.
        journaled_opt_outs = await asyncio.to_thread(self.journal.pending_opt_outs)
        async with self.db.pool.acquire() as conn, conn.transaction():
            await q.lock_claims(conn)
            gate = ComplianceGate(conn)
            for _ in range(100):  # refused attempts are moved out of the way; give others a turn after that
                due = await q.next_due(conn, now, campaign_ids=cfg.campaign_ids, max_total=cfg.max_total_calls,
                                       skip=passed_over)
                if due is None:
                    return None
                try:
                    rules = ComplianceRules.for_campaign(due.compliance)
                except ValueError as exc:
                    log.error("campaign %s: invalid compliance rules, not dialled: %s", due.campaign_id, exc)
                    passed_over.append(due.attempt_id)
                    continue
                decision = await gate.check(due.phone, now, campaign_id=due.campaign_id, rules=rules)
                if due.phone in journaled_opt_outs and OPT_OUT not in decision.reasons:
                    decision = dataclasses.replace(
                        decision, allowed=False, reasons=[*decision.reasons, OPT_OUT], retry_at=None,
                        details={**decision.details, "opt_out": "heard on a call, journaled, not yet stored"})
                # Every verdict is kept with what it relied on: the audit answers "why was this number dialled".
                await record_decision(conn, decision, phone=due.phone, at=now, campaign_id=due.campaign_id,
                                      attempt_id=due.attempt_id, caller_id=decision.caller_id or cfg.caller_id)
                if decision.allowed:
                    await q.mark_claimed(conn, due, cfg.worker_id, cfg.lease, now)
                    if decision.caller_id:
                        self._caller_ids[due.attempt_id] = decision.caller_id
                    return due
                if decision.retry_at is None:
                    log.info("attempt %s (%s): never, %s", due.attempt_id, mask(due.phone), decision.reasons)
                    await q.skip(conn, due, decision.reasons)
                    await q.complete_finished_campaigns(conn, due.campaign_id)
                else:
                    log.info("attempt %s (%s): not before %s, %s", due.attempt_id, mask(due.phone),
                             decision.retry_at.isoformat(), decision.reasons)
                    await q.reschedule(conn, due.attempt_id, decision.retry_at, decision.reasons)
                passed_over.append(due.attempt_id)
        return None

    # -- one call ------------------------------------------------------------------------

    async def _dial(self, active: _Active) -> None:
        due, cfg = active.due, self.config
        record: CallRecord | None = None
        try:
            try:
                conversation = await self.conversation_for(due)
            except Exception as exc:  # a scenario broken since the campaign started: not dialled
                log.error("attempt %s: campaign %s cannot run its scenario (%s); retrying in 15 minutes",
                          due.attempt_id, due.campaign_id, exc)
                async with self.db.pool.acquire() as conn:
                    await q.reschedule(conn, due.attempt_id, self.clock() + timedelta(minutes=15), ["scenario_error"])
                return
            call_uuid = active.call_uuid = uuid.uuid4().hex[:12]
            call_id_var.set(call_uuid)  # this task's log lines carry the call id (the task is this call's)
            own = self._caller_ids.pop(due.attempt_id, None)  # passed only when the campaign has one
            async with self.db.pool.acquire() as conn, conn.transaction():
                active.call_id = await insert_call(conn, call_uuid=call_uuid, phone=due.phone, worker=cfg.worker_id,
                                                   campaign_id=due.campaign_id, contact_id=due.contact_id,
                                                   attempt_id=due.attempt_id, caller_id=own or cfg.caller_id)
                if not await q.mark_dialing(conn, due.attempt_id, cfg.worker_id, active.call_id):
                    raise _LeaseLost()  # rolled back: nothing was dialled
            self.dialled += 1
            log.info("attempt %s: dialling %s (call %s)", due.attempt_id, mask(due.phone), call_uuid)
            try:
                call_id = active.call_id
                record = await self.place_call(due.phone, conversation, call_id=call_uuid,
                                               on_answer=functools.partial(self._answered, call_id),
                                               **({"caller_id": own} if own else {}))
            except NotDialled as exc:  # Asterisk refused the originate or was not ready: nothing rang
                await self._give_back(active, str(exc))
                return
            except (OSError, TimeoutError) as exc:  # the request may have reached Asterisk: a (failed) dial
                record = CallRecord(call_uuid, "outbound", due.phone, outcome=Outcome.FAILED,
                                    note=" ".join(str(exc).split())[:200] or exc.__class__.__name__)
                metrics.observe_call_end(record)
            await self._store(active, record)
            await self._judge(due.campaign_id, failure(record.outcome, record.interrupted, record.note))
        except _LeaseLost:
            log.warning("attempt %s: lease lost before dialling; not dialled", due.attempt_id)
        except asyncio.CancelledError:
            if active.call_id is not None:
                await asyncio.shield(self._interrupted(active, "worker stopped during the call"))
            raise
        except Exception:
            log.exception("attempt %s: dial failed", due.attempt_id)
            if active.call_id is not None:
                await asyncio.shield(self._interrupted(active, "dialer error during the call"))
        finally:
            self.active.pop(due.attempt_id, None)
            self._caller_ids.pop(due.attempt_id, None)
            self._wake.set()

    async def _give_back(self, active: _Active, why: str) -> None:
        """Nothing rang: the call row goes, the attempt waits again, the cap is untouched."""
        due = active.due
        self.dialled -= 1
        self.given_back += 1
        log.warning("attempt %s (%s): not dialled, %s; given back for %s", due.attempt_id, mask(due.phone), why,
                    (self.clock() + self.config.give_back_delay).isoformat())
        try:
            async with self.db.pool.acquire() as conn, conn.transaction():
                await pauses.give_back(conn, attempt_id=due.attempt_id, campaign_id=due.campaign_id,
                                       contact_id=due.contact_id, call_id=active.call_id,
                                       due_at=self.clock() + self.config.give_back_delay, reason="asterisk_refused")
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            # The lease recovery will close it as interrupted (a dial it cannot tell from one that rang).
            log.error("attempt %s: not given back (%s)", due.attempt_id, exc)
        active.call_id = None
        await self._judge(due.campaign_id, f"appel refusé par Asterisk ({why})")

    async def _judge(self, campaign_id: int, bad: str | None) -> None:
        """Tell the breaker how the attempt went; pause the campaign when it trips."""
        trip = self.breaker.record(campaign_id, bad)
        if trip is None:
            return
        try:
            paused = await pauses.pause(self.db.pool, campaign_id, trip.reason, by="breaker")
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.error("campaign %s: breaker tripped (%s) but the pause was not stored: %s", campaign_id,
                      trip.reason, exc)
            return
        if paused:
            log.error("campagne %s mise en pause par le %s (reprise automatique quand Asterisk est "
                      "de nouveau prêt, au plus tôt dans %.0f s, ou par un opérateur)", campaign_id, trip.reason,
                      trip.cool_down)

    async def heal(self) -> int:
        """Resume the campaigns the breaker paused once ARI has been ready long enough and their
        cool-down is over (an operator's pause is left alone). Returns how many resumed."""
        now = time.monotonic()
        if not self.ready():
            self._ready_since = None
            return 0
        if self._ready_since is None:
            self._ready_since = now
        if now - self._ready_since < self.breaker.config.healthy_for:
            return 0
        resumed = 0
        for row in await pauses.breaker_paused(self.db.pool, self.config.campaign_ids):
            if row["paused_for"] < self.breaker.cool_down(row["id"]):
                continue
            if await pauses.resume_from_breaker(self.db.pool, row["id"]):
                self.breaker.resumed(row["id"])
                resumed += 1
                log.warning("campagne %s reprise automatiquement : Asterisk prêt depuis %.0f s (pause : %s)",
                            row["id"], now - self._ready_since, row["pause_reason"])
        if resumed:
            self._wake.set()
        return resumed

    async def _answered(self, call_id: int) -> None:
        """Live views show the call talking. Bookkeeping only: the database being away never costs
        the call (and an OSError here must not read as "Asterisk unreachable, nothing rang")."""
        try:
            await mark_answered(self.db.pool, call_id)
        except _DB_AWAY as exc:
            log.warning("call %s: not marked answered (database away: %s)", call_id, exc)

    async def _store(self, active: _Active, record: CallRecord) -> None:
        """Keep what the call produced in the journal first, then store it; while the database is
        away the journal holds it and `replay` stores it when it is back."""
        ending = _ending(record)
        entry = self._entry(active, "call", ending)
        entry["fields"] = journal_fields(record)
        entry["interrupted"] = bool(record.interrupted)
        entry["events"] = record.timeline.entries
        await self._journal_then_store(record.call_id, entry)

    async def _interrupted(self, active: _Active, note: str) -> None:
        if any(uuid == active.call_uuid for uuid, _ in self.journal.pending()):
            return  # the call ended and its real ending is journaled: that one is stored
        metrics.observe_interrupted()
        entry = self._entry(active, "interrupted", Ending("interrupted", None))
        entry["note"] = note
        await self._journal_then_store(entry["call_uuid"], entry)

    async def store_inbound(self, record: CallRecord) -> None:
        """An inbound call, through the journal like a campaign call: its opt-out is never lost."""
        said = [u.text for u in record.utterances if u.speaker == "caller"]
        opted_out = record.result == "OPTED_OUT" and record.number.startswith("+")
        entry = {"kind": "inbound", "call_uuid": record.call_id, "worker": self.config.worker_id,
                 "phone": record.number, "fields": journal_fields(record), "events": record.timeline.entries,
                 "evidence": record.opt_out_evidence or (said[-1] if said else ""),
                 "opt_out": record.number if opted_out else None}
        await self._journal_then_store(record.call_id, entry)

    def _entry(self, active: _Active, kind: str, ending: Ending) -> dict:
        due = active.due
        return {"kind": kind, "call_uuid": active.call_uuid, "call_id": active.call_id, "worker": self.config.worker_id,
                "attempt_id": due.attempt_id, "campaign_id": due.campaign_id, "contact_id": due.contact_id,
                "phone": due.phone, "timezone": due.contact.get("timezone"), "compliance": due.compliance,
                "retry_policy": due.retry_policy, "now": self.clock().isoformat(),
                "ending": {"outcome": ending.outcome, "result": ending.result, "caller_said": list(ending.caller_said),
                           "callback_at": ending.callback_at.isoformat() if ending.callback_at else None,
                           "opt_out_evidence": ending.opt_out_evidence},
                "opt_out": due.phone if ending.result == "OPTED_OUT" else None}

    async def _journal_then_store(self, uuid: str, entry: dict) -> None:
        try:
            await self.journal.write(uuid, entry)
        except OSError as exc:  # a full or broken disk: the database alone, as before the journal
            log.error("call %s: journal write failed (%s); storing it directly", uuid, exc)
            journaled = False
        else:
            journaled = True
        delay = 0.5
        for attempt in range(self.config.save_retries):
            try:
                await self._store_entry(uuid, entry)
            except _DB_AWAY as exc:
                if attempt == self.config.save_retries - 1:
                    if journaled:
                        log.warning("call %s: database away (%s); kept in the journal until it is back", uuid, exc)
                    else:
                        log.error("call %s: not stored (%s); the lease recovery will close it", uuid, exc)
                    return
                await asyncio.sleep(delay)
                delay *= 2
            else:
                if journaled:
                    await self.journal.stored(uuid)
                return

    async def replay(self) -> int:
        """Store the journaled calls the database does not have yet (each exactly once)."""
        stored = 0
        async with self._replaying:
            try:
                for uuid, entry in self.journal.pending():
                    await self._store_entry(uuid, entry)
                    await self.journal.stored(uuid)
                    stored += 1
            except _DB_AWAY as exc:  # the next round goes on; one line per outage, not one a second
                if not self._replay_failing:
                    log.warning("dialer %s: %d journaled call(s) wait for the database (%s)",
                                self.config.worker_id, len(self.journal.pending()), exc)
                self._replay_failing = True
                if stored:
                    log.info("dialer %s: %d journaled call(s) stored", self.config.worker_id, stored)
                raise
        self._replay_failing = False
        if stored:
            log.info("dialer %s: %d journaled call(s) stored", self.config.worker_id, stored)
        return stored

    async def _store_entry(self, uuid: str, entry: dict) -> None:
        """One transaction: the call row, its events, the attempt closed, the contact's next step."""
        async with self.db.pool.acquire() as conn, conn.transaction():
            if not await jq.first_storing(conn, uuid, entry["worker"]):
                return  # stored before (a replay after a crash between the commit and the journal's line)
            if entry["kind"] == "inbound":
                call_id = await insert_call(conn, call_uuid=uuid, phone=entry["phone"], worker="inbound",
                                            direction="inbound")
                await save_fields(conn, call_id, stored_fields(entry["fields"]), entry["events"])
                if entry.get("opt_out"):
                    await record_opt_out(conn, entry["opt_out"], source="call", evidence=entry["evidence"],
                                         call_id=call_id)
                return
            ending = _journaled_ending(entry["ending"])
            if entry["kind"] == "call":
                await save_fields(conn, entry["call_id"], stored_fields(entry["fields"]), entry["events"])
                if entry.get("interrupted"):  # cut by Asterisk or the media path: nobody ended it
                    # Its outcome stays only if the conversation had concluded (a result) before the cut.
                    await conn.execute("""UPDATE calls SET status = 'INTERRUPTED',
                                              outcome = CASE WHEN result IS NULL THEN NULL ELSE outcome END
                                          WHERE id = $1""", entry["call_id"])
            else:
                await interrupt_call(conn, entry["call_id"], entry.get("note") or "interrupted")
            replaces = not await q.close(conn, entry["attempt_id"], entry["worker"])
            if replaces:
                # The lease was taken back while the call ran (or the database was away): the recovery
                # closed the attempt and planned an `interrupted` retry. The call's real ending replaces it.
                await conn.execute(
                    """UPDATE attempts SET status = 'CANCELLED', updated_at = now()
                       WHERE campaign_id = $1 AND contact_id = $2 AND status = 'SCHEDULED'
                         AND reason = 'retry:interrupted'""", entry["campaign_id"], entry["contact_id"])
            await self._conclude(conn, entry, ending, replaces=replaces)

    async def _conclude(self, conn: asyncpg.Connection, entry: dict, ending: Ending, *, replaces: bool = False) -> None:
        try:
            rules = ComplianceRules.for_campaign(entry["compliance"])
            zone = ZoneInfo(entry.get("timezone") or rules.hours.timezone)
        except (ValueError, KeyError):
            zone = ZoneInfo("Europe/Paris")  # rules broken since the claim: the plan still needs a zone
        nxt = await conclude(conn, campaign_id=entry["campaign_id"], contact_id=entry["contact_id"],
                             phone=entry["phone"], call_id=entry["call_id"], ending=ending,
                             policy=RetryPolicy.for_campaign(entry["retry_policy"]),
                             now=datetime.fromisoformat(entry["now"]), zone=zone, replaces=replaces)
        if nxt.due_at is not None:
            log.info("attempt %s: next %s at %s", entry["attempt_id"], nxt.reason, nxt.due_at.isoformat())

    # -- leases --------------------------------------------------------------------------

    async def _renew(self) -> None:
        held = await q.renew_leases(self.db.pool, self.config.worker_id, list(self.active), self.config.lease)
        lost = set(self.active) - held
        if lost:
            log.warning("dialer %s: leases lost for attempts %s", self.config.worker_id, sorted(lost))

    async def recover(self) -> int:
        """Take back the attempts of workers that stopped renewing their leases."""
        await self.replay()  # this worker's journaled calls first: they are ended, not lost
        requeued = await q.requeue_expired_claims(self.db.pool)
        closed = 0
        lost: list[str] = []
        async with self.db.pool.acquire() as conn, conn.transaction():
            for row in await q.expired_dialing(conn):
                log.warning("attempt %s: worker %s lost mid-call; closing it as interrupted",
                            row["id"], row["lease_owner"])
                if row["call_id"] is not None:
                    await interrupt_call(conn, row["call_id"], f"worker {row['lease_owner']} lost mid-call")
                await q.close(conn, row["id"], None)
                if row["call_uuid"] is not None:
                    lost.append(row["call_uuid"])
                entry = {"campaign_id": row["campaign_id"], "contact_id": row["contact_id"], "phone": row["phone"],
                         "call_id": row["call_id"], "attempt_id": row["id"], "compliance": {},
                         "retry_policy": json.loads(row["retry_policy"]), "now": self.clock().isoformat()}
                await self._conclude(conn, entry, Ending("interrupted", None))
                closed += 1
        if requeued or closed:
            log.info("recovered: %d claims back in the queue, %d calls closed as interrupted", requeued, closed)
        if self.clean_up is not None:
            # What the lost worker created in Asterisk (the caller, snoops, bridges named mb-<call id>...)
            # is removed, so nobody stays on a silent line with a recording snoop running.
            for call_uuid in lost:
                try:
                    await self.clean_up(call_uuid)
                except Exception as exc:  # one call's leftovers never stop the recovery of the others
                    log.warning("call %s: leftovers in Asterisk not removed: %s", call_uuid, exc)
        for campaign_id in await q.complete_idle_campaigns(self.db.pool):
            log.info("campaign %s completed: nothing left to dial", campaign_id)
        return requeued + closed


class _LeaseLost(Exception):
    pass


def _ending(record: CallRecord) -> Ending:
    if record.interrupted and record.result is None:
        # Cut before the conversation concluded: retried as interrupted. One that had concluded (an
        # opt-out, a callback asked for, a refusal) is planned from what the person said.
        return Ending("interrupted", None, tuple(u.text for u in record.utterances if u.speaker == "caller"))
    return Ending(record.outcome.value if record.outcome else None, record.result,
                  tuple(u.text for u in record.utterances if u.speaker == "caller"), record.callback_at,
                  record.opt_out_evidence)


def _journaled_ending(data: dict) -> Ending:
    """An `_entry`'s ending read back (entries journaled before `callback_at` or `opt_out_evidence`
    existed have none)."""
    at = data.get("callback_at")
    return Ending(data["outcome"], data["result"], tuple(data["caller_said"]),
                  datetime.fromisoformat(at) if at else None, data.get("opt_out_evidence") or "")

