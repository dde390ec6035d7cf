"""A campaign's calls as a spreadsheet the operator opens in Excel: one row per call, CSV or XLSX.

Columns (snake_case, the same in both formats):

| column | what |
|---|---|
| call_uuid | the call's id in logs and Asterisk channel names |
| placed_at | when the call was placed, Europe/Paris local time (ISO 8601 with offset in CSV, an Excel date in XLSX) |
| phone | the number dialled, full E.164 (this is the operator's own export) |
| first_name, last_name, company, email | the contact |
| status, outcome, result | the call row's status, how it ended (bot.call.outcome), the scenario's result |
| amd_verdict, amd_status | human/machine after the transcript layer; Asterisk's AMD() status |
| hangup_cause, hangup_cause_txt | the Q.850 cause and its text |
| ring_s, duration_s | seconds of ringing; seconds from answer to hang-up |
| qualification | the scenario's qualification score |
| objections | the objection ids matched, in order, joined with ", " |
| freestyle_turns, barge_ins | free LLM answers given; times the caller cut the bot off |
| answer_to_first_audio_ms | answer to the bot's first audio, milliseconds |
| transcript | the turns as "bot: … \\| client: …" (empty once purged by retention) |
| recording_path | the recording file, full path (a stored Asterisk name is looked up in MINIBOT_RECORDINGS_DIR) |
| note | the call's note |

Rows are streamed from a server-side cursor and written by a worker thread batch by batch, so a
campaign of 100k calls costs one batch of memory and never blocks the event loop for long. The
file is written under a temporary name and renamed into place: a reader never sees half an export.
(bot.voice.cache.write_atomic does the same, but with one synchronous writer callback, which an
async row source cannot feed.)
"""

from __future__ import annotations

import asyncio
import csv
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import asyncpg

from ..store.retention import ASTERISK_RECORDINGS

PARIS = ZoneInfo("Europe/Paris")
Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
BATCH = 1000  # rows fetched and written at a time
T = TypeVar("T")

# (header, XLSX column width in characters)
COLUMNS: tuple[tuple[str, int], ...] = (
    ("call_uuid", 38), ("placed_at", 20), ("phone", 16), ("first_name", 14), ("last_name", 16), ("company", 22),
    ("email", 28), ("status", 12), ("outcome", 14), ("result", 20), ("amd_verdict", 12), ("amd_status", 12),
    ("hangup_cause", 13), ("hangup_cause_txt", 20), ("ring_s", 8), ("duration_s", 10), ("qualification", 13),
    ("objections", 24), ("freestyle_turns", 15), ("barge_ins", 10), ("answer_to_first_audio_ms", 24),
    ("transcript", 80), ("recording_path", 30), ("note", 30),
)
HEADERS = tuple(name for name, _ in COLUMNS)

# Turns and objections are flattened by PostgreSQL, so Python never holds a call's JSON.
_QUERY = """
SELECT c.call_uuid, c.created_at AS placed_at, c.phone, k.first_name, k.last_name, k.company, k.email,
       c.status, c.outcome, c.result, c.amd_verdict, c.amd_status, c.hangup_cause, c.hangup_cause_txt,
       c.ring_ms, c.duration_ms, c.qualification,
       CASE WHEN jsonb_typeof(c.objections) = 'array' THEN
           (SELECT string_agg(o->>'id', ', ' ORDER BY n) FROM jsonb_array_elements(c.objections) WITH ORDINALITY
                   AS x(o, n))
       END AS objections,
       c.freestyle_turns, c.barge_ins, c.latency->>'answer_to_first_audio_ms' AS answer_to_first_audio_ms,
       CASE WHEN jsonb_typeof(c.transcript) = 'array' THEN
           (SELECT string_agg(CASE t->>'speaker' WHEN 'caller' THEN 'client' ELSE coalesce(t->>'speaker', '?') END
                              || ': ' || coalesce(t->>'text', ''), ' | ' ORDER BY n)
              FROM jsonb_array_elements(c.transcript) WITH ORDINALITY AS x(t, n))
       END AS transcript,
       c.recording_path, c.note
  FROM calls c LEFT JOIN contacts k ON k.id = c.contact_id
 WHERE c.campaign_id = $1
 ORDER BY c.created_at, c.id
"""

