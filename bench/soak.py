"""Soak: conversations run continuously through the whole campaign path for M minutes, and what
grows is measured at the start and at the end.

    python -m bench.soak --calls 10 --minutes 20 [--asr whisper|vosk|vosk-server]

The simulated Asterisk runs in a child process (callees cycle through bench.calls' three scripts);
MiniBot (this process) runs the embedded PostgreSQL, a campaign of many contacts, the dialer (its
claims, the compliance gate, the call journal, the storing transaction), the ARI controller, the
AudioSocket server, the recogniser and the voice, keeping --calls conversations going. Samples are
taken once the first calls have ended (warm) and at the end, before the drain:

- rss_mb: this process and its recogniser workers (not the simulator nor PostgreSQL);
- fds: their open file descriptors;
- db_connections: backends connected to the campaign's database (pg_stat_activity);
- loop_lag_p99_ms / loop_lag_max_ms: how late a 100 ms sleep wakes, over the minute before the sample.

Prints progress to stderr and one JSON object last: {"start": {...}, "end": {...}, "growth": {...}, ...}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import numpy as np
import psutil

from bench.calls import PASSWORD, SCRIPTS, _callee, _vosk_server

ANY_TIME = {"hours": {"weekdays": [0, 1, 2, 3, 4, 5, 6], "windows": [["00:00", "23:59:59"]],
                      "holiday_country": None},
            "frequency_cap_attempts": 0, "refusal_cooloff_days": 0}


def _number(i: int) -> str:
    return f"+336140{i:05d}"


def _line(n: int, urls: mp.Queue, stop) -> None:
    """The child process: a simulated Asterisk with n callees."""
    from ari.simulator import SimulatedAsterisk

    async def main() -> None:
        async with SimulatedAsterisk(password=PASSWORD) as sim:
            for i in range(n):
                sim.add_callee(f"PJSIP/{_number(i)}@trunk", _callee(SCRIPTS[i % len(SCRIPTS)]))
            urls.put(sim.url)
            while not stop.is_set():  # noqa: ASYNC110 - a cross-process event
                await asyncio.sleep(0.1)

    asyncio.run(main())


class LoopLag:
    """How late the event loop wakes a 100 ms sleep, kept for the last minute."""

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float]] = deque()

    async def run(self) -> None:
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(0.1)
            now = time.monotonic()
            self.samples.append((now, now - t0 - 0.1))
            while self.samples and self.samples[0][0] < now - 60:
                self.samples.popleft()

    def figures(self) -> dict[str, float | None]:
        lags = [lag for _, lag in self.samples]
        if not lags:
            return {"loop_lag_p99_ms": None, "loop_lag_max_ms": None}
        return {"loop_lag_p99_ms": round(float(np.percentile(lags, 99)) * 1000, 1),
                "loop_lag_max_ms": round(max(lags) * 1000, 1)}


def _mine(me: psutil.Process, others: set[int]) -> list[psutil.Process]:
    """This process and its children, less the simulator, the ASR stand-in and PostgreSQL."""
    out = [me]
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.pid not in others and "postgres" not in child.name():
                out.append(child)
    return out


async def _sample(me: psutil.Process, others: set[int], db, lag: LoopLag, calls_ended: int) -> dict:
    rss = fds = 0
    for proc in _mine(me, others):
        with contextlib.suppress(psutil.Error):
            rss += proc.memory_info().rss
            fds += proc.num_fds()
    connections = await db.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
    return {"at_s": None, "calls_ended": calls_ended, "rss_mb": round(rss / 2**20, 1), "fds": fds,
            "db_connections": connections, **lag.figures()}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def run(calls: int, minutes: float, asr: str, vosk_rtf: float = 0.3) -> dict:
    from ari.client import AriConfig
    from audiosocket import AudioSocketServer
    from bot.call.config import CallConfig
    from bot.call.controller import CallController
    from bot.campaign import control
    from bot.campaign.conversations import CampaignConversations
    from bot.campaign.dialer import Dialer, DialerConfig
    from bot.config import Settings
    from bot.speech.asr import load_recognizer
    from bot.speech.asr.executor import recognition_executor
    from bot.speech.tts import load_engine
    from bot.store import Database
    from bot.store.campaigns import create_campaign
    from bot.voice.cache import AudioCache
    from bot.voice.voice import CachedVoice

    settings = Settings()
    # Enough contacts for the whole run: a conversation lasts 10-20 s.
    contacts = int(calls * minutes * 60 / 8) + calls * 2
    ctx = mp.get_context("spawn")
    urls, stop = ctx.Queue(), ctx.Event()
    line = ctx.Process(target=_line, args=(contacts, urls, stop), daemon=True)
    line.start()
    others = {line.pid}
    vosk_url = None
    asr_server = None
    if asr == "vosk-server":
        ports = ctx.Queue()
        asr_server = ctx.Process(target=_vosk_server, args=(ports, vosk_rtf), daemon=True)
        asr_server.start()
        others.add(asr_server.pid)
        vosk_url = f"ws://127.0.0.1:{await asyncio.to_thread(ports.get, True, 60)}"
    me = psutil.Process()
    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    lag = LoopLag()
    lag_task = asyncio.create_task(lag.run())
    try:
        with recognition_executor(settings.asr_threads, settings.asr_nice) as pool:
            recognizer = load_recognizer(asr, cache_dir=settings.cache_dir, models_dir=settings.models_path,
                                         vosk_model=settings.vosk_model, executor=pool, workers=settings.asr_threads,
                                         nice=settings.asr_nice, vosk_url=vosk_url)
            db = await Database.open(None, work)
            try:
                # A lawful campaign (the gate is the real one): consumers who consented, also to be called
                # at any hour (which alone lifts the hours for French numbers), and a canvassing caller ID.
                campaign = await create_campaign(db.pool, "soak", "demo", max_concurrent_calls=calls,
                                                 calls_per_second=50, compliance=ANY_TIME, variables={},
                                                 legal_basis="consent", caller_id="+33162000000",
                                                 legal_ground="consentement recueilli pour des appels à toute heure")
                await db.pool.executemany("INSERT INTO contacts (phone, first_name) VALUES ($1, 'Camille')",
                                          [(_number(i),) for i in range(contacts)])
                await db.pool.execute(
                    """INSERT INTO consents (phone, source, evidence, granted_at, outside_hours)
                       SELECT phone, 'bench', 'formulaire de test', now() - interval '1 day', true FROM contacts""")
                await db.pool.execute(
                    """INSERT INTO campaign_contacts (campaign_id, contact_id) SELECT $1, id FROM contacts""",
                    campaign.id)
                await db.pool.execute(
                    """INSERT INTO attempts (campaign_id, contact_id, due_at)
                       SELECT $1, id, '-infinity' FROM contacts""", campaign.id)
                await control.start(db, campaign.id)
                voice = CachedVoice(load_engine("espeak"), AudioCache(work / "audio"))
                conversations = CampaignConversations(voice, None)
                await conversations.brain("demo")
                url = await asyncio.to_thread(urls.get, True, 60)
                async with AudioSocketServer("127.0.0.1", 0) as server:
                    config = CallConfig(audiosocket_address=server.address, ring_timeout=10, vad=settings.vad,
                                        barge_in=settings.barge_in)
                    ari = AriConfig(url=url, username="minibot", password=PASSWORD)
                    async with CallController(ari, config, server, recognizer) as controller:
                        dialer = Dialer(db, controller.place_call, conversations,
                                        DialerConfig(max_calls=calls, poll_interval=0.1, journal_dir=work / "journal"))
                        worker = asyncio.create_task(dialer.run())
                        t0 = time.monotonic()
                        start = None
                        deadline = t0 + minutes * 60
                        while time.monotonic() < deadline and not worker.done():
                            await asyncio.sleep(5)
                            ended = await _ended(db)
                            if start is None and ended >= calls:  # warm: the first wave has ended
                                start = await _sample(me, others, db, lag, ended)
                                start["at_s"] = round(time.monotonic() - t0)
                                _say(f"start: {json.dumps(start)}")
                            elif int(time.monotonic() - t0) % 60 < 5:
                                _say(f"{time.monotonic() - t0:5.0f} s: {ended} calls ended, "
                                     f"{len(dialer.active)} in progress")
                        end = await _sample(me, others, db, lag, await _ended(db))
                        end["at_s"] = round(time.monotonic() - t0)
                        await dialer.drain(30)
                        worker.cancel()
                        await asyncio.gather(worker, return_exceptions=True)
                        dialer.close_journal()
                        results = dict(await db.pool.fetch(
                            "SELECT coalesce(result, outcome, status), count(*) FROM calls GROUP BY 1"))
                await conversations.aclose()
            finally:
                await db.close()
    finally:
        lag_task.cancel()
        stop.set()
        if asr_server is not None:
            asr_server.kill()
        line.join(10)
        shutil.rmtree(work, ignore_errors=True)
    start = start or end
    growth = {"rss_mb": round(end["rss_mb"] - start["rss_mb"], 1), "fds": end["fds"] - start["fds"],
              "db_connections": end["db_connections"] - start["db_connections"]}
    return {"calls": calls, "minutes": minutes, "asr": asr, "calls_ended": end["calls_ended"],
            "results": results, "start": start, "end": end, "growth": growth}


async def _ended(db) -> int:
    return await db.pool.fetchval("SELECT count(*) FROM calls WHERE status IN ('ENDED', 'INTERRUPTED')")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10, help="conversations kept going at once")
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--asr", choices=["whisper", "vosk", "vosk-server"], default="whisper")
    parser.add_argument("--vosk-rtf", type=float, default=0.3, help="the vosk-server stand-in's real-time factor")
    args = parser.parse_args()
    os.environ.setdefault("MINIBOT_ASR_THREADS", "2")
    print(json.dumps(asyncio.run(run(args.calls, args.minutes, args.asr, args.vosk_rtf))))


if __name__ == "__main__":
    main()
