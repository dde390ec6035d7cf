"""The database MiniBot uses: DATABASE_URL's server, or the embedded one; migrated on open."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

import asyncpg

from ..i18n import _
from .embedded import start_embedded, stop_embedded
from .migrate import Migration, migrate

log = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The database cannot be reached or used; the message says which and why (no password)."""


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        pass
    return url


class Database:
    """A pool of connections. ``async with Database.open(...) as db`` or ``await db.close()``."""

    def __init__(self, pool: asyncpg.Pool, *, embedded: object | None = None, url: str = "",
                 data_dir: Path | None = None) -> None:
        self.pool = pool
        # Local state beside the database (the call journal, bot.store.journal); a temporary folder
        # only for a pool built by hand.
        self.data_dir = data_dir or Path(tempfile.gettempdir()) / "minibot"
        self._embedded = embedded
        self.url = _redacted(url)
        self.migrated: list[Migration] = []

    @classmethod
    async def open(cls, url: str | None, data_dir: Path, *, run_migrations: bool = True,
                   min_size: int = 1, max_size: int = 10, timeout: float = 10.0) -> Database:
        embedded = None
        if not url:
            embedded, url = await asyncio.to_thread(start_embedded, data_dir / "postgres")
        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, timeout=timeout,
                                             command_timeout=60)
        except (OSError, asyncpg.PostgresError, TimeoutError, ValueError) as exc:
            if embedded is not None:
                await asyncio.to_thread(stop_embedded, embedded)
            raise DatabaseError(_("connexion impossible à PostgreSQL ({url}) : {error}").format(
                url=_redacted(url), error=exc)) from None
        db = cls(pool, embedded=embedded, url=url, data_dir=data_dir)
        if run_migrations:
            try:
                async with pool.acquire() as conn:
                    db.migrated = await migrate(conn)
            except BaseException:
                await db.close()
                raise
        return db

    async def close(self, timeout: float = 10.0) -> None:
        # asyncpg's close waits for every connection to be released; one stuck in a query that
        # Ctrl-C cancelled would hold the process open. Past the bound the pool is terminated.
        try:
            await asyncio.wait_for(self.pool.close(), timeout)
        except TimeoutError:
            log.warning("PostgreSQL connections not released within %g s: closed at once", timeout)
            self.pool.terminate()
        if self._embedded is not None:
            await asyncio.to_thread(stop_embedded, self._embedded)
            self._embedded = None

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
