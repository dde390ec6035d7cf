"""Webhook delivery: how fast the outbox drains into a receiver on loopback, and how long an event
waits between its call's conclusion and its 2xx.

    python -m bench.webhooks [--events 2000] [--concurrency 8]

Uses DATABASE_URL, or an embedded PostgreSQL in a temporary directory. Writes N concluded calls and
their events (as the dialer's conclusion does), then runs one delivery worker against an aiohttp
receiver that checks every signature. Prints one JSON line: events/s, end-to-end latency p50/p95,
duplicates received (0 expected).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import web

from bot.integrations import outbox
from bot.integrations.delivery import DeliveryConfig, WebhookDelivery
from bot.integrations.signing import verify
from bot.store import Database
from bot.store.campaigns import create_campaign

SECRET = "bench-secret-0123456789abcdef"


async def run(url: str | None, data_dir: Path, events: int, concurrency: int) -> dict:
    db = await Database.open(url, data_dir)
    received: dict[str, float] = {}
    duplicates = 0
    all_in = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        nonlocal duplicates
        body = await request.read()
        event_id = verify(SECRET, request.headers, body, time.time())
        if event_id in received:
            duplicates += 1
        received.setdefault(event_id, time.monotonic())
        if len(received) >= events:
            all_in.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        campaign = await create_campaign(db.pool, "bench", "demo")
        await outbox.set_webhook(db.pool, campaign.id, url=f"http://127.0.0.1:{port}/hook", secret=SECRET)
        t = time.perf_counter()
        async with db.pool.acquire() as conn, conn.transaction():
            ids = await conn.fetch(
                """INSERT INTO calls (call_uuid, campaign_id, phone, status, outcome, result, transcript)
                   SELECT 'bench-' || n, $1, '+336' || lpad(n::text, 8, '0'), 'ENDED', 'answered', 'QUALIFIED',
                          '[{"speaker": "bot", "text": "Bonjour", "at_ms": 0}]'
                   FROM generate_series(1, $2::int) n RETURNING id""", campaign.id, events)
            for row in ids:
                await outbox.enqueue_call_ended(conn, campaign_id=campaign.id, call_id=row["id"])
        enqueue_s = time.perf_counter() - t
        written = time.monotonic()
        delivery = WebhookDelivery(db.pool, DeliveryConfig(poll_interval=0.05, batch=100, concurrency=concurrency))
        worker = asyncio.create_task(delivery.run())
        t = time.perf_counter()
        await all_in.wait()
        elapsed = time.perf_counter() - t
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        waits = sorted(at - written for at in received.values())
        return {"bench": "webhooks", "events": events, "concurrency": concurrency,
                "enqueue_per_s": round(events / enqueue_s), "delivered_per_s": round(events / elapsed),
                "wait_p50_s": round(statistics.median(waits), 2),
                "wait_p95_s": round(statistics.quantiles(waits, n=20)[-1], 2), "duplicates": duplicates}
    finally:
        await runner.cleanup()
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minibot-bench-") as tmp:
        figures = asyncio.run(run(os.environ.get("DATABASE_URL"), Path(tmp), args.events, args.concurrency))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
