"""The dialer against a real PostgreSQL: claims shared by several workers, limits, pace, the
compliance gate before each dial, retries and callbacks, leases of workers that die."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.call.call import CallRecord, Utterance
from bot.call.outcome import Outcome
from bot.campaign import control
from bot.campaign.dialer import Dialer, DialerConfig
from bot.campaign.lifecycle import TransitionError
from bot.store import attempts as q
from bot.store.campaigns import campaign_stats, create_campaign, get_campaign
from tests.dialing import CANVASSING_NUMBER, PARIS, Clock, phones, running_campaign, weekday_morning


class Phone:
    """Stands in for the telephony side (tested on its own against the simulator): records who
    was dialled, how many at once, and ends each call as told."""

    def __init__(self, ending=None, hold: float = 0.05) -> None:
        self.dialled: list[str] = []
        self.live = 0
        self.most_live = 0
        self.hold = hold
        self.ending = ending or (lambda phone: (Outcome.ANSWERED, "NOT_INTERESTED", []))
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, phone: str, conversation, *, call_id: str, on_answer=None,
                       caller_id: str | None = None) -> CallRecord:
        self.dialled.append(phone)
        if on_answer is not None and self.ending(phone)[0] is Outcome.ANSWERED:
            await on_answer()
        self.live += 1
        self.most_live = max(self.most_live, self.live)
        try:
            await asyncio.sleep(self.hold)
            await self.release.wait()
        finally:
            self.live -= 1
        outcome, result, said = self.ending(phone)
        record = CallRecord(call_id, "outbound", phone, outcome=outcome, result=result)
        record.utterances = [Utterance("caller", text, record.timeline.started + 1) for text in said]
        return record


async def _no_conversation(due):
    return None


async def _until(predicate, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():  # noqa: ASYNC110 - the state is in the database, nothing to wait on
            await asyncio.sleep(0.05)


async def _run(dialers, until, timeout: float = 30.0) -> None:
    tasks = [asyncio.create_task(d.run()) for d in dialers]
    try:
        await _until(until, timeout)
    finally:
        for d in dialers:
            await d.drain(5)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_two_workers_share_the_queue_without_dialling_anyone_twice(db):
    numbers = phones(24)
    cid = await running_campaign(db, numbers, max_concurrent_calls=3, calls_per_second=1000)
    phone = Phone(hold=0.1)
    clock = Clock(weekday_morning())
    # Each worker carries 2 calls, the campaign 3: together they could exceed the campaign's limit,
    # and neither can take the whole queue alone. The first calls last until both workers have
    # dialled (a worker slow to start on a loaded machine once found its partner done with all 24
    # 0.1 s calls): one worker holds 2 of the campaign's 3, so the other must take the third.
    dialers = [Dialer(db, phone, _no_conversation, DialerConfig(worker_id=f"w{i}", max_calls=2, poll_interval=0.02),
                      clock=clock) for i in range(2)]
    phone.release.clear()

    async def both_dialled():
        return all(d.dialled > 0 for d in dialers)

    async def release_once_both_dialled():
        try:
            await _until(both_dialled)
        finally:
            phone.release.set()

    async def done():
        return (await get_campaign(db.pool, cid)).status == "COMPLETED"

    releasing = asyncio.create_task(release_once_both_dialled())
    try:
        await _run(dialers, done)
    except TimeoutError:
        rows = await db.pool.fetch("SELECT id, status, reason, lease_owner, due_at, gate_reasons FROM attempts")
        c = await db.pool.fetchrow("SELECT status, next_dial_at FROM campaigns WHERE id = $1", cid)
        raise AssertionError(f"{c} {[dict(r) for r in rows if r['status'] != 'DONE']}") from None
    finally:
        releasing.cancel()
    assert sorted(phone.dialled) == sorted(numbers)  # each once
    assert phone.most_live <= 3  # the campaign's limit held across both workers
    assert all(d.dialled > 0 for d in dialers)  # both took a share
    stats = await campaign_stats(db.pool, cid)
    assert stats["calls"] == 24 and stats["results"] == {"NOT_INTERESTED": 24}
    assert stats["contacts_by_status"] == {"DONE": 24}


async def test_the_overall_limit_holds_across_campaigns(db):
    a = await running_campaign(db, phones(6), max_concurrent_calls=5, calls_per_second=1000)
    b = await running_campaign(db, phones(6, 100), max_concurrent_calls=5, calls_per_second=1000)
    phone = Phone(hold=0.1)
    dialer = Dialer(db, phone, _no_conversation, DialerConfig(max_calls=50, max_total_calls=4, poll_interval=0.02),
                    clock=Clock(weekday_morning()))

    async def done():
        return [(await get_campaign(db.pool, c)).status for c in (a, b)] == ["COMPLETED"] * 2

    await _run([dialer], done)
    assert len(phone.dialled) == 12 and phone.most_live <= 4


async def test_calls_per_second_paces_the_claims(db):
    cid = await running_campaign(db, phones(3), calls_per_second=2)
    clock = Clock(weekday_morning(), frozen=True)
    dialer = Dialer(db, Phone(), _no_conversation, DialerConfig(), clock=clock)
    await db.pool.execute("UPDATE campaigns SET next_dial_at = $2 WHERE id = $1", cid, clock())
    assert await dialer.claim() is not None
    assert await dialer.claim() is None  # the next dial is half a second away
    clock.advance(seconds=0.5)
    assert await dialer.claim() is not None


async def test_the_gate_decides_before_every_dial(db):
    blocked, opted, fine = phones(3)
    cid = await running_campaign(db, [blocked, opted, fine])
    await db.pool.execute("INSERT INTO blacklist (phone, reason) VALUES ($1, 'client request')", blocked)
    await db.pool.execute("INSERT INTO opt_outs (phone, source, evidence) VALUES ($1, 'cli', 'by mail')", opted)
    saturday = weekday_morning()
    while saturday.weekday() != 5:
        saturday += timedelta(days=1)
    dialer = Dialer(db, Phone(), _no_conversation, DialerConfig(), clock=Clock(saturday))
    assert await dialer.claim() is None  # nobody on a Saturday
    rows = {r["phone"]: r for r in await db.pool.fetch(
        """SELECT k.phone, a.status, a.due_at, a.gate_reasons, cc.status AS contact_status
           FROM attempts a JOIN contacts k ON k.id = a.contact_id
           JOIN campaign_contacts cc ON cc.contact_id = a.contact_id AND cc.campaign_id = a.campaign_id""")}
    assert rows[blocked]["status"] == "SKIPPED" and "blacklist" in rows[blocked]["gate_reasons"]
    assert rows[blocked]["contact_status"] == "EXCLUDED"
    assert rows[opted]["status"] == "SKIPPED" and "opt_out" in rows[opted]["gate_reasons"]
    assert rows[fine]["status"] == "SCHEDULED" and rows[fine]["gate_reasons"] == ["weekend"]
    monday = rows[fine]["due_at"].astimezone(PARIS)
    assert monday.weekday() == 0 and (monday.hour, monday.minute) == (10, 0)
    assert await db.pool.fetchval("SELECT count(*) FROM calls WHERE campaign_id = $1", cid) == 0
    # Every verdict is on record for the audit, with the rules it applied and the consent it relied on.
    kept = {r["phone"]: r for r in await db.pool.fetch("SELECT * FROM gate_decisions WHERE campaign_id = $1", cid)}
    assert set(kept) == {blocked, opted, fine} and not any(r["allowed"] for r in kept.values())
    assert kept[fine]["reasons"] == ["weekend"] and kept[fine]["rules"][0].startswith("D223-8")
    assert kept[fine]["consent_id"] is not None and kept[fine]["caller_id"] == CANVASSING_NUMBER
    assert kept[fine]["regime"] == "consent" and kept[fine]["legal_basis"] == "consent"


@pytest.mark.parametrize(("outcome", "minutes", "reason"), [
    (Outcome.NO_ANSWER, 30, "retry:no_answer"),
    (Outcome.BUSY, 5, "retry:busy"),
])
async def test_retries_follow_the_outcome_then_stop(db, outcome, minutes, reason):
    [number] = phones(1)
    cid = await running_campaign(db, [number])
    clock = Clock(weekday_morning(), frozen=True)
    dialer = Dialer(db, Phone(ending=lambda p: (outcome, None, [])), _no_conversation,
                    DialerConfig(poll_interval=0.02), clock=clock)
    for n in range(3):  # the first dial and two retries
        due = await dialer.claim()
        assert due is not None, f"dial {n + 1}"
        assert due.reason == ("first" if n == 0 else reason)
        await dialer._dial(dialer.active.setdefault(due.attempt_id, _active(due)))
        nxt = await db.pool.fetchrow(
            "SELECT due_at, reason FROM attempts WHERE campaign_id = $1 AND status = 'SCHEDULED'", cid)
        if n < 2:
            assert nxt["reason"] == reason and nxt["due_at"] == clock() + timedelta(minutes=minutes)
            clock.advance(minutes=minutes)
        else:
            assert nxt is None
    assert (await get_campaign(db.pool, cid)).status == "COMPLETED"
    assert await db.pool.fetchval("SELECT count(*) FROM calls WHERE campaign_id = $1", cid) == 3


def _active(due):
    from bot.campaign.dialer import _Active

    return _Active(due)


async def test_a_callback_is_scheduled_when_the_person_asked(db):
    [number] = phones(1)
    cid = await running_campaign(db, [number])
    clock = Clock(weekday_morning(), frozen=True)
    said = ["allô", "là je peux pas, rappelez-moi demain vers 18 heures"]
    dialer = Dialer(db, Phone(ending=lambda p: (Outcome.ANSWERED, "CALLBACK_REQUESTED", said)), _no_conversation,
                    DialerConfig(), clock=clock)
    due = await dialer.claim()
    await dialer._dial(_active(due))
    row = await db.pool.fetchrow("SELECT due_at, reason FROM attempts WHERE campaign_id = $1 AND status = 'SCHEDULED'",
                                 cid)
    asked = clock().astimezone(PARIS) + timedelta(days=1)
    assert row["reason"] == "callback"
    assert row["due_at"] == asked.replace(hour=18, minute=0)


async def test_an_opt_out_on_the_call_is_kept_with_its_evidence(db):
    [number] = phones(1)
    cid = await running_campaign(db, [number])
    said = ["allô", "ne m'appelez plus jamais"]
    dialer = Dialer(db, Phone(ending=lambda p: (Outcome.ANSWERED, "OPTED_OUT", said)), _no_conversation,
                    DialerConfig(), clock=Clock(weekday_morning()))
    due = await dialer.claim()
    await dialer._dial(_active(due))
    row = await db.pool.fetchrow("SELECT * FROM opt_outs WHERE phone = $1", number)
    call = await db.pool.fetchrow("SELECT id, call_uuid FROM calls WHERE campaign_id = $1", cid)
    assert row["source"] == "call" and row["call_id"] == call["id"] and row["campaign_id"] == cid
    assert "ne m'appelez plus jamais" in row["evidence"]
    assert (await get_campaign(db.pool, cid)).status == "COMPLETED"


async def test_a_worker_that_dies_before_dialling_loses_nothing(db):
    [number] = phones(1)
    await running_campaign(db, [number])
    clock = Clock(weekday_morning())
    dead = Dialer(db, Phone(), _no_conversation, DialerConfig(worker_id="dead", lease=timedelta(seconds=0.2)),
                  clock=clock)
    assert await dead.claim() is not None  # claimed, then the process vanished
    phone = Phone()
    alive = Dialer(db, phone, _no_conversation, DialerConfig(worker_id="alive"), clock=clock)
    assert await alive.claim() is None  # leased by the dead worker
    await asyncio.sleep(0.3)
    assert await alive.recover() == 1
    clock.advance(seconds=1)  # the campaign's pace: one dial a second
    due = await alive.claim()
    assert due is not None and due.phone == number


async def test_a_worker_that_dies_mid_call_never_causes_a_second_dial_at_once(db):
    [number] = phones(1)
    cid = await running_campaign(db, [number])
    clock = Clock(weekday_morning(), frozen=True)
    phone = Phone()
    phone.release.clear()  # the call goes on and on
    dead = Dialer(db, phone, _no_conversation, DialerConfig(worker_id="dead", lease=timedelta(seconds=0.3)),
                  clock=clock)
    due = await dead.claim()
    call = asyncio.create_task(dead._dial(_active(due)))
    await _until(lambda: _status(db, due.attempt_id, "DIALING"))
    live = await db.pool.fetchrow("SELECT status, answered_at FROM calls WHERE campaign_id = $1", cid)
    assert live["status"] == "IN_PROGRESS" and live["answered_at"] is not None  # answered: talking, not ringing
    alive = Dialer(db, Phone(), _no_conversation, DialerConfig(worker_id="alive"), clock=clock)
    await asyncio.sleep(0.4)  # the dead worker renews nothing
    assert await alive.recover() == 1
    assert await alive.claim() is None  # not dialled again now
    call_row = await db.pool.fetchrow("SELECT status, note FROM calls WHERE campaign_id = $1", cid)
    assert call_row["status"] == "INTERRUPTED" and "lost mid-call" in call_row["note"]
    retry = await db.pool.fetchrow("SELECT due_at, reason FROM attempts WHERE status = 'SCHEDULED'")
    assert retry["reason"] == "retry:interrupted" and retry["due_at"] == clock() + timedelta(minutes=30)
    # The "dead" worker was only slow: its call ends, and its real ending replaces the recovery's plan.
    phone.release.set()
    await call
    assert await db.pool.fetchval("SELECT status FROM calls WHERE campaign_id = $1", cid) == "ENDED"
    assert await db.pool.fetchval("SELECT count(*) FROM attempts WHERE status = 'SCHEDULED'") == 0
    # One dial, counted once: the recovery's conclusion was replaced, not added to.
    assert await db.pool.fetchval("SELECT attempts FROM campaign_contacts WHERE campaign_id = $1", cid) == 1


async def _status(db, attempt_id, status):
    return await db.pool.fetchval("SELECT status FROM attempts WHERE id = $1", attempt_id) == status


async def test_lifecycle_changes_are_checked(db):
    campaign = await create_campaign(db.pool, "c", "demo", legal_basis="consent", caller_id=CANVASSING_NUMBER)
    with pytest.raises(control.CampaignNotReady, match="aucun contact"):
        await control.start(db, campaign.id)
    cid = await running_campaign(db, phones(1))
    assert (await control.act(db, cid, "pause")).status == "PAUSED"
    with pytest.raises(TransitionError, match="PAUSED"):
        await control.act(db, cid, "pause")
    assert (await control.act(db, cid, "resume")).status == "RUNNING"
    assert (await control.act(db, cid, "stop")).status == "CANCELLED"
    assert await db.pool.fetchval("SELECT status FROM attempts WHERE campaign_id = $1", cid) == "CANCELLED"
    with pytest.raises(TransitionError):
        await control.act(db, cid, "resume")


async def test_a_paused_campaign_is_not_dialled(db):
    cid = await running_campaign(db, phones(2))
    await control.act(db, cid, "pause")
    dialer = Dialer(db, Phone(), _no_conversation, DialerConfig(), clock=Clock(weekday_morning()))
    assert await dialer.claim() is None
    await control.act(db, cid, "resume")
    assert await dialer.claim() is not None


async def test_claims_from_many_connections_at_once_never_overlap(db):
    await running_campaign(db, phones(40), max_concurrent_calls=40, calls_per_second=1000)
    clock = Clock(weekday_morning())
    dialers = [Dialer(db, Phone(), _no_conversation, DialerConfig(worker_id=f"w{i}"), clock=clock) for i in range(8)]

    async def claim_all(d):
        got = []
        while (due := await d.claim()) is not None:
            got.append(due.attempt_id)
        return got

    claimed = [a for got in await asyncio.gather(*(claim_all(d) for d in dialers)) for a in got]
    assert len(claimed) == 40 == len(set(claimed))
    assert await db.pool.fetchval("SELECT count(*) FROM attempts WHERE status = 'CLAIMED'") == 40
    _ = q
