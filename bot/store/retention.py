"""Retention: past a given age, a call's recording and the words said on it are removed.

What goes, for each call that ended (or, never ended, was placed) before the cutoff and is not yet
purged: its recording files, its transcript (set to []), the call events that carry words ('heard':
the caller's; 'say'/'said': the bot's, which can hold the contact's name). What stays: the call row
(status, outcome, durations, AMD verdict, objection ids: statistics, not personal words), and the
other events (the timeline's skeleton). `purged_at` records when.

Never touched: opt-outs (with their evidence excerpt), the blacklist, Bloctel and the consent ledger.
They are the proof that a do-not-call request was honoured or that consent was given, and must
outlive any call retention.

Recordings: `recording_path` holds what the call stored, an Asterisk recording name ("minibot-<uuid>",
saved by Asterisk as <recordings dir>/minibot-<uuid>.wav) or a path. An absolute path is taken as is;
anything else is looked up in `recordings_dir`, every format Asterisk saved of it (name.*). A file
already gone is counted as missing, not an error. MiniBot must be allowed to delete there (run it
in Asterisk's group, or let Asterisk's recordings directory be group-writable).

Order, per batch of calls: the files are deleted first, then the rows are updated, in one transaction
that holds the rows locked (FOR UPDATE SKIP LOCKED, so two purges never work on the same calls). If
the database fails after the files went, the rows still point at them: the next purge finds them
missing and completes the rows. The other order could leave recordings that no row points to any
more, which no later purge would ever find: personal data kept past retention, silently. A call whose
recording cannot be deleted (permissions) loses its transcript and word events but keeps its
recording_path and stays unpurged, so the next purge tries again; the report lists it.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from glob import escape
from pathlib import Path
from typing import Any

import asyncpg

from ..i18n import _

ASTERISK_RECORDINGS = Path("/var/spool/asterisk/recording")  # Asterisk's astspooldir/recording
BATCH = 1000  # calls per transaction
WORD_EVENTS = ("heard", "say", "said")  # call_events kinds whose detail quotes what was said

# Only units nobody can misread: "1m" was one minute here while an operator meant a month (and would
# have purged every transcript). A month counts 30 days: retention periods are stated in days anyway.
_AGE = re.compile(r"^\s*(\d+)\s*(min|mo|h|d|w)\s*$", re.IGNORECASE)
_AMBIGUOUS = re.compile(r"^\s*(\d+)\s*m\s*$", re.IGNORECASE)
_UNITS = {"min": ("minutes", 1), "h": ("hours", 1), "d": ("days", 1), "w": ("weeks", 1), "mo": ("days", 30)}
AGE_FORMS = ("un nombre entier et une unité : min, h, d (jours), w (semaines) ou mo (mois de 30 jours), par ex. 90min, "
             "12h, 30d, 12w, 6mo")


def parse_age(text: str) -> timedelta:
    """'90min', '12h', '30d', '12w', '6mo' (30 days each) → timedelta; ValueError saying what is expected."""
    if _AMBIGUOUS.match(text or ""):
        raise ValueError(_("{text!r} est une durée ambiguë : écrire {n}min pour des minutes ou {n}mo pour des "
                           "mois").format(text=text, n=text.strip()[:-1]))
    m = _AGE.match(text or "")
    if not m:
        raise ValueError(_("{text!r} n'est pas une durée : {forms}").format(text=text, forms=_(AGE_FORMS)))
    value = int(m[1])
    if value == 0:
        raise ValueError(_("{text!r} : la durée doit être supérieure à zéro").format(text=text))
    try:
        unit, factor = _UNITS[m[2].lower()]
        return timedelta(**{unit: value * factor})
    except OverflowError:
        raise ValueError(_("{text!r} : durée trop grande").format(text=text)) from None


@dataclass
class PurgeReport:
    cutoff: datetime
    dry_run: bool = False
    calls_purged: int = 0  # in a dry run: that would be
    recordings_deleted: int = 0
    recordings_missing: int = 0
    bytes_freed: int = 0
    events_removed: int = 0
    failed: list[str] = field(default_factory=list)  # "path: why" for recordings that could not be deleted

    def to_json(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(), "dry_run": self.dry_run, "calls_purged": self.calls_purged,
            "recordings_deleted": self.recordings_deleted, "recordings_missing": self.recordings_missing,
            "bytes_freed": self.bytes_freed, "events_removed": self.events_removed, "failed": self.failed,
        }


async def purge(pool: asyncpg.Pool, older_than: timedelta, *, now: datetime | None = None, dry_run: bool = False,
                recordings_dir: Path = ASTERISK_RECORDINGS, batch: int = BATCH) -> PurgeReport:
    """Remove recordings, transcripts and word events of calls older than `older_than`.
    With `dry_run`, change nothing and report what would go."""
    if older_than <= timedelta(0):
        raise ValueError("older_than must be more than zero")
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    report = PurgeReport(cutoff=now - older_than, dry_run=dry_run)
    after = 0  # keyset: calls left unpurged (a dry run, a failed deletion) are not read twice
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"""SELECT id, recording_path FROM calls
                     WHERE purged_at IS NULL AND coalesce(ended_at, created_at) < $1 AND id > $2
                     ORDER BY id LIMIT $3 {'' if dry_run else 'FOR UPDATE SKIP LOCKED'}""",
                report.cutoff, after, batch)
            if not rows:
                return report
            after = rows[-1]["id"]
            await _purge_batch(conn, rows, report, now, recordings_dir)


async def _purge_batch(conn: asyncpg.Connection, rows: list[asyncpg.Record], report: PurgeReport, now: datetime,
                       recordings_dir: Path) -> None:
    ids = [r["id"] for r in rows]
    report.events_removed += await conn.fetchval(
        "SELECT count(*) FROM call_events WHERE call_id = ANY($1::bigint[]) AND kind = ANY($2::text[])",
        ids, list(WORD_EVENTS))
    stored = [r["recording_path"] for r in rows]
    removed = await asyncio.to_thread(_remove_recordings, stored, recordings_dir, report.dry_run)
    kept: list[int] = []  # recording not deleted: retried by the next purge
    for row, outcome in zip(rows, removed, strict=True):
        if outcome is not None:
            if outcome.failed:
                report.failed.append(outcome.failed)
                kept.append(row["id"])
                continue
            report.bytes_freed += outcome.bytes
            if outcome.files:
                report.recordings_deleted += 1
            else:
                report.recordings_missing += 1
        report.calls_purged += 1
    if report.dry_run:
        return
    await conn.execute(
        "DELETE FROM call_events WHERE call_id = ANY($1::bigint[]) AND kind = ANY($2::text[])", ids, list(WORD_EVENTS))
    await conn.execute(
        """UPDATE calls SET transcript = '[]',
                  recording_path = CASE WHEN id = ANY($2::bigint[]) THEN recording_path END,
                  purged_at = CASE WHEN id = ANY($2::bigint[]) THEN NULL ELSE $3::timestamptz END
            WHERE id = ANY($1::bigint[])""",
        ids, kept, now)


@dataclass(frozen=True)
class _Removed:
    files: int = 0
    bytes: int = 0
    failed: str = ""


def _recording_files(stored: str, recordings_dir: Path) -> list[Path]:
    """The files of one recording: the path itself if it is a file, else every format of the name."""
    path = Path(stored)
    if not path.is_absolute():
        path = recordings_dir / path
    if path.is_file():
        return [path]
    if path.parent.is_dir() and not os.access(path.parent, os.R_OK | os.X_OK):
        # glob would find nothing and the recording would pass for missing, then stay forever
        raise PermissionError(13, f"cannot list {path.parent}")
    return sorted(p for p in path.parent.glob(escape(path.name) + ".*") if p.is_file())


def _remove_recordings(stored: list[str | None], recordings_dir: Path, dry_run: bool) -> list[_Removed | None]:
    """Each call's recording deleted (None: the call had none). Blocking: run in a thread."""
    return [_remove_recording(s, recordings_dir, dry_run) if s else None for s in stored]


def _remove_recording(stored: str, recordings_dir: Path, dry_run: bool) -> _Removed:
    """Delete (or, in a dry run, measure) one recording's files."""
    files = freed = 0
    try:
        found = _recording_files(stored, recordings_dir)
        folder = found[0].parent if found else None
        if folder is not None and not os.access(folder, os.W_OK | os.X_OK):
            # unlink would fail; say so before deleting anything (also in a dry run)
            return _Removed(failed=f"{stored}: no permission to delete files in {folder}")
        for path in found:
            try:
                size = path.stat().st_size
                if not dry_run:
                    path.unlink()
            except FileNotFoundError:  # gone meanwhile
                continue
            files += 1
            freed += size
    except OSError as exc:  # permissions, a directory we may not read
        return _Removed(files, freed, f"{stored}: {exc.strerror or exc}")
    return _Removed(files, freed)
