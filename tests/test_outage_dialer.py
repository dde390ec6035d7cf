"""An Asterisk outage must not burn contacts (issues 14 and 15), against a real PostgreSQL:
no claim while ARI is not ready, an originate Asterisk refused is no dial (no call row, nothing
counted by the 4-in-30-days cap, the attempt given back), a call Asterisk cut is INTERRUPTED and
retried as such, and the campaign breaker pauses a campaign on a burst of failures with its
reason, resumes it when ARI is healthy, and never undoes an operator's pause."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from bot.call.call import CallRecord
from bot.call.outcome import Outcome
from bot.call.readiness import NotDialled
from bot.campaign import control
from bot.campaign.breaker import Breaker, BreakerConfig
from bot.campaign.dialer import Dialer, DialerConfig, _Active
from bot.campaign.live import live_view
from bot.compliance.gate import ComplianceGate
from bot.store.campaigns import get_campaign
from tests.dialing import Clock, phones, running_campaign, weekday_morning


class Refusing:
    """The telephony side while Asterisk stops: every originate refused (nothing rings)."""

    def __init__(self) -> None:
        self.tried: list[str] = []

    async def __call__(self, phone: str, conversation, *, call_id: str, on_answer=None, caller_id=None) -> CallRecord:
        self.tried.append(phone)
        raise NotDialled("erreur Asterisk 500 (Allocation failed) sur POST channels")


async def _no_conversation(due):
    return None


async def _run_until(dialer: Dialer, predicate, timeout: float = 15.0) -> None:
    task = asyncio.create_task(dialer.run())
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():  # noqa: ASYNC110 - the state is in the database
                await asyncio.sleep(0.05)
    finally:
        await dialer.drain(5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        async with asyncio.timeout(10):  # a claim that was in flight as it stopped: its dial ends too
            while dialer.active:  # noqa: ASYNC110
                await asyncio.sleep(0.05)


async def test_no_claim_while_ari_is_not_ready(db):
    cid = await running_campaign(db, phones(3), calls_per_second=1000)
    up = False
    placed: list[str] = []

    async def phone(number, conversation, *, call_id, on_answer=None, caller_id=None):
        placed.append(number)
        return CallRecord(call_id, "outbound", number, outcome=Outcome.BUSY)

    dialer = Dialer(db, phone, _no_conversation, DialerConfig(poll_interval=0.02), clock=Clock(weekday_morning()),
                    ready=lambda: up)
    task = asyncio.create_task(dialer.run())
    await asyncio.sleep(0.5)
    assert placed == []
    assert await db.pool.fetchval("SELECT count(*) FROM attempts WHERE campaign_id = $1 AND status = 'SCHEDULED'",
                                  cid) == 3  # nothing claimed, nothing leased
    up = True
    try:
        async with asyncio.timeout(10):
            while len(placed) < 3:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await dialer.drain(5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(placed) == sorted(phones(3))


async def test_a_refused_originate_is_no_dial_and_a_burst_pauses_the_campaign(db):
    numbers = phones(6)
    cid = await running_campaign(db, numbers, calls_per_second=1000)
    clock = Clock(weekday_morning())
    refusing = Refusing()
    dialer = Dialer(db, refusing, _no_conversation, DialerConfig(poll_interval=0.02), clock=clock)
    began = clock()

    async def paused():
        return (await get_campaign(db.pool, cid)).status == "PAUSED"

    await _run_until(dialer, paused)
    # The breaker: at least 5 refused within 2 minutes (dials already under way finish too).
    assert 5 <= len(refusing.tried) <= 6
    # Nothing rang: no call row, so nothing counts against the 4 dials in 30 days...
    assert await db.pool.fetchval("SELECT count(*) FROM calls") == 0
    facts = await ComplianceGate(db.pool).check(numbers[0], clock(), campaign_id=cid)
    assert facts.allowed
    # ...and every attempt waits in the queue again, its contact pending.
    rows = await db.pool.fetch("SELECT status, call_id, gate_reasons, due_at FROM attempts WHERE campaign_id = $1", cid)
    assert len(rows) == 6 and all(r["status"] == "SCHEDULED" and r["call_id"] is None for r in rows)
    given_back = [r for r in rows if r["gate_reasons"] == ["asterisk_refused"]]
    # Each waits again, later than when the dials began (give_back_delay after its refusal).
    assert len(given_back) == len(refusing.tried) and all(r["due_at"] > began for r in given_back)
    assert await db.pool.fetchval("SELECT count(*) FROM campaign_contacts WHERE status <> 'PENDING'") == 0
    # The reason, in French, where operators look: the API's campaign, the monitor's view.
    campaign = await get_campaign(db.pool, cid)
    # 5 refusals trip it; a 6th dial already under way may be counted first on a busy machine.
    assert campaign.paused_by == "breaker"
    assert re.match(r"disjoncteur : ([56]) échecs sur \1 ", campaign.pause_reason), campaign.pause_reason
    assert "Allocation failed" in campaign.pause_reason
    assert campaign.to_json()["pause_reason"] == campaign.pause_reason
    view = await live_view(db.pool, cid)
    assert view["campaign"]["pause_reason"] == campaign.pause_reason


async def test_the_breaker_resumes_when_ari_is_healthy_but_never_an_operator_pause(db):
    cid = await running_campaign(db, phones(2), calls_per_second=1000)
    up = False
    breaker = Breaker(BreakerConfig(cool_down=0.2, healthy_for=0.3))
    dialer = Dialer(db, Refusing(), _no_conversation, DialerConfig(), clock=Clock(weekday_morning()),
                    ready=lambda: up, breaker=breaker)
    for _ in range(5):
        await dialer._judge(cid, "Asterisk injoignable")
    assert (await get_campaign(db.pool, cid)).paused_by == "breaker"
    await asyncio.sleep(0.3)
    assert await dialer.heal() == 0  # ARI still down: stays paused
    up = True
    assert await dialer.heal() == 0  # ready, but not for long enough yet
    await asyncio.sleep(0.35)
    assert await dialer.heal() == 1
    campaign = await get_campaign(db.pool, cid)
    assert campaign.status == "RUNNING" and campaign.pause_reason is None

    # An operator's pause is theirs: the breaker leaves it alone.
    await control.act(db, cid, "pause")
    campaign = await get_campaign(db.pool, cid)
    assert campaign.paused_by == "operator" and campaign.pause_reason == "mise en pause par un opérateur"
    await asyncio.sleep(0.3)
    assert await dialer.heal() == 0
    assert (await get_campaign(db.pool, cid)).status == "PAUSED"


async def test_the_breaker_needs_a_burst_not_one_failure():
    now = [0.0]
    breaker = Breaker(BreakerConfig(), clock=lambda: now[0])
    for i in range(20):  # one failure in four, for a long time: a bad line, not an outage
        now[0] += 10
        assert breaker.record(1, "échec" if i % 4 == 0 else None) is None
    trip, burst = None, 0
    while trip is None and burst < 20:  # then failures come in a burst
        now[0] += 1
        burst += 1
        trip = breaker.record(1, "Asterisk injoignable")
    assert trip is not None and trip.bad >= trip.seen / 2 and trip.seen >= 5
    assert burst == 6  # 12 calls (3 failed) in the window before it: 6 more failures make half
    assert "Asterisk injoignable" in trip.reason
    assert breaker.record(2, "x") is None  # campaigns are judged apart


async def test_a_call_cut_by_asterisk_is_interrupted_and_retried_as_such(db):
    [number] = phones(1)
    cid = await running_campaign(db, [number])
    clock = Clock(weekday_morning(), frozen=True)

    async def cut(phone, conversation, *, call_id, on_answer=None, caller_id=None):
        record = CallRecord(call_id, "outbound", phone, outcome=Outcome.ANSWERED, cause=0, cause_txt="Unknown")
        record.interrupted = record.note = "Asterisk arrêté pendant l'appel"
        return record

    dialer = Dialer(db, cut, _no_conversation, DialerConfig(), clock=clock)
    due = await dialer.claim()
    await dialer._dial(_Active(due))
    call = await db.pool.fetchrow("SELECT status, outcome, note FROM calls WHERE campaign_id = $1", cid)
    assert call["status"] == "INTERRUPTED" and call["outcome"] is None
    assert call["note"] == "Asterisk arrêté pendant l'appel"
    retry = await db.pool.fetchrow("SELECT due_at, reason FROM attempts WHERE status = 'SCHEDULED'")
    assert retry["reason"] == "retry:interrupted" and retry["due_at"] == clock() + timedelta(minutes=30)


async def test_the_recovery_removes_what_a_lost_call_left_in_asterisk(db):
    [number] = phones(1)
    cid = await running_campaign(db, [number])
    clock = Clock(weekday_morning(), frozen=True)
    endless = asyncio.Event()

    async def forever(phone, conversation, *, call_id, on_answer=None, caller_id=None):
        await endless.wait()

    dead = Dialer(db, forever, _no_conversation, DialerConfig(worker_id="dead", lease=timedelta(seconds=0.2)),
                  clock=clock)
    call = asyncio.create_task(dead._dial(_Active(await dead.claim())))
    try:
        async with asyncio.timeout(10):
            while not await db.pool.fetchval("SELECT count(*) FROM calls WHERE campaign_id = $1", cid):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        removed: list[str] = []

        async def clean_up(call_uuid: str) -> int:
            removed.append(call_uuid)
            return 3

        alive = Dialer(db, forever, _no_conversation, DialerConfig(worker_id="alive"), clock=clock, clean_up=clean_up)
        await asyncio.sleep(0.3)
        assert await alive.recover() == 1
        assert removed == [await db.pool.fetchval("SELECT call_uuid FROM calls WHERE campaign_id = $1", cid)]
    finally:
        call.cancel()
        await asyncio.gather(call, return_exceptions=True)


async def test_a_call_cut_after_an_opt_out_keeps_the_opt_out_and_is_not_retried(db):
    [number] = phones(1)
    cid = await running_campaign(db, [number])

    async def cut(phone, conversation, *, call_id, on_answer=None, caller_id=None):
        record = CallRecord(call_id, "outbound", phone, outcome=Outcome.ANSWERED, result="OPTED_OUT")
        record.interrupted = record.note = "Asterisk arrêté pendant l'appel"
        return record

    dialer = Dialer(db, cut, _no_conversation, DialerConfig(), clock=Clock(weekday_morning(), frozen=True))
    await dialer._dial(_Active(await dialer.claim()))
    call = await db.pool.fetchrow("SELECT status, outcome, result FROM calls WHERE campaign_id = $1", cid)
    assert (call["status"], call["outcome"], call["result"]) == ("INTERRUPTED", "answered", "OPTED_OUT")
    assert await db.pool.fetchval("SELECT count(*) FROM opt_outs WHERE phone = $1", number) == 1
    assert await db.pool.fetchval("SELECT count(*) FROM attempts WHERE status = 'SCHEDULED'") == 0
