"""What a call produced, kept through any fault: a local journal written before the database,
replayed into it exactly once.

Why a journal file, and not a retry loop or an outbox table: a call that ends while PostgreSQL is
down has nowhere to go but the worker's memory, and a worker can die right after the call (kill -9,
a reboot, an OOM). A retry loop loses everything it holds at that moment; an outbox table needs the
very database that is down. So every call's outcome (its record, transcript, result, opt-out and what
the retry plan needs) is appended to a file on the worker's own disk and fsync'd *before* anything is
sent to the database; only then is it stored. The entry is keyed by the call's uuid, and the storing
transaction inserts that uuid into `journal_replays` (ON CONFLICT DO NOTHING): an entry replayed
twice (a crash between the commit and the "stored" line, two workers adopting one dead worker's
file) finds its uuid there and stores nothing again. Exactly once, with a file and a primary key.

Layout: one folder per database (under the data directory), one append-only file per worker,
`<worker>.jsonl`, one JSON object per line: `{"op": "call", "uuid": ..., "data": {...}}` when a call
ends, `{"op": "stored", "uuid": ...}` once the database has it. Each worker holds an exclusive
`flock` on its file while it lives, so a worker starting on the same machine knows which files
belong to dead workers and adopts them (replays, then removes them). A file whose entries are all
stored is truncated, so the journal stays as small as the outage it covers.

The compliance gate must honour an opt-out before it reaches PostgreSQL: `pending_opt_outs()` reads
the phones of every journaled-but-unstored opt-out in the folder, this worker's and its neighbours'.
A worker on another machine learns of it when the entry is stored, a second or so after the database
is back (claims need the database too, so none happens during the outage itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"


def folder_for(data_dir: Path, database_url: str) -> Path:
    """The journal folder of one database: entries never replay into another database."""
    return data_dir / "journal" / hashlib.sha256(database_url.encode()).hexdigest()[:12]


class Journal:
    """This worker's journal file, plus the files it adopted from dead workers."""

    def __init__(self, folder: Path, owner: str) -> None:
        self.folder, self.owner = folder, owner
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{_safe(owner)}{SUFFIX}"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a file is one live worker's
        self._lock = threading.Lock()  # appends come from worker threads (fsync off the event loop)
        self._pending: dict[str, dict[str, Any]] = dict(_read_pending(self.path))
        self._adopted: dict[str, tuple[Path, dict[str, Any]]] = {}  # uuid → (a dead worker's file, data)
        self._adopted_fds: dict[Path, int] = {}
        self._seen: dict[Path, tuple[int, int, frozenset[str]]] = {}  # neighbours' files: (mtime, size, phones)

    # -- writing -------------------------------------------------------------------------

    async def write(self, uuid: str, data: dict[str, Any]) -> None:
        """Durable when this returns (the line is fsync'd); raises OSError when the disk refuses."""
        line = _line({"op": "call", "uuid": uuid, "data": data})
        self._pending[uuid] = data  # first: a concurrent "stored" must not truncate under this line
        try:
            await asyncio.to_thread(self._append, line, True)
        except BaseException:
            self._pending.pop(uuid, None)
            raise

    async def stored(self, uuid: str) -> None:
        """The database has this entry. Not fsync'd: a lost "stored" line only costs a replay that
        `journal_replays` turns into nothing."""
        if uuid in self._adopted:
            path, _ = self._adopted.pop(uuid)
            if not any(p == path for p, _ in self._adopted.values()):
                await asyncio.to_thread(self._release_adopted, path)
            return
        if self._pending.pop(uuid, None) is None:
            return
        await asyncio.to_thread(self._append, _line({"op": "stored", "uuid": uuid}), False)

    def _append(self, line: bytes, sync: bool) -> None:
        with self._lock:
            if not self._pending and not sync:
                os.ftruncate(self._fd, 0)  # every entry is stored: start the file afresh
                return
            os.write(self._fd, line)
            if sync:
                os.fsync(self._fd)

    # -- reading -------------------------------------------------------------------------

    def pending(self) -> list[tuple[str, dict[str, Any]]]:
        """Entries not yet stored, oldest first: this worker's, then those adopted."""
        return [*self._pending.items(), *((u, d) for u, (_, d) in self._adopted.items())]

    def adopt(self) -> int:
        """Take over the files of dead workers (nobody holds their lock); returns their entries."""
        found = 0
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            if path == self.path or path in self._adopted_fds:
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                continue  # adopted and removed by a neighbour meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # its worker is alive: it replays its own
                continue
            entries = dict(_read_pending(path))
            if not entries:
                path.unlink(missing_ok=True)
                os.close(fd)
                continue
            self._adopted_fds[path] = fd
            for uuid, data in entries.items():
                self._adopted[uuid] = (path, data)
            found += len(entries)
            log.warning("journal: adopted %d unstored call(s) of a stopped worker (%s)", len(entries), path.name)
        return found

    def pending_opt_outs(self) -> set[str]:
        """Phones whose opt-out is journaled but not yet in the database, across the folder."""
        phones = {p for _, d in self.pending() if (p := d.get("opt_out"))}
        for path in self.folder.glob(f"*{SUFFIX}"):
            if path == self.path or path in self._adopted_fds:
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            seen = self._seen.get(path)
            if seen is None or seen[:2] != (st.st_mtime_ns, st.st_size):
                found = frozenset(p for _, d in _read_pending(path) if (p := d.get("opt_out")))
                self._seen[path] = seen = (st.st_mtime_ns, st.st_size, found)
            phones |= seen[2]
        return phones

    def _release_adopted(self, path: Path) -> None:
        fd = self._adopted_fds.pop(path, None)
        path.unlink(missing_ok=True)  # under its lock: nobody else reads it now
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        for fd in self._adopted_fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._adopted_fds.clear()
        with contextlib.suppress(OSError):
            os.close(self._fd)  # the lock goes with it


async def first_storing(conn: asyncpg.Connection, call_uuid: str, worker: str) -> bool:
    """In the storing transaction: True the first time this entry is stored, False ever after."""
    return bool(await conn.fetchval(
        """INSERT INTO journal_replays (call_uuid, worker) VALUES ($1, $2)
           ON CONFLICT (call_uuid) DO NOTHING RETURNING true""", call_uuid, worker))


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _read_pending(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """The entries of a file not followed by their "stored" line. A torn last line (the worker died
    writing it, before its fsync returned) was never acknowledged: skipped."""
    calls: dict[str, dict[str, Any]] = {}
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return iter(())
    for number, line in enumerate(raw.splitlines(), 1):
        try:
            obj = json.loads(line)
            op, uuid = obj["op"], obj["uuid"]
        except (ValueError, KeyError, TypeError):
            log.warning("journal %s line %d: unreadable, skipped", path.name, number)
            continue
        if op == "call":
            calls[uuid] = obj.get("data") or {}
        elif op == "stored":
            calls.pop(uuid, None)
    return iter(calls.items())


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