# Fields anyone could have typed (an imported file, a transcript): a leading = + - @ would make Excel
# run them as a formula (CSV injection, OWASP), so they are written as text. The phone and the
# numbers are MiniBot's own and stay as they are.
_FREE_TEXT = frozenset({"first_name", "last_name", "company", "email", "transcript", "note", "recording_path"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_XLSX_CELL_MAX = 32_767  # Excel's limit on one cell's text


@dataclass(frozen=True)
class ExportSummary:
    rows: int
    path: Path


async def export_campaign(pool: asyncpg.Pool, campaign_id: int, fmt: Format, out: Path, *,
                          recordings_dir: Path = ASTERISK_RECORDINGS) -> ExportSummary:
    """Write every call of the campaign to `out`; LookupError if the campaign does not exist,
    ValueError for an unknown format, OSError if `out` cannot be written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: csv or xlsx")
    out = Path(out)
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = $1)", campaign_id):
            raise LookupError(f"campaign {campaign_id} does not exist")
        # file work (openpyxl's is CPU-bound) runs in a thread, one call at a time
        factory = _CsvWriter if fmt == "csv" else _XlsxWriter
        writer: _AtomicFile = await _in_thread(factory, out, undo=_AtomicFile.discard)
        rows = 0
        try:
            cursor = await conn.cursor(_QUERY, campaign_id)
            while batch := await cursor.fetch(BATCH):
                await _in_thread(writer.write, [_row(r, recordings_dir) for r in batch])
                rows += len(batch)
            await _in_thread(writer.finish)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(writer.discard))
            raise
    return ExportSummary(rows=rows, path=out)


async def _in_thread(work: Callable[..., T], *args: Any, undo: Callable[[T], object] | None = None) -> T:
    """`work(*args)` in a thread. A thread cannot be interrupted: if the task is cancelled meanwhile, the
    thread is waited for before the cancellation goes on, so that clean-up never races it (and what
    it made is undone, since nobody will receive it)."""
    future = asyncio.ensure_future(asyncio.to_thread(work, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        if undo is not None and not future.cancelled() and future.exception() is None:
            await asyncio.to_thread(undo, future.result())
        raise


class _AtomicFile:
    """A file written under a temporary name beside its target, renamed into place when complete."""

    def __init__(self, out: Path) -> None:
        self.out = out
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        self.tmp = Path(name)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        raise NotImplementedError

    def _complete(self) -> None:
        """Write what is left to self.tmp and close it."""

    def _release(self) -> None:
        """Close what is open, after a failure."""

    def finish(self) -> None:
        try:
            self._complete()
            # mkstemp's 0600 is kept: the file holds full numbers and transcripts, for its owner only
            os.replace(self.tmp, self.out)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        try:
            self._release()
        finally:
            self.tmp.unlink(missing_ok=True)


def recording_file(stored: str | None, recordings_dir: Path) -> str | None:
    """Where a stored recording is: a path as is; an Asterisk recording name ("minibot-<id>", which
    MiniBot records as WAV) in Asterisk's recordings directory."""
    if not stored:
        return None
    path = Path(stored)
    return str(path if path.is_absolute() else recordings_dir / f"{stored}.wav")


def _row(record: asyncpg.Record, recordings_dir: Path = ASTERISK_RECORDINGS) -> dict[str, Any]:
    """One call's values, typed: datetimes aware in Paris time, seconds as floats, text as str."""
    row = dict(record)
    row["placed_at"] = row["placed_at"].astimezone(PARIS)
    for ms, seconds in (("ring_ms", "ring_s"), ("duration_ms", "duration_s")):
        value = row.pop(ms)
        row[seconds] = None if value is None else round(value / 1000, 1)
    if row["qualification"] is not None:
        row["qualification"] = round(row["qualification"], 3)
    row["answer_to_first_audio_ms"] = _int_or_none(row["answer_to_first_audio_ms"])
    row["objections"] = row["objections"] or ""
    row["transcript"] = row["transcript"] or ""
    row["recording_path"] = recording_file(row["recording_path"], recordings_dir)
    return row


def _int_or_none(text: str | None) -> int | None:
    try:
        return None if text is None else round(float(text))
    except (ValueError, OverflowError):  # a hand-edited latency that is not a number: left out, not a failed export
        return None


def _as_text(name: str, value: str) -> str:
    """A free-text value Excel will not read as a formula."""
    return "'" + value if name in _FREE_TEXT and value.startswith(_FORMULA_START) else value


class _CsvWriter(_AtomicFile):
    """UTF-8 with a BOM, `;` between fields, decimal commas: what French Excel opens correctly on
    a double click. Without the BOM it reads the file as cp1252 (accents garbled); with `,` it puts
    every row in one cell, since the comma is the French decimal separator. The phone stays as
    written (+33...): Excel may show it as a number unless the column is typed as text (XLSX has no
    such problem)."""

    def __init__(self, out: Path) -> None:
        super().__init__(out)
        try:
            self._file = self.tmp.open("w", encoding="utf-8-sig", newline="")
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise
        self._csv = csv.writer(self._file, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        self._csv.writerow(HEADERS)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        self._csv.writerows([[self._cell(name, row[name]) for name in HEADERS] for row in rows])

    @staticmethod
    def _cell(name: str, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.isoformat(timespec="seconds")
        if isinstance(value, float | Decimal):
            return format(value, "g").replace(".", ",")
        return _as_text(name, str(value))

    def _complete(self) -> None:
        self._file.close()

    def _release(self) -> None:
        self._file.close()


class _XlsxWriter(_AtomicFile):
    """openpyxl in write-only mode (rows go to disk as they come): bold header, first row frozen,
    widths set, placed_at as a real Excel date in Paris local time (Excel has no time zones)."""

    def __init__(self, out: Path) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self._illegal = ILLEGAL_CHARACTERS_RE
        self._cell_type = WriteOnlyCell
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet("calls")
        self._sheet.freeze_panes = "A2"
        for i, (_, width) in enumerate(COLUMNS, 1):
            self._sheet.column_dimensions[get_column_letter(i)].width = width
        bold = Font(bold=True)
        header = []
        for name in HEADERS:
            cell = WriteOnlyCell(self._sheet, value=name)
            cell.font = bold
            header.append(cell)
        self._sheet.append(header)
        try:
            super().__init__(out)
        except BaseException:
            self._release()
            raise

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self._sheet.append([self._cell(name, row[name]) for name in HEADERS])

    def _cell(self, name: str, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)  # naive local: Excel dates have no zone
        if isinstance(value, Decimal):
            return float(value)
        if not isinstance(value, str):
            return value
        text = self._illegal.sub("", value)[:_XLSX_CELL_MAX]  # control characters make the file unreadable
        if text.startswith("="):  # openpyxl would store it as a formula: force a text cell
            cell = self._cell_type(self._sheet, value=text)
            cell.data_type = "s"
            return cell
        return text

    def _complete(self) -> None:
        self._book.save(self.tmp)

    def _release(self) -> None:
        # openpyxl keeps the rows in a temporary file of its own until save, else until the process
        # exits; they are personal data, so it goes now
        writer = self._sheet._writer
        if writer is None:
            return
        if not self._sheet.closed:
            self._sheet.close()
        if isinstance(writer.out, str) and os.path.exists(writer.out):  # save removes it too
            writer.cleanup()
