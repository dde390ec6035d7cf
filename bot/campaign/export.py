"""A campaign's calls as a spreadsheet the operator opens in Excel: one row per call, CSV or XLSX.

Columns: French names by default (MINIBOT_LANGUAGE=fr), the snake_case keys below in English; then
the contact file's own columns (contacts.extra), under the names they had in the file.

| key (English header) | French header | what |
|---|---|---|
| call_uuid | identifiant d'appel | the call's id in logs and Asterisk channel names |
| placed_at | date d'appel | when placed, campaign's zone (French CSV dd/mm/yyyy, English ISO 8601, XLSX a date) |
| phone | téléphone | the number dialled, full E.164 (this is the operator's own export) |
| first_name, last_name, company, email | prénom, nom, société, e-mail | the contact |
| status, outcome, result | état, issue, résultat | status, how it ended, the scenario's result (French words) |
| steps | étapes | the scenario steps reached, in order |
| amd_verdict, amd_status | détection répondeur, statut AMD | human/machine (transcript layer); AMD()'s status |
| hangup_cause, hangup_cause_txt | cause de raccrochage, libellé de la cause | the Q.850 cause and its text |
| ring_s, duration_s | sonnerie (s), durée (s) | seconds ringing; answer to hang-up (decimal commas in French) |
| qualification | qualification | the scenario's qualification score |
| objections | objections | the objection ids matched, in order, joined with ", " |
| freestyle_turns, barge_ins | réponses libres, interruptions | free LLM answers; times the caller cut the bot off |
| answer_to_first_audio_ms | décroché → première phrase (ms) | answer to the bot's first audio, milliseconds |
| transcript | transcription | the turns as "bot: … \\| client (irrité): …" (sentiment in French; empty once purged) |
| recording_path | enregistrement | the recording file, full path (a stored name, in MINIBOT_RECORDINGS_DIR) |
| note | note | the call's note |

Rows are streamed from a server-side cursor and written by a worker thread batch by batch, so a
campaign of 100k calls costs one batch of memory and never blocks the event loop for long. The
file is written under a temporary name and renamed into place: a reader never sees half an export.
(bot.voice.cache.write_atomic does the same, but with one synchronous writer callback, which an
async row source cannot feed.)
"""

from __future__ import annotations

import asyncio
import csv
import json
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

from ..i18n import _
from ..store.retention import ASTERISK_RECORDINGS

PARIS = ZoneInfo("Europe/Paris")
Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
BATCH = 1000  # rows fetched and written at a time
T = TypeVar("T")

# (key, French header, XLSX column width in characters); the key is the English header
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("call_uuid", "identifiant d'appel", 38), ("placed_at", "date d'appel", 20), ("phone", "téléphone", 16),
    ("first_name", "prénom", 14), ("last_name", "nom", 16), ("company", "société", 22), ("email", "e-mail", 28),
    ("status", "état", 12), ("outcome", "issue", 16), ("result", "résultat", 20), ("steps", "étapes", 30),
    ("amd_verdict", "détection répondeur", 12), ("amd_status", "statut AMD", 12),
    ("hangup_cause", "cause de raccrochage", 13), ("hangup_cause_txt", "libellé de la cause", 20),
    ("ring_s", "sonnerie (s)", 8), ("duration_s", "durée (s)", 10), ("qualification", "qualification", 13),
    ("objections", "objections", 24), ("freestyle_turns", "réponses libres", 15), ("barge_ins", "interruptions", 10),
    ("answer_to_first_audio_ms", "décroché → première phrase (ms)", 24), ("transcript", "transcription", 80),
    ("recording_path", "enregistrement", 30), ("note", "note", 30),
)
KEYS = tuple(key for key, _, _ in COLUMNS)
HEADERS = KEYS  # the English headers
FRENCH_HEADERS = tuple(fr for _, fr, _ in COLUMNS)
# Codes shown as words in a French export (what Excel users filter on).
WORDS_FR = {
    "ENDED": "terminé", "INTERRUPTED": "interrompu", "DIALING": "en numérotation", "IN_PROGRESS": "en cours",
    "answered": "décroché", "transferred": "transféré", "busy": "occupé", "no_answer": "pas de réponse",
    "congestion": "réseau saturé", "rejected": "rejeté", "unallocated": "numéro inexistant", "failed": "échec",
    "QUALIFIED": "qualifié", "NOT_INTERESTED": "pas intéressé", "NOT_QUALIFIED": "non qualifié",
    "CALLBACK_REQUESTED": "à rappeler", "APPOINTMENT_SCHEDULED": "rendez-vous pris", "NO_ANSWER": "muet",
    "OPTED_OUT": "opposition", "TRANSFERRED": "transféré", "ANSWERING_MACHINE": "répondeur",
    "VOICEMAIL_LEFT": "message laissé", "HUNG_UP": "a raccroché", "human": "humain", "machine": "répondeur",
}
_WORDED = frozenset({"status", "outcome", "result", "amd_verdict"})


