from __future__ import annotations

import difflib
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


def sounds_like(heard: str, said: str) -> float:
    """How close a transcript sounds to what was said: letters and digits only, character by character.

    Whisper's greedy decoding runs on CTranslate2 kernels chosen per CPU (AVX2 vs AVX-512, Intel vs
    AMD), so the same audio can come back split into other words: "C'est combien ?" is "C'est court
    bien." on an AMD EPYC host, "Oui, d'accord, pourquoi pas." is "et d'accord pour quoi pas." on
    another. A word-level ratio calls those 0.4; the sounds are the same (0.83, 0.88). Word
    boundaries are left out so the check holds on any x86-64 CPU; a wrong transcript ("Bonjour"
    for "C'est combien ?": 0.22) still fails."""
    norm = lambda s: "".join(c for c in s.lower() if c.isalnum())  # noqa: E731
    return difflib.SequenceMatcher(None, norm(heard), norm(said)).ratio()


def assert_heard(heard: str, clip: str, manifest: dict, at_least: float = 0.6) -> None:
    """The transcript sounds like its clip's text, and more like it than like any other clip's."""
    scores = {name: sounds_like(heard, entry["text"]) for name, entry in manifest.items()}
    closest = max(scores, key=scores.__getitem__)
    assert closest == clip and scores[clip] >= at_least, (
        f"{heard!r} heard for {clip} ({manifest[clip]['text']!r}: {scores[clip]:.2f}); closest: {closest} "
        f"({scores[closest]:.2f})")


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
