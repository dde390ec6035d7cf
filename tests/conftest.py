from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.speech.pcm import Audio, read_wav

FIXTURES = Path(__file__).parent / "fixtures" / "speech"


@pytest.fixture(scope="session")
def speech_manifest() -> dict:
    return json.loads((FIXTURES / "manifest.json").read_text())


def speech(name: str, rate: int = 16000) -> Audio:
    return read_wav(FIXTURES / f"{name}_{rate // 1000}k.wav")


@pytest.fixture
async def fake():
    """A fake Ollama server on loopback (tests/fake_ollama.py), for the LLM tests."""
    from tests.fake_ollama import FakeOllama

    async with FakeOllama() as server:
        yield server


# -- PostgreSQL: one embedded server per test session, a fresh migrated database per test --------

@pytest.fixture(scope="session")
def pg_server():
    """The embedded PostgreSQL (pgserver), or the server in MINIBOT_TEST_DATABASE_URL."""
    import os

    url = os.environ.get("MINIBOT_TEST_DATABASE_URL")
    if url:
        yield url
        return
    import shutil
    import tempfile

    from bot.store.embedded import start_embedded, stop_embedded

    # Not under pytest's own temporary directory: as root, pgserver runs PostgreSQL as another user,
    # which must traverse the path, and pytest resets its directory to 0700 when another run starts.
    data = Path(tempfile.mkdtemp(prefix="minibot-test-pg-"))
    server, url = start_embedded(data)
    try:
        yield url
    finally:
        stop_embedded(server)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_template(pg_server):
    """A migrated database that each test's database is copied from (CREATE DATABASE ... TEMPLATE)."""
    import asyncio

    import asyncpg

    from bot.store.migrate import migrate

    async def build() -> None:
        conn = await asyncpg.connect(pg_server)
        try:
            await conn.execute("DROP DATABASE IF EXISTS minibot_template")
            await conn.execute("CREATE DATABASE minibot_template")
        finally:
            await conn.close()
        conn = await asyncpg.connect(with_database(pg_server, "minibot_template"))
        try:
            await migrate(conn)
        finally:
            await conn.close()

    asyncio.run(build())
    return "minibot_template"


_db_counter = iter(range(1, 1_000_000))


def with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
async def database_url(pg_server, pg_template):
    """A fresh, migrated database for one test; dropped afterwards."""
    import asyncpg

    name = f"minibot_test_{next(_db_counter)}"
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name}")
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    finally:
        await conn.close()
    yield with_database(pg_server, name)
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


@pytest.fixture
async def db(database_url, tmp_path):
    """An open `Database` on a fresh migrated database."""
    from bot.store import Database

    database = await Database.open(database_url, tmp_path)
    try:
        yield database
    finally:
        await database.close()
