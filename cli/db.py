"""`minibot db`: the database's schema and retention.

    minibot db migrate                          # apply what is missing (also done at every start)
    minibot db purge --older-than 30d --dry-run # what retention would remove
    minibot db purge --older-than 30d --json    # remove it; one JSON object

Thin: open the database (DATABASE_URL, or the embedded server), call `bot.store`, print.
Exit codes: 0 done, 1 the database failed or some recordings could not be deleted, 2 bad arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape

from bot.config import Settings
from bot.store import Database
from bot.store.retention import PurgeReport, parse_age, purge

from .common import JSON_OPTION, emit, fail, with_db

db_app = typer.Typer(help="La base de données : migrations du schéma et durée de conservation.", no_args_is_help=True)
console = Console()
PARIS = ZoneInfo("Europe/Paris")


@db_app.command()
def migrate(as_json: bool = JSON_OPTION) -> None:
    """Apply the schema migrations the database lacks, and say which (or that it is up to date)."""
    settings = Settings()
    # Where the data lives, shown without a password: the embedded server's folder, or the redacted URL.
    embedded = None if settings.database_dsn else f"embedded in {settings.data_dir / 'postgres'}"

    async def work(db: Database) -> dict[str, Any]:
        version = await db.pool.fetchval("SELECT max(version) FROM schema_migrations")
        return {"database": embedded or db.url, "applied": [f"{m.version:04d}_{m.name}" for m in db.migrated],
                "version": version}

    result = with_db(work, as_json)
    if as_json:
        emit(result)
        return
    console.print(f"database: {escape(result['database'])}", highlight=False, soft_wrap=True)
    for name in result["applied"]:
        console.print(f"[green]applied[/] {escape(name)}", highlight=False)
    if not result["applied"]:
        console.print(f"up to date (schema version {result['version']:04d})", highlight=False)


@db_app.command("purge")
def purge_(
    older_than: str = typer.Option(..., "--older-than",
                                   help="age past which calls are purged: 90min, 12h, 30d, 12w, 6mo (30 days)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="report what would be removed; change nothing"),
    recordings_dir: Path = typer.Option(
        None, "--recordings-dir",
        help="where Asterisk saves recordings (default: MINIBOT_RECORDINGS_DIR, /var/spool/asterisk/recording)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove the recordings, transcripts and word events of calls older than --older-than.
    Call rows (statistics), opt-outs, blacklist, Bloctel and consents stay."""
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        fail(f"--older-than: {exc}", 2, as_json)

    async def work(db: Database) -> PurgeReport:
        return await purge(db.pool, age, dry_run=dry_run, recordings_dir=recordings_dir or Settings().recordings_dir)

    report = with_db(work, as_json)
    if as_json:
        emit(report.to_json())
    else:
        _print_report(report, older_than)
    if report.failed:
        raise typer.Exit(1)


def _print_report(r: PurgeReport, older_than: str) -> None:
    cutoff = r.cutoff.astimezone(PARIS).strftime("%Y-%m-%d %H:%M %Z")
    verb = "would purge" if r.dry_run else "purged"
    console.print(f"{verb} {r.calls_purged} call(s) ended before {cutoff} (older than {escape(older_than)}): "
                  f"{r.recordings_deleted} recording(s) {'to delete' if r.dry_run else 'deleted'} "
                  f"({_size(r.bytes_freed)}), {r.recordings_missing} already missing, "
                  f"{r.events_removed} word event(s) {'to remove' if r.dry_run else 'removed'}",
                  highlight=False, soft_wrap=True)
    for failure in r.failed:
        console.print(f"[yellow]not deleted[/] {escape(failure)} (the call is kept for the next purge)",
                      highlight=False, soft_wrap=True)


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} bytes"  # pragma: no cover
