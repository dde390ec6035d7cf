"""Fault: a worker process killed with SIGKILL, mid-call or right after its calls ended while the
database was down. A real child process, a real PostgreSQL (stopped and started again for real);
the invariants are counted from the database."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.campaign.dialer import Dialer, DialerConfig
from bot.store import Database
from tests.dialing import Clock, phones, running_campaign, weekday_morning
from tests.test_dialer import Phone, _no_conversation
from tests.test_faults_database import OPTING_OUT, _until, postgres  # noqa: F401 - the fixture

REPO = Path(__file__).resolve().parent.parent

# The worker: a dialer whose calls last until a flag file appears (a stand-in for the telephony side,
# tested on its own against the simulator), then end as told by the phone number.
WORKER = """
import asyncio, sys
from datetime import timedelta
from pathlib import Path
from bot.call.outcome import Outcome
from bot.campaign.dialer import Dialer, DialerConfig
from bot.store import Database
from tests.dialing import Clock, weekday_morning
from tests.test_dialer import Phone, _no_conversation

url, data, journal, flag, opting = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), sys.argv[5:]

class HeldPhone(Phone):
    async def __call__(self, phone, conversation, *, call_id, on_answer=None, caller_id=None):
        while not flag.exists():
            await asyncio.sleep(0.05)
        return await super().__call__(phone, conversation, call_id=call_id, on_answer=on_answer)

def ending(phone):
    if phone in opting:
        return Outcome.ANSWERED, "OPTED_OUT", ["allô ?", "Ne m'appelez plus jamais"]
    return Outcome.ANSWERED, "NOT_INTERESTED", ["non merci"]

async def main():
    db = await Database.open(url, data)
    dialer = Dialer(db, HeldPhone(ending=ending), _no_conversation,
                    DialerConfig(worker_id="victim", max_calls=4, poll_interval=0.02, journal_dir=journal,
                                 lease=timedelta(seconds=2), renew_every=0.5, recover_every=3600),
                    clock=Clock(weekday_morning()))
    await dialer.run()

asyncio.run(main())
"""


def _spawn(url: str, tmp: Path, journal: Path, flag: Path, opting: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", WORKER, url, str(tmp / "victim"), str(journal), str(flag), *opting],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _journaled(journal: Path) -> int:
    lines = [json.loads(line) for f in journal.glob("*.jsonl") for line in f.read_text().splitlines() if line]
    return sum(entry["op"] == "call" for entry in lines)


async def _true(value: bool) -> bool:
    return value


async def test_a_worker_killed_after_its_calls_ended_during_an_outage_loses_nothing(postgres, tmp_path):  # noqa: F811
    numbers = phones(4)
    opting = numbers[:2]
    journal, flag = tmp_path / "journal", tmp_path / "release"
    db = await Database.open(postgres.url, tmp_path)
    worker = None
    try:
        cid = await running_campaign(db, numbers, max_concurrent_calls=4)
        worker = _spawn(postgres.url, tmp_path, journal, flag, opting)
        await _until(lambda: _count(db, "SELECT count(*) FROM attempts WHERE status = 'DIALING'", 4), 60)
        await asyncio.to_thread(postgres.stop)
        flag.touch()  # the four calls end while the database is away
        await _until(lambda: _true(_journaled(journal) == 4), 30)
        worker.send_signal(signal.SIGKILL)  # right after: nothing stored, nothing said
        await asyncio.to_thread(worker.wait, 10)
        await asyncio.to_thread(postgres.start)
        await db.pool.expire_connections()

        heir = Dialer(db, Phone(), _no_conversation, DialerConfig(worker_id="heir", journal_dir=journal),
                      clock=Clock(weekday_morning()))
        # The gate sees the opt-outs before PostgreSQL does.
        assert heir.journal.pending_opt_outs() == set(opting), [f.read_text() for f in journal.glob("*")]
        assert heir.journal.adopt() == 4
        assert await heir.replay() == 4
        await heir.recover()
        heir.close_journal()

        calls = await db.pool.fetch("SELECT phone, status, result FROM calls WHERE campaign_id = $1", cid)
        assert sorted(c["phone"] for c in calls) == sorted(numbers)  # no record lost, none twice
        assert {c["status"] for c in calls} == {"ENDED"}
        assert sorted(await db.pool.fetchval("SELECT array_agg(phone) FROM opt_outs")) == sorted(opting)
        assert [r["status"] for r in await db.pool.fetch(
            "SELECT status FROM attempts WHERE campaign_id = $1", cid)] == ["DONE"] * 4
        assert await db.pool.fetchval("SELECT count(*) FROM journal_replays") == 4
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        await db.close()


async def test_a_worker_killed_mid_call_is_recovered_without_a_second_dial(postgres, tmp_path):  # noqa: F811
    numbers = phones(3)
    journal, flag = tmp_path / "journal", tmp_path / "release"
    clock = Clock(weekday_morning())
    db = await Database.open(postgres.url, tmp_path)
    worker = None
    try:
        cid = await running_campaign(db, numbers, max_concurrent_calls=4)
        worker = _spawn(postgres.url, tmp_path, journal, flag, [])
        await _until(lambda: _count(db, "SELECT count(*) FROM attempts WHERE status = 'DIALING'", 3), 60)
        worker.send_signal(signal.SIGKILL)  # mid-call
        await asyncio.to_thread(worker.wait, 10)
        heir_phone = Phone()
        heir = Dialer(db, heir_phone, _no_conversation,
                      DialerConfig(worker_id="heir", journal_dir=journal, lease=timedelta(seconds=2)), clock=clock)
        await asyncio.sleep(2.5)  # the victim's leases lapse
        assert await heir.recover() == 3
        assert await heir.claim() is None  # the interrupted retry waits: nobody dialled again now
        heir.close_journal()
        calls = await db.pool.fetch("SELECT status, note FROM calls WHERE campaign_id = $1", cid)
        assert len(calls) == 3 and {c["status"] for c in calls} == {"INTERRUPTED"}
        attempts = await db.pool.fetch("SELECT status, reason FROM attempts WHERE campaign_id = $1 ORDER BY id", cid)
        assert sorted(a["status"] for a in attempts) == ["DONE"] * 3 + ["SCHEDULED"] * 3
        assert {a["reason"] for a in attempts if a["status"] == "SCHEDULED"} == {"retry:interrupted"}
        assert heir_phone.dialled == []
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        await db.close()


async def _count(db, sql, n) -> bool:
    try:
        return await db.pool.fetchval(sql) == n
    except OSError:
        return False
