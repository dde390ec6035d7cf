"""Versioned SQL migrations: `migrations/NNNN_name.sql`, each applied once, in order, in its
own transaction, under an advisory lock so that several processes starting together apply
each exactly once. An applied file that changed afterwards is an error, not a silent skip."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK = 72_190_411  # pg_advisory_lock key: "MiniBot migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(folder: Path = MIGRATIONS) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path}: a migration is named NNNN_name.sql")
        found.append(Migration(int(m[1]), m[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{folder}: two migrations share a version number")
    return found


async def migrate(conn: asyncpg.Connection, folder: Path = MIGRATIONS) -> list[Migration]:
    """Apply what is missing; returns the migrations applied now."""
    wanted = load_migrations(folder)
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK)
    try:
        await conn.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())""")
        applied = {r["version"]: r for r in await conn.fetch("SELECT version, name, checksum FROM schema_migrations")}
        done = []
        for migration in wanted:
            row = applied.get(migration.version)
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name}.sql changed after it was applied; "
                        "add a new migration instead of editing an applied one")
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                                   migration.version, migration.name, migration.checksum)
            done.append(migration)
        unknown = sorted(set(applied) - {m.version for m in wanted})
        if unknown:
            raise MigrationError(f"the database has migrations this MiniBot does not know ({unknown}): "
                                 "it was migrated by a newer version")
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK)
