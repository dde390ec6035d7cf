"""The campaign side under load: importing contacts, the compliance gate, and dialer workers
sharing one PostgreSQL.

    python -m bench.campaign [--contacts 20000] [--workers 4] [--dials 2000]

Uses DATABASE_URL, or an embedded PostgreSQL in a temporary directory. Imports a generated
French CSV (with duplicates and invalid rows), times the gate over numbers with call history,
then runs W dialer workers (each with its own connection pool, as on separate machines) through
D attempts with the telephony side replaced by an instant answer, and checks nobody was dialled
twice. One JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.call.call import CallRecord
from bot.call.outcome import Outcome
from bot.campaign import control
from bot.campaign.dialer import Dialer, DialerConfig
from bot.compliance.gate import ComplianceGate
from bot.compliance.hours import CallingHours
from bot.contacts.importer import import_contacts
from bot.store import Database
from bot.store.campaigns import create_campaign, get_campaign

FIRST = ["Marie", "Jean", "Camille", "Lucas", "Chloé", "Hugo", "Léa", "Louis", "Manon", "Gabriel"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]


def _csv(path: Path, n: int, rng: random.Random) -> None:
    """A French export: one row in 50 with a bad number, one in 40 repeating an earlier one."""
    lines, phones = ["Prénom;Nom;Téléphone;Email;Société"], []
    for i in range(n):
        if i % 50 == 7:
            phone = "06 12"
        elif i % 40 == 3 and phones:
            phone = rng.choice(phones)
        else:
            phone = f"06 {i // 10000 % 100:02d} {i // 100 % 100:02d} {i % 100:02d} {rng.randrange(100):02d}"
            phones.append(phone)
        lines.append(f"{rng.choice(FIRST)};{rng.choice(LAST)};{phone};p{i}@exemple.fr;Société {i % 300}")
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")


def _calling_time() -> datetime:
    day = CallingHours().next_allowed(datetime.now(UTC) + timedelta(days=1))
    return day.replace(hour=10, minute=30) if day.hour < 10 else day


class _Clock:
    def __init__(self, at: datetime) -> None:
        self.at, self.started = at, time.monotonic()

    def __call__(self) -> datetime:
        return self.at + timedelta(seconds=time.monotonic() - self.started)


async def run(url: str | None, data_dir: Path, contacts: int, workers: int, dials: int) -> dict:
    rng = random.Random(6)
    figures: dict = {"contacts": contacts, "workers": workers}
    # This handle stays open to the end: the embedded server stops when its last user leaves.
    db = await Database.open(url, data_dir)
    campaign = await create_campaign(db.pool, "bench", "demo", max_concurrent_calls=10_000,
                                     calls_per_second=100_000, legal_basis="consent", caller_id="+33162000000")
    csv = data_dir / "contacts.csv"
    _csv(csv, contacts, rng)
    t = time.perf_counter()
    report = await import_contacts(db, csv, campaign_id=campaign.id)
    figures["import_s"] = round(time.perf_counter() - t, 2)
    figures["import_rows_per_s"] = round(contacts / figures["import_s"])
    figures.update(imported=report.imported, duplicates=len(report.duplicates), invalid=len(report.invalid))

    # History for the gate: a few calls on a tenth of the numbers, some refused.
    phones = [r["phone"] for r in await db.pool.fetch("SELECT phone FROM contacts ORDER BY id")]
    # The law since 11 August 2026: each consumer called consented first (the consent ledger).
    given = datetime.now(UTC) - timedelta(days=30)
    async with db.pool.acquire() as conn:
        await conn.copy_records_to_table("consents", columns=("phone", "source", "evidence", "granted_at"),
                                         records=[(p, "bench", "formulaire", given) for p in phones])
    history = [(f"h{i}", p, "NOT_INTERESTED" if i % 5 == 0 else None)
               for i, p in enumerate(p for p in phones[::10] for _ in range(3))]
    await db.pool.executemany("INSERT INTO calls (call_uuid, phone, result, status) VALUES ($1, $2, $3, 'ENDED')",
                              history)
    gate, at, times = ComplianceGate(db.pool), _calling_time(), []
    for phone in rng.sample(phones, min(1000, len(phones))):
        t = time.perf_counter()
        await gate.check(phone, at, campaign_id=campaign.id)
        times.append((time.perf_counter() - t) * 1000)
    figures["gate_check_p50_ms"] = round(statistics.median(times), 3)
    figures["gate_check_p95_ms"] = round(statistics.quantiles(times, n=20)[-1], 3)

    # Only `dials` attempts stay due; the others wait for next year.
    await db.pool.execute(
        """UPDATE attempts SET due_at = CASE WHEN id IN (SELECT id FROM attempts ORDER BY id LIMIT $1)
               THEN '-infinity'::timestamptz ELSE now() + interval '365 days' END""", dials)
    await db.pool.execute("DELETE FROM calls")  # the gate history would refuse some numbers
    await control.start(db, campaign.id)
    await db.pool.execute("UPDATE campaigns SET next_dial_at = '-infinity'")

    dialled: list[str] = []

    async def answer(phone: str, conversation, *, call_id: str, on_answer=None, caller_id=None) -> CallRecord:
        dialled.append(phone)
        await asyncio.sleep(0)
        return CallRecord(call_id, "outbound", phone, outcome=Outcome.ANSWERED, result="NOT_INTERESTED")

    async def no_conversation(due):
        return None

    pools = [await Database.open(url, data_dir, max_size=4) for _ in range(workers)]
    clock = _Clock(_calling_time())
    dialers = [Dialer(pool, answer, no_conversation, DialerConfig(worker_id=f"w{i}", max_calls=20,
                                                                   poll_interval=0.01), clock=clock)
               for i, pool in enumerate(pools)]
    claims: list[float] = []
    for d in dialers:
        claim = d.claim

        async def timed(claim=claim):
            t = time.perf_counter()
            try:
                return await claim()
            finally:
                claims.append((time.perf_counter() - t) * 1000)
        d.claim = timed
    t = time.perf_counter()
    tasks = [asyncio.create_task(d.run()) for d in dialers]
    while len(dialled) < dials and time.perf_counter() - t < 300:  # noqa: ASYNC110 - polling a count
        await asyncio.sleep(0.05)
    for d in dialers:
        await d.drain(10)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - t
    stored = await db.pool.fetchval("SELECT count(*) FROM calls WHERE status = 'ENDED'")
    status = (await get_campaign(db.pool, campaign.id)).status.value
    for pool in pools:
        await pool.close()
    await db.close()
    counts = Counter(dialled)
    figures.update(
        dials=len(dialled), double_dials=sum(n - 1 for n in counts.values() if n > 1), calls_stored=stored,
        dials_per_s=round(len(dialled) / elapsed, 1), claim_p50_ms=round(statistics.median(claims), 2),
        claim_p95_ms=round(statistics.quantiles(claims, n=20)[-1], 2), per_worker=[d.dialled for d in dialers],
        campaign_status=status)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--dials", type=int, default=2000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="minibot-bench-") as tmp:
        figures = asyncio.run(run(url, Path(tmp), args.contacts, args.workers, args.dials))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
