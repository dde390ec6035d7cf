"""What the database commands share, written once: one JSON object on stdout (--json), errors that
say what (red `erreur :` on stderr, or {"error": ...} with --json) with their exit code, and the database
opened (DATABASE_URL, or the embedded server) around the work, its failures exiting 1."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.markup import escape

from bot.config import Settings
from bot.i18n import _
from bot.store import Database, DatabaseError
from bot.store.embedded import EmbeddedUnavailable
from bot.store.migrate import MigrationError

T = TypeVar("T")
err = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="afficher un seul objet JSON")


def emit(obj: dict[str, Any]) -> None:
    """Exactly one JSON object on stdout (for --json)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def fail(message: str, code: int, as_json: bool = False) -> NoReturn:
    if as_json:
        emit({"error": message})
    else:
        err.print(f"[red]{_('erreur :')}[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def with_db(work: Callable[[Database], Awaitable[T]], as_json: bool = False) -> T:
    """Open the database (which applies missing migrations), run `work`, close. A database that cannot
    be opened, migrated or queried exits 1; other exceptions of `work` reach the caller."""
    settings = Settings()

    async def main() -> T:
        async with await Database.open(settings.database_dsn, settings.data_dir) as db:
            return await work(db)

    try:
        return asyncio.run(main())
    except (DatabaseError, MigrationError, EmbeddedUnavailable) as exc:
        fail(str(exc), 1, as_json)
    except asyncpg.PostgresError as exc:
        fail(_("base de données : {error}").format(error=exc), 1, as_json)
