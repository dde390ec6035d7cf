"""Right to erasure (art. 17 RGPD): remove one person's data and keep only what stops us calling them.

Removed: the contact row (and its place in campaigns, its planned attempts), its calls with their
transcripts, word events and recordings, its consents and the gate decisions about the number.
Kept: the opt-out requests (the number and the words that asked for it): the law requires honouring
them (art. 21 RGPD, L223-1 C. consom.), which needs the number; their link to the erased calls is
cut. When the person had no opt-out, one is written (source "erasure"): a person who asks to be
forgotten is not to be canvassed again, and without the number nothing else would stop it.

Recordings are deleted before the rows that point to them (as retention does): a file that cannot be
deleted leaves everything in place and the error says which, so a second try completes the erasure.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from .retention import _remove_recordings


@dataclass
class ErasureReport:
    phone: str
    contacts: int = 0
    calls: int = 0
    recordings_deleted: int = 0
    consents: int = 0
    decisions: int = 0
    opt_outs_kept: int = 0
    opt_out_added: bool = False
    failed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def forget(pool: asyncpg.Pool, phone: str, *, recordings_dir: Path) -> ErasureReport:
    report = ErasureReport(phone)
    stored = [r["recording_path"] for r in await pool.fetch(
        "SELECT recording_path FROM calls WHERE phone = $1 AND recording_path IS NOT NULL", phone)]
    removed = await asyncio.to_thread(_remove_recordings, stored, recordings_dir, False)
    for item in removed:
        if item is not None and item.failed:
            report.failed.append(item.failed)
        elif item is not None:
            report.recordings_deleted += item.files
    if report.failed:
        return report  # nothing else touched: the operator fixes the permissions and runs it again
    async with pool.acquire() as conn, conn.transaction():
        report.opt_outs_kept = await conn.fetchval("SELECT count(*) FROM opt_outs WHERE phone = $1", phone)
        if not report.opt_outs_kept:
            await conn.execute("INSERT INTO opt_outs (phone, source, evidence) VALUES ($1, 'erasure', "
                               "'effacement demandé (art. 17 RGPD): ne plus appeler')", phone)
            report.opt_out_added = True
        report.decisions = _count(await conn.execute("DELETE FROM gate_decisions WHERE phone = $1", phone))
        report.consents = _count(await conn.execute("DELETE FROM consents WHERE phone = $1", phone))
        report.calls = _count(await conn.execute("DELETE FROM calls WHERE phone = $1", phone))
        report.contacts = _count(await conn.execute("DELETE FROM contacts WHERE phone = $1", phone))
    return report


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[1])
