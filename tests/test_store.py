"""Storage: the embedded PostgreSQL, migrations, and the schema's guarantees."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from bot.store import Database, DatabaseError
from bot.store import attempts as q
from bot.store.migrate import MigrationError, load_migrations, migrate
from tests.conftest import with_database
from tests.dialing import phones, running_campaign


async def test_migrations_apply_once_and_are_recorded(db):
    versions = [r["version"] for r in await db.pool.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in load_migrations()]
    async with db.pool.acquire() as conn:
        assert await migrate(conn) == []  # nothing left to apply


async def test_concurrent_migrations_apply_each_once(pg_server):
    import uuid

    name = "m" + uuid.uuid4().hex[:10]
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        url = with_database(pg_server, name)
        conns = [await asyncpg.connect(url) for _ in range(3)]
        results = await asyncio.gather(*(migrate(c) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, len(load_migrations())]
        for c in conns:
            await c.close()
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def test_an_edited_applied_migration_is_refused(db, tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    for m in load_migrations():
        (folder / f"{m.version:04d}_{m.name}.sql").write_text(m.sql + "\n-- edited\n")
    async with db.pool.acquire() as conn:
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, folder)


async def test_phone_must_be_e164(db):
    with pytest.raises(asyncpg.CheckViolationError):
        await db.pool.execute("INSERT INTO contacts (phone) VALUES ('0612345678')")


async def test_one_open_attempt_per_contact_and_campaign(db):
    cid = await db.pool.fetchval("INSERT INTO campaigns (name, scenario) VALUES ('c', 'demo') RETURNING id")
    kid = await db.pool.fetchval("INSERT INTO contacts (phone) VALUES ('+33612345678') RETURNING id")
    await db.pool.execute("INSERT INTO attempts (campaign_id, contact_id) VALUES ($1, $2)", cid, kid)
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.pool.execute("INSERT INTO attempts (campaign_id, contact_id) VALUES ($1, $2)", cid, kid)


async def test_unreachable_server_is_a_clear_error_without_the_password(tmp_path):
    with pytest.raises(DatabaseError) as err:
        await Database.open("postgresql://minibot:s3cret@127.0.0.1:9/minibot", tmp_path, timeout=2)
    assert "127.0.0.1:9" in str(err.value) and "s3cret" not in str(err.value)


async def test_embedded_server_starts_in_the_data_dir(tmp_path):
    db = await Database.open(None, tmp_path)
    try:
        assert (tmp_path / "postgres" / "PG_VERSION").exists()
        assert await db.pool.fetchval("SELECT count(*) FROM schema_migrations") == len(load_migrations())
    finally:
        await db.close()


async def test_pools_of_one_process_share_the_embedded_server_until_the_last_closes(tmp_path):
    first = await Database.open(None, tmp_path)
    second = await Database.open(None, tmp_path)
    await first.close()
    try:
        assert await second.pool.fetchval("SELECT 1") == 1  # still up, new connections too
        async with second.pool.acquire() as a, second.pool.acquire() as b:
            assert await a.fetchval("SELECT 2") + await b.fetchval("SELECT 3") == 5
    finally:
        await second.close()


async def test_conclusions_that_referenced_their_campaign_queue_instead_of_deadlocking(db):
    """Two calls of one campaign stored at once (Asterisk stopping ends them together): each
    transaction first writes rows that reference the campaign (a key-share lock on its row), then
    takes the campaign's lock to conclude. A FOR UPDATE lock waits on the other's key-share, both
    wait, PostgreSQL kills one ("deadlock detected", seen in the live outage test); the lock that
    serialises conclusions leaves key-share alone, so the second simply waits for the first."""
    cid = await running_campaign(db, phones(2))
    await db.pool.execute("UPDATE attempts SET status = 'DONE' WHERE campaign_id = $1", cid)
    contacts = [r["contact_id"] for r in await db.pool.fetch(
        "SELECT contact_id FROM campaign_contacts WHERE campaign_id = $1 ORDER BY 1", cid)]
    both_wrote = asyncio.Barrier(2)

    async def conclusion(contact_id: int) -> None:
        async with db.pool.acquire() as conn, conn.transaction():
            await q.schedule(conn, cid, contact_id, due_at=datetime(2030, 1, 7, 10, tzinfo=UTC), reason="retry:busy")
            await both_wrote.wait()
            await q.lock_campaign(conn, cid)
            await q.complete_finished_campaigns(conn, cid)

    await asyncio.wait_for(asyncio.gather(*(conclusion(c) for c in contacts)), 30)
    assert await db.pool.fetchval("SELECT count(*) FROM attempts WHERE campaign_id = $1 AND status = 'SCHEDULED'",
                                  cid) == 2
