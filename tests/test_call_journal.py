"""What a call produced survives the database going away and the worker dying (bot.store.journal),
and conclusions of one campaign never deadlock. A real PostgreSQL (the embedded server), stopped
and restarted for real where the test says so."""

from __future__ import annotations

import asyncio
import json

from bot.call.outcome import Outcome
from bot.campaign.conclude import Ending, conclude
from bot.campaign.dialer import Dialer, DialerConfig
from bot.campaign.retries import RetryPolicy
from bot.store import attempts as q
from bot.store.journal import Journal
from tests.dialing import PARIS, Clock, phones, running_campaign, weekday_morning
from tests.test_dialer import Phone, _active, _no_conversation


async def test_concurrent_conclusions_of_one_campaign_do_not_deadlock(db):
    """Issue 15 item 3: four calls of one campaign concluded at once (a graceful stop)."""
    numbers = phones(8)
    cid = await running_campaign(db, numbers)
    rows = await db.pool.fetch("SELECT id, contact_id FROM attempts WHERE campaign_id = $1", cid)
    await db.pool.execute("UPDATE attempts SET status = 'DIALING', lease_owner = 'w' WHERE campaign_id = $1", cid)
    phone_of = dict(await db.pool.fetch("SELECT id, phone FROM contacts"))
    barrier = asyncio.Barrier(len(rows))

    async def one(row, i):
        async with db.pool.acquire() as conn, conn.transaction():
            await q.close(conn, row["id"], "w")
            await barrier.wait()  # every transaction in flight together, as at a stop
            ending = Ending("interrupted", None) if i % 2 else Ending("answered", "OPTED_OUT", ("stop",))
            await conclude(conn, campaign_id=cid, contact_id=row["contact_id"], phone=phone_of[row["contact_id"]],
                           call_id=None, ending=ending, policy=RetryPolicy(), now=weekday_morning(), zone=PARIS)

    results = await asyncio.gather(*(one(r, i) for i, r in enumerate(rows)), return_exceptions=True)
    assert [r for r in results if r is not None] == []
    assert await db.pool.fetchval("SELECT count(*) FROM opt_outs") == 4
    assert await db.pool.fetchval("SELECT count(*) FROM attempts WHERE status = 'SCHEDULED'") == 4


async def test_a_journaled_entry_is_stored_exactly_once(db, tmp_path):
    [number] = phones(1)
    cid = await running_campaign(db, [number])
    said = ["allô", "ne m'appelez plus jamais"]
    config = DialerConfig(worker_id="w1", journal_dir=tmp_path / "j")
    dialer = Dialer(db, Phone(ending=lambda p: (Outcome.ANSWERED, "OPTED_OUT", said)), _no_conversation,
                    config, clock=Clock(weekday_morning()))
    due = await dialer.claim()

    async def crash_before_the_stored_line(uuid):  # the worker dies right after the commit
        pass

    dialer.journal.stored = crash_before_the_stored_line
    await dialer._dial(_active(due))
    dialer.close_journal()
    [line] = (tmp_path / "j" / "w1.jsonl").read_text().splitlines()
    assert json.loads(line)["data"]["opt_out"] == number
    again = Dialer(db, Phone(), _no_conversation, DialerConfig(worker_id="w2", journal_dir=tmp_path / "j"))
    assert again.journal.adopt() == 1
    assert await again.replay() == 1
    assert await db.pool.fetchval("SELECT count(*) FROM opt_outs WHERE phone = $1", number) == 1
    assert await db.pool.fetchval("SELECT count(*) FROM calls WHERE campaign_id = $1", cid) == 1
    events = await db.pool.fetchval("SELECT count(*) FROM call_events")
    assert await again.replay() == 0 and await db.pool.fetchval("SELECT count(*) FROM call_events") == events
    assert list((tmp_path / "j").glob("*.jsonl")) == [tmp_path / "j" / "w2.jsonl"]  # the adopted file is gone
    again.close_journal()


def test_a_worker_lock_tells_live_files_from_dead_ones(tmp_path):
    live = Journal(tmp_path, "live")
    other = Journal(tmp_path, "other")
    assert other.adopt() == 0  # "live" holds its lock
    live.close()
    assert other.adopt() == 0 and not (tmp_path / "live.jsonl").exists()  # empty: removed
    other.close()


async def test_an_inbound_call_goes_through_the_journal_and_its_opt_out_is_stored_once(db, tmp_path):
    from bot.call.call import CallRecord, Utterance

    record = CallRecord("inb-1", "inbound", "+33612345670", outcome=Outcome.ANSWERED, result="OPTED_OUT")
    record.utterances = [Utterance("caller", "ne m'appelez plus", record.timeline.started + 1)]
    dialer = Dialer(db, Phone(), _no_conversation, DialerConfig(worker_id="w", journal_dir=tmp_path / "j"))
    stored = dialer.journal.stored

    async def crash_before_the_stored_line(uuid):
        pass

    dialer.journal.stored = crash_before_the_stored_line
    await dialer.store_inbound(record)
    dialer.journal.stored = stored
    assert await dialer.replay() == 1  # replayed after the "crash": stores nothing twice
    assert await db.pool.fetchval("SELECT count(*) FROM calls WHERE direction = 'inbound'") == 1
    assert await db.pool.fetchval("SELECT evidence FROM opt_outs WHERE phone = '+33612345670'") == "ne m'appelez plus"
    assert await db.pool.fetchval("SELECT count(*) FROM opt_outs") == 1
    assert dialer.journal.pending() == []
    dialer.close_journal()
