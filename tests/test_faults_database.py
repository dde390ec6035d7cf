"""Fault: the database stops mid-campaign and the worker dies right after its calls end.

A real PostgreSQL (the embedded server, its own data directory, so the rest of the suite keeps its
server) is stopped with `pg_ctl stop -m fast` while four calls are in progress, the calls end during
the outage, the worker vanishes without a word, the server is started again, and a new worker on the
same machine takes over. The invariants are counted from the database."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from bot.call.outcome import Outcome
from bot.campaign import control
from bot.campaign.dialer import Dialer, DialerConfig
from bot.store import Database
from bot.store.campaigns import create_campaign
from tests.dialing import CANVASSING_NUMBER, Clock, phones, running_campaign, weekday_morning
from tests.test_dialer import Phone, _no_conversation


class Postgres:
    """The embedded server, stopped and started again for real."""

    def __init__(self, data: Path) -> None:
        import pgserver

        self.server = pgserver.get_server(data, cleanup_mode="stop")
        self.url = self.server.get_uri()

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=30)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def cleanup(self) -> None:
        self.server.cleanup()


@pytest.fixture
def postgres():
    data = Path(tempfile.mkdtemp(prefix="minibot-fault-pg-"))
    pg = Postgres(data)
    try:
        yield pg
    finally:
        pg.start()  # a failed test may leave it stopped: pgserver's cleanup expects it running
        pg.cleanup()
        shutil.rmtree(data, ignore_errors=True)


OPTING_OUT = ("allô ?", "Ne m'appelez plus jamais")


async def _until(predicate, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():  # noqa: ASYNC110 - the state is in files and the database
            await asyncio.sleep(0.05)


async def test_calls_ending_while_the_database_is_down_are_stored_once_and_opt_outs_honoured(postgres, tmp_path):
    numbers = phones(4)
    opting_out = set(numbers[:2])

    def ending(phone):
        if phone in opting_out:
            return Outcome.ANSWERED, "OPTED_OUT", list(OPTING_OUT)
        return Outcome.ANSWERED, "NOT_INTERESTED", ["non merci"]

    journal = tmp_path / "journal"
    clock = Clock(weekday_morning())
    db = await Database.open(postgres.url, tmp_path)
    try:
        cid = await running_campaign(db, numbers, max_concurrent_calls=4)
        # The same opted-out person is due in a second campaign: the gate must refuse them there
        # before their opt-out reaches PostgreSQL.
        other = await create_campaign(db.pool, "other", "demo", legal_basis="consent", caller_id=CANVASSING_NUMBER)
        kid = await db.pool.fetchval("SELECT id FROM contacts WHERE phone = $1", numbers[0])
        await db.pool.execute("INSERT INTO campaign_contacts (campaign_id, contact_id) VALUES ($1, $2)", other.id, kid)
        await db.pool.execute("INSERT INTO attempts (campaign_id, contact_id, due_at) VALUES ($1, $2, '-infinity')",
                              other.id, kid)
        await control.start(db, other.id)
        await db.pool.execute("UPDATE campaigns SET next_dial_at = '-infinity', status = 'PAUSED' WHERE id = $1",
                              other.id)

        phone = Phone(ending=ending)
        phone.release.clear()  # the calls go on until the database is down
        first = Dialer(db, phone, _no_conversation,
                       DialerConfig(worker_id="first", max_calls=4, poll_interval=0.02, journal_dir=journal,
                                    lease=timedelta(seconds=2), renew_every=0.5, recover_every=0.5), clock=clock)
        worker = asyncio.create_task(first.run())
        await _until(lambda: _count(db, "SELECT count(*) FROM attempts WHERE status = 'DIALING'", 4))

        await asyncio.to_thread(postgres.stop)
        phone.release.set()  # every call ends while the database is away
        await _until(lambda: _true(len(first.journal.pending()) == 4))
        assert first.journal.pending_opt_outs() == opting_out
        await asyncio.sleep(3)  # longer than a lease: the leases lapse during the outage

        # The worker dies: no drain, no goodbye (its journal lock goes with the process).
        worker.cancel()
        for task in [a.task for a in first.active.values() if a.task]:
            task.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        first.close_journal()

        await asyncio.to_thread(postgres.start)
        await db.pool.expire_connections()
        await db.pool.execute("UPDATE campaigns SET status = 'RUNNING' WHERE id = $1", other.id)
        second = Dialer(db, Phone(), _no_conversation,
                        DialerConfig(worker_id="second", journal_dir=journal), clock=clock)
        clock.advance(seconds=5)
        # The journaled opt-out is honoured before it is in opt_outs.
        assert await db.pool.fetchval("SELECT count(*) FROM opt_outs") == 0
        assert await second.claim() is None
        skipped = await db.pool.fetchrow("SELECT status, gate_reasons FROM attempts WHERE campaign_id = $1", other.id)
        assert skipped["status"] == "SKIPPED" and "opt_out" in skipped["gate_reasons"]

        assert second.journal.adopt() == 4
        assert await second.replay() == 4
        assert await second.replay() == 0  # a second replay stores nothing
        await second.recover()
        second.close_journal()

        # Invariants, counted from the database.
        calls = await db.pool.fetch("SELECT phone, status, result, transcript FROM calls WHERE campaign_id = $1", cid)
        assert sorted(c["phone"] for c in calls) == sorted(numbers)  # no call lost, none duplicated
        assert {c["status"] for c in calls} == {"ENDED"}
        assert {c["phone"]: c["result"] for c in calls} == {
            n: "OPTED_OUT" if n in opting_out else "NOT_INTERESTED" for n in numbers}
        assert all("Ne m'appelez plus jamais" in c["transcript"] for c in calls if c["phone"] in opting_out)
        outs = await db.pool.fetch("SELECT phone, evidence FROM opt_outs")
        assert sorted(o["phone"] for o in outs) == sorted(opting_out)  # every opt-out, each once
        assert all(o["evidence"] == OPTING_OUT[-1] for o in outs)
        attempts = await db.pool.fetch("SELECT status, reason FROM attempts WHERE campaign_id = $1", cid)
        assert [a["status"] for a in attempts] == ["DONE"] * 4  # every attempt accounted for, no retry
        assert sorted(phone.dialled) == sorted(numbers)  # each number dialled once for its attempt
        assert await db.pool.fetchval("SELECT count(*) FROM journal_replays") == 4
        assert list(journal.glob("*.jsonl")) in ([], [journal / "second.jsonl"])
    finally:
        await db.close()


async def _count(db, sql, n) -> bool:
    try:
        return await db.pool.fetchval(sql) == n
    except OSError:
        return False


async def _true(value: bool) -> bool:
    return value


async def test_health_and_the_api_say_the_database_is_down_and_recover(postgres, tmp_path):
    import aiohttp
    from prometheus_client import CollectorRegistry

    from bot.ops.health import Health
    from bot.ops.health import database as database_check
    from bot.web.app import build_app, start_server
    from bot.web.context import WebContext

    key = "k3y-for-tests-0123456789abcdef"
    db = await Database.open(postgres.url, tmp_path)
    ctx = WebContext(db=db, api_key=key, health=Health({"database": database_check(db)}),
                     metrics_registry=CollectorRegistry())
    runner = await start_server(build_app(ctx), "127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession(base, headers={"X-API-Key": key}) as http:
            async with http.get("/api/campaigns") as resp:
                assert resp.status == 200
            await asyncio.to_thread(postgres.stop)
            async with http.get("/health") as resp:
                body = await resp.json()
                assert resp.status == 503
            database = body["components"]["database"]
            assert database["status"] == "down" and database["detail"].startswith("PostgreSQL unreachable")
            for path in ("/api/campaigns", "/api/calls"):
                async with http.get(path) as resp:
                    assert resp.status == 503 and resp.content_type == "application/json"
                    assert (await resp.json())["error"].startswith("database unavailable")
            await asyncio.to_thread(postgres.start)
            await _until(lambda: _status(http, "/api/campaigns", 200))
            async with http.get("/health") as resp:
                assert resp.status == 200
    finally:
        await runner.cleanup()
        await db.close()


async def _status(http, path, expected) -> bool:
    async with http.get(path) as resp:
        return resp.status == expected