def headers(lang: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The header row: French names or the English keys, then the contact file's own columns."""
    return (FRENCH_HEADERS if lang == "fr" else KEYS) + tuple(extra)

# Turns and objections are flattened by PostgreSQL, so Python never holds a call's JSON.
_QUERY = """
SELECT c.call_uuid, c.created_at AS placed_at, c.phone, k.first_name, k.last_name, k.company, k.email,
       c.status, c.outcome, c.result,
       CASE WHEN jsonb_typeof(c.steps) = 'array' THEN
           (SELECT string_agg(x, ' > ' ORDER BY n) FROM jsonb_array_elements_text(c.steps) WITH ORDINALITY AS s(x, n))
       END AS steps,
       c.amd_verdict, c.amd_status, c.hangup_cause, c.hangup_cause_txt,
       c.ring_ms, c.duration_ms, c.qualification,
       CASE WHEN jsonb_typeof(c.objections) = 'array' THEN
           (SELECT string_agg(o->>'id', ', ' ORDER BY n) FROM jsonb_array_elements(c.objections) WITH ORDINALITY
                   AS x(o, n))
       END AS objections,
       c.freestyle_turns, c.barge_ins, c.latency->>'answer_to_first_audio_ms' AS answer_to_first_audio_ms,
       CASE WHEN jsonb_typeof(c.transcript) = 'array' THEN
           (SELECT string_agg(CASE t->>'speaker' WHEN 'caller' THEN 'client' ELSE coalesce(t->>'speaker', '?') END
                              || CASE t->>'sentiment' WHEN 'positive' THEN ' (positif)' WHEN 'neutral' THEN ' (neutre)'
                                     WHEN 'negative' THEN ' (négatif)' WHEN 'irritated' THEN ' (irrité)' ELSE '' END
                              || ': ' || coalesce(t->>'text', ''), ' | ' ORDER BY n)
              FROM jsonb_array_elements(c.transcript) WITH ORDINALITY AS x(t, n))
       END AS transcript,
       c.recording_path, c.note, k.extra
  FROM calls c LEFT JOIN contacts k ON k.id = c.contact_id
 WHERE c.campaign_id = $1
 ORDER BY c.created_at, c.id
"""

# Fields anyone could have typed (an imported file, a transcript): a leading = + - @ would make Excel
# run them as a formula (CSV injection, OWASP), so they are written as text. The phone and the
# numbers are MiniBot's own and stay as they are.
_FREE_TEXT = frozenset({"first_name", "last_name", "company", "email", "transcript", "note", "recording_path",
                        "extra"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_XLSX_CELL_MAX = 32_767  # Excel's limit on one cell's text


@dataclass(frozen=True)
class ExportSummary:
    rows: int
    path: Path


@dataclass(frozen=True)
class Layout:
    """What a file looks like: language, the campaign's time zone, the contact file's own columns."""

    lang: str
    zone: ZoneInfo
    extra: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return KEYS + tuple(f"extra:{name}" for name in self.extra)

    @property
    def headers(self) -> tuple[str, ...]:
        return headers(self.lang, self.extra)


async def export_campaign(pool: asyncpg.Pool, campaign_id: int, fmt: Format, out: Path,
                          lang: str | None = None, recordings_dir: Path = ASTERISK_RECORDINGS) -> ExportSummary:
    """Write every call of the campaign to `out`; LookupError if the campaign does not exist,
    ValueError for an unknown format, OSError if `out` cannot be written. `lang`: fr (default,
    MINIBOT_LANGUAGE) or en."""
    from ..i18n import current_language

    if fmt not in FORMATS:
        raise ValueError(_("format d'export inconnu {fmt!r} : csv ou xlsx").format(fmt=fmt))
    out = Path(out)
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        compliance = await conn.fetchval("SELECT compliance FROM campaigns WHERE id = $1", campaign_id)
        if compliance is None:
            raise LookupError(_("campagne {id} introuvable").format(id=campaign_id))
        extra = await conn.fetchval(
            """SELECT coalesce(array_agg(key ORDER BY first), '{}') FROM (
                   SELECT e.key, min(c.id) AS first FROM calls c JOIN contacts k ON k.id = c.contact_id,
                          jsonb_object_keys(k.extra) AS e(key)
                   WHERE c.campaign_id = $1 AND jsonb_typeof(k.extra) = 'object' GROUP BY e.key) x""", campaign_id)
        layout = Layout(lang or current_language(), _campaign_zone(compliance),
                        tuple(name for name in extra if name.strip()))
        # file work (openpyxl's is CPU-bound) runs in a thread, one call at a time
        factory = _CsvWriter if fmt == "csv" else _XlsxWriter
        writer: _AtomicFile = await _in_thread(factory, out, layout, undo=_AtomicFile.discard)
        rows = 0
        try:
            cursor = await conn.cursor(_QUERY, campaign_id)
            while batch := await cursor.fetch(BATCH):
                await _in_thread(writer.write, [_row(r, layout, recordings_dir) for r in batch])
                rows += len(batch)
            await _in_thread(writer.finish)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(writer.discard))
            raise
    return ExportSummary(rows=rows, path=out)


def _campaign_zone(compliance: str) -> ZoneInfo:
    from ..compliance.rules import ComplianceRules

    try:
        return ZoneInfo(ComplianceRules.for_campaign(json.loads(compliance or "{}")).hours.timezone)
    except ValueError:
        return PARIS


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

    def __init__(self, out: Path, layout: Layout) -> None:
        self.out = out
        self.layout = layout
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


def _row(record: asyncpg.Record, layout: Layout, recordings_dir: Path = ASTERISK_RECORDINGS) -> dict[str, Any]:
    """One call's values, typed: datetimes aware in the campaign's zone, seconds as floats, text as str,
    codes as words in French, the contact file's own columns under `extra:<name>`."""
    row = dict(record)
    extra = row.pop("extra")
    extra = json.loads(extra) if isinstance(extra, str) else (extra or {})
    for name in layout.extra:
        value = extra.get(name) if isinstance(extra, dict) else None
        row[f"extra:{name}"] = None if value is None else str(value)
    if layout.lang == "fr":
        for key in _WORDED:
            if row[key] is not None:
                row[key] = WORDS_FR.get(row[key], row[key])
    row["steps"] = row["steps"] or ""
    row["placed_at"] = row["placed_at"].astimezone(layout.zone)
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
    free = name in _FREE_TEXT or name.startswith("extra:")
    return "'" + value if free and value.startswith(_FORMULA_START) else value


class _CsvWriter(_AtomicFile):
    """UTF-8 with a BOM, `;` between fields, decimal commas: what French Excel opens correctly on
    a double click. Without the BOM it reads the file as cp1252 (accents garbled); with `,` it puts
    every row in one cell, since the comma is the French decimal separator. The phone stays as
    written (+33...): Excel may show it as a number unless the column is typed as text (XLSX has no
    such problem)."""

    def __init__(self, out: Path, layout: Layout) -> None:
        super().__init__(out, layout)
        try:
            self._file = self.tmp.open("w", encoding="utf-8-sig", newline="")
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise
        self._csv = csv.writer(self._file, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        self._csv.writerow(layout.headers)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        keys = self.layout.keys
        self._csv.writerows([[self._cell(name, row[name]) for name in keys] for row in rows])

    def _cell(self, name: str, value: Any) -> str:
        french = self.layout.lang == "fr"
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.strftime("%d/%m/%Y %H:%M:%S") if french else value.isoformat(timespec="seconds")
        if isinstance(value, float | Decimal):
            text = format(value, "g")
            return text.replace(".", ",") if french else text
        return _as_text(name, str(value))

    def _complete(self) -> None:
        self._file.close()

    def _release(self) -> None:
        self._file.close()


class _XlsxWriter(_AtomicFile):
    """openpyxl in write-only mode (rows go to disk as they come): bold header, first row frozen,
    widths set, placed_at as a real Excel date in Paris local time (Excel has no time zones)."""

    def __init__(self, out: Path, layout: Layout) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self._illegal = ILLEGAL_CHARACTERS_RE
        self._cell_type = WriteOnlyCell
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet("appels" if layout.lang == "fr" else "calls")
        self._sheet.freeze_panes = "A2"
        widths = [width for _, _, width in COLUMNS] + [16] * len(layout.extra)
        for i, width in enumerate(widths, 1):
            self._sheet.column_dimensions[get_column_letter(i)].width = width
        self._date_format = "dd/mm/yyyy hh:mm:ss" if layout.lang == "fr" else "yyyy-mm-dd hh:mm:ss"
        bold = Font(bold=True)
        header = []
        for name in layout.headers:
            cell = WriteOnlyCell(self._sheet, value=name)
            cell.font = bold
            header.append(cell)
        self._sheet.append(header)
        try:
            super().__init__(out, layout)
        except BaseException:
            self._release()
            raise

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        keys = self.layout.keys
        for row in rows:
            self._sheet.append([self._cell(name, row[name]) for name in keys])

    def _cell(self, name: str, value: Any) -> Any:
        if isinstance(value, datetime):
            cell = self._cell_type(self._sheet, value=value.replace(tzinfo=None))  # Excel dates have no zone
            cell.number_format = self._date_format
            return cell
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
