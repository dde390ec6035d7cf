"""Import the Bloctel opposition list: the numbers, among the operator's prospects, whose owners
registered on Bloctel (France's do-not-call list, bloctel.gouv.fr) and must not be canvassed.

The file is what Bloctel's service returns for the operator's file, reduced to the opposed
numbers: text or CSV, one number per line in national (06 12 34 56 78) or E.164 form, possibly with
a header; in a CSV with several columns, the one named like phone/numero/telephone is read. Each
import replaces the previous list in one transaction (a list that shrank must unblock numbers) and
is traced in bloctel_imports (file name, sha256, count). Lines that are not numbers are reported with
their line numbers and do not stop the import. The law asks for a fresh check at least every 30
days, hence `bloctel_list_age` and the gate's warning.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import logging
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.contacts.phones import InvalidPhone, to_e164
from bot.i18n import _
from bot.store import compliance as store

log = logging.getLogger(__name__)

BLOCTEL_MAX_AGE = timedelta(days=30)
# Header names that hold the number, compared without accents, case, spaces or punctuation.
_PHONE_HEADERS = ("phone", "numero", "telephone", "tel", "mobile", "portable", "msisdn", "number", "num")


class BloctelError(ValueError):
    """The file cannot be imported at all (unreadable, no number in it); the current list is kept."""


@dataclass(frozen=True)
class InvalidLine:
    line: int  # in the file, the first line being 1
    reason: str


@dataclass
class BloctelList:
    """A parsed file: unique E.164 numbers in file order, and what was left out."""

    numbers: list[str] = field(default_factory=list)
    lines: int = 0  # data lines read (header and blank lines excluded)
    duplicates: int = 0
    invalid: list[InvalidLine] = field(default_factory=list)
    header: bool = False


@dataclass
class BloctelReport:
    file_name: str
    sha256: str
    import_id: int
    lines: int
    imported: int
    duplicates: int
    previous: int  # numbers in the list it replaced
    invalid: list[InvalidLine]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_bloctel(data: bytes) -> BloctelList:
    """Numbers from the file's bytes (UTF-8 with or without BOM, else cp1252)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    found = BloctelList()
    if first is None:
        return found
    delimiter = next((d for d in ";,\t|" if d in lines[first]), ";")
    column = 0
    head = _cells(lines[first], delimiter)
    named = [i for i, cell in enumerate(head) if _key(cell) in _PHONE_HEADERS or _key(cell).startswith(_PHONE_HEADERS)]
    if named:
        column, found.header = named[0], True
    elif not any(ch.isdigit() for ch in lines[first]):
        if len(head) > 1:
            raise BloctelError(_("ligne {line} : aucune colonne de téléphone parmi {head} ; la nommer phone, numero ou "
                                 "telephone").format(line=first + 1, head=head))
        found.header = True
    seen: set[str] = set()
    for index in range(first + found.header, len(lines)):
        if not lines[index].strip():
            continue
        found.lines += 1
        cells = _cells(lines[index], delimiter)
        raw = cells[column] if column < len(cells) else ""
        try:
            phone = _phone(raw)
        except InvalidPhone as exc:
            found.invalid.append(InvalidLine(index + 1, str(exc)))
            continue
        if phone in seen:
            found.duplicates += 1
            continue
        seen.add(phone)
        found.numbers.append(phone)
    return found


async def import_bloctel(pool: Any, path: Path) -> BloctelReport:
    """Replace the opposition list with the numbers in `path`. BloctelError when nothing can be imported."""
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise BloctelError(_("{path} : illisible ({error})").format(path=path, error=exc.strerror or exc)) from None
    try:
        # phonenumbers parses ~35k numbers a second: a big list takes seconds, off the loop serving calls.
        parsed = await asyncio.to_thread(parse_bloctel, data)
    except BloctelError as exc:
        raise BloctelError(f"{path} : {exc}") from None
    if not parsed.numbers:
        # An empty list would unblock every opposed number: surely the wrong file.
        raise BloctelError(_("{path} : aucun numéro valide dans le fichier ({n} lignes invalides) ; la liste Bloctel "
                             "actuelle est gardée").format(path=path, n=len(parsed.invalid)))
    digest = hashlib.sha256(data).hexdigest()
    async with pool.acquire() as conn:
        previous = await conn.fetchval("SELECT count(*) FROM bloctel_numbers")
        import_id = await store.replace_bloctel(conn, parsed.numbers, file_name=path.name, sha256=digest)
    log.info("Bloctel list %s imported: %d numbers (%d invalid lines, %d duplicates), replacing %d",
             path.name, len(parsed.numbers), len(parsed.invalid), parsed.duplicates, previous)
    return BloctelReport(file_name=path.name, sha256=digest, import_id=import_id, lines=parsed.lines,
                         imported=len(parsed.numbers), duplicates=parsed.duplicates, previous=previous,
                         invalid=parsed.invalid)


async def bloctel_list_age(pool: Any, now: datetime | None = None) -> timedelta | None:
    """How old the newest imported list is; None when none was ever imported."""
    latest = await store.latest_bloctel_import(pool)
    if latest is None:
        return None
    return (now or datetime.now(UTC)) - latest.imported_at


def _cells(line: str, delimiter: str) -> list[str]:
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter), [])]


def _key(header: str) -> str:
    plain = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]", "", plain)


def _phone(raw: str) -> str:
    try:
        return to_e164(raw)
    except InvalidPhone:
        # Some exports drop the '+' of E.164 (33612345678): give it back before giving up.
        digits = re.sub(r"[\s.\-]", "", raw)
        if digits.isdigit() and not digits.startswith("0") and len(digits) >= 10:
            try:
                return to_e164("+" + digits)
            except InvalidPhone:
                pass
        raise
