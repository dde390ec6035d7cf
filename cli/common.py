"""What the database commands share: one JSON object on stdout, errors that say what, and the
database opened (DATABASE_URL, or the embedded server) around the work."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from bot.config import Settings
from bot.store import Database, DatabaseError

T = TypeVar("T")
err = Console(stderr=True)


def emit(obj: dict[str, Any]) -> None:
    """Exactly one JSON object on stdout (for --json)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def fail(message: str, code: int, as_json: bool = False) -> NoReturn:
    if as_json:
        emit({"error": message})
    else:
        err.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def with_db(work: Callable[[Database], Awaitable[T]], as_json: bool = False) -> T:
    """Open the database, run `work`, close; a database that cannot be opened exits 1."""
    settings = Settings()

    async def main() -> T:
        async with await Database.open(settings.database_dsn, settings.data_dir) as db:
            return await work(db)

    try:
        return asyncio.run(main())
    except DatabaseError as exc:
        fail(str(exc), 1, as_json)
