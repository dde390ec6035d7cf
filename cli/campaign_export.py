"""`minibot campaign export ID --format csv|xlsx [--out FILE]`: a campaign's calls as a spreadsheet.

Thin: check the options, call `bot.campaign.export`, print where the file went and how many calls
it holds. Exit codes: 0 written, 1 the file or the database failed, 2 bad arguments (format,
unknown campaign). The file holds full phone numbers: it is the operator's own data.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import NoReturn

import asyncpg
import typer
from rich.console import Console
from rich.markup import escape

from bot.campaign.export import FORMATS, ExportSummary, export_campaign
from bot.config import Settings
from bot.store import Database, DatabaseError
from bot.store.embedded import EmbeddedUnavailable
from bot.store.migrate import MigrationError

console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int, as_json: bool) -> NoReturn:
    if as_json:
        sys.stdout.write(json.dumps({"error": message}, ensure_ascii=False) + "\n")
    else:
        err.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def export(
    campaign_id: int = typer.Argument(..., metavar="ID", help="the campaign's id"),
    format: str = typer.Option("csv", "--format", help="csv or xlsx"),
    out: Path = typer.Option(None, "--out", help="the file to write (default: campaign-<ID>.<format> here)"),
    as_json: bool = typer.Option(False, "--json", help='print {"path", "rows"} as one JSON object'),
) -> None:
    """Export every call of a campaign (contact, status, result, AMD, durations, objections,
    transcript, recording) to CSV for French Excel (UTF-8 BOM, ;) or XLSX."""
    fmt = format.lower()
    if fmt not in FORMATS:
        _fail(f"--format: {format!r} is not one of {', '.join(FORMATS)}", 2, as_json)
    target = out if out is not None else Path.cwd() / f"campaign-{campaign_id}.{fmt}"
    if target.is_dir():
        _fail(f"--out: {target} is a directory; give a file name", 2, as_json)

    async def run() -> ExportSummary:
        settings = Settings()
        async with await Database.open(settings.database_dsn, settings.data_dir) as db:
            return await export_campaign(db.pool, campaign_id, fmt, target)  # type: ignore[arg-type]

    try:
        summary = asyncio.run(run())
    except LookupError as exc:
        _fail(str(exc), 2, as_json)
    except OSError as exc:
        _fail(f"cannot write {target}: {exc.strerror or exc}" if exc.filename else f"export failed: {exc}", 1, as_json)
    except (DatabaseError, MigrationError, EmbeddedUnavailable) as exc:
        _fail(str(exc), 1, as_json)
    except asyncpg.PostgresError as exc:
        _fail(f"database: {exc}", 1, as_json)
    if as_json:
        sys.stdout.write(json.dumps({"path": str(summary.path), "rows": summary.rows}, ensure_ascii=False) + "\n")
    else:
        console.print(f"wrote {escape(str(summary.path))}: {summary.rows} call(s)", highlight=False, soft_wrap=True)
