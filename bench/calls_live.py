"""`bench.calls --ari-url URL`: the same conversations against a real Asterisk (issue 14).

    python -m bench.calls --ari-url http://HOST:8088/ari --ari-password PW [--ari-user minibot]
        [--audiosocket HOST:PORT] [--callee Local/human@callee-sim | scripted] --calls 3 --rounds 3
    python -m bench.calls --start-asterisk ../shared/asterisk-22-runtime/run-asterisk --calls 3 --rounds 3

MiniBot (this process) runs the real `CallController`, AudioSocket server, VAD, recogniser, barge-in
and the scenario brain, as in the simulator bench; Asterisk is a real one: the one at --ari-url, or
one started here on the project's own `asterisk/` files (`--start-asterisk`, the live tests' class,
tests/live/asterisk.py). Each round places --calls simultaneous calls to --callee, a Local channel
into the `[callee-sim]` dialplan (`Local/human@callee-sim`: "Allô, oui, bonjour", then "ça
m'intéresse" 3 s later, over the bot or not). ``--callee scripted`` dials `Local/scripted@callee-sim`,
whose audio comes from an AudioSocket server run here (tests/live/scripted.py): it says "Allô, oui,
bonjour" at 0.3 s, then either answers each prompt once it ends or talks over the greeting at
3.0 s (SCRIPTS, cycled over the calls; ``--scripts allo``: only "Allô ?", DESIGN's budget case for
answer → first audio), and times on the wire what the callee hears (``wire``):
answer to the bot's first audio, its end of speech to the bot's reply, its onset to the bot's
silence (a barge-in), where each happened.

The last JSON line names the Asterisk (ARI ``/asterisk/info``: version, system name, entity id), the
recogniser, and the load average of this machine while it ran (a shared machine's figures say so).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

# The scripted callee's conversations, cycled over the calls (as the simulator bench's callees):
# (when, fixture): seconds after answer, or after the bot's prompt ended (a person who waits).
SCRIPTS = {
    "waits": [(0.3, "bonjour_oui"), ("after_prompt", "oui_daccord"), ("after_prompt", "interesse")],
    "talks_over": [(0.3, "bonjour_oui"), (3.0, "non_merci"), ("after_prompt", "non_merci")],
    # DESIGN's budget case for answer → first audio: a person who says only "Allô ?" (0.8 s).
    "allo": [(0.3, "allo"), ("after_prompt", "oui_daccord"), ("after_prompt", "interesse")],
}
DEFAULT_SCRIPTS = ("waits", "talks_over")


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else None


def _band(name: str, values: list[float]) -> dict:
    return {f"{name}_p50_ms": _pct(values, 50), f"{name}_p95_ms": _pct(values, 95), f"{name}_n": len(values)}


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--audiosocket {text!r}: expected HOST:PORT (the address Asterisk connects to)")
    return host, int(port)


async def asterisk_info(client) -> dict:
    """Which Asterisk answered: its version, system name and entity id (ARI /asterisk/info)."""
    info = await client.info()
    return {"version": info.get("system", {}).get("version"),
            "system_name": info.get("config", {}).get("name") or None,
            "entity_id": info.get("system", {}).get("entity_id")}


def wire_figures(calls) -> dict:
    """What the scripted callee heard, timed on the wire, around what it said (`Heard.said`): the
    bot's first audio after the connection; a reply after a line the bot was quiet at the end of
    (from the line's last voiced frame); a barge-in where the bot was talking as the line began
    and went quiet before it ended; how often the bot began a line while the callee spoke."""
    first, turn, barge = [], [], []
    over = 0  # the bot starting a line while the callee is speaking (its greeting over their "allô")
    for heard in calls:
        if heard.connected_at is None:
            continue
        over += sum(any(start <= onset <= end for start, end, _how in heard.said) for onset in heard.onsets())
        if (at := heard.first_sound_at()) is not None:
            first.append(at - heard.connected_at)
        for start, end, _how in heard.said[1:]:  # the first is the callee's "allô"
            talking = heard.sound_within(start - 0.3, start)  # the bot, as the line began
            # A barge-in is the bot stopping while the callee still talks; a prompt that just ran to its
            # end after the line is none (its remaining length would pass for a reaction time).
            if talking and (quiet := heard.quiet_from(start)) is not None and quiet < end:
                barge.append(quiet - start)
            if not heard.sound_within(end - 0.3, end) and (reply := heard.first_sound_after(end)) is not None:
                turn.append(reply - end)
    return {**_band("answer_to_first_audio", first), **_band("turn_latency", turn), **_band("barge_in", barge),
            "bot_starts_over_callee": over}


async def run_live(*, calls: int, rounds: int, asr: str, ari_url: str | None, ari_user: str,
                   ari_password: str | None, audiosocket: str | None, callee: str,
                   start_asterisk: str | None, vosk_url: str | None = None, wyoming_url: str | None = None,
                   scripts: tuple[str, ...] = DEFAULT_SCRIPTS) -> dict:
    unknown = [name for name in scripts if name not in SCRIPTS]
    if unknown:
        raise SystemExit(f"--scripts: unknown {', '.join(unknown)} (known: {', '.join(SCRIPTS)})")
    chosen = tuple(scripts)
    from ari.client import AriClient, AriConfig
    from audiosocket import AudioSocketServer
    from bot.call.config import CallConfig
    from bot.call.controller import CallController
    from bot.call.scenario_conversation import ScenarioConversation
    from bot.config import Settings
    from bot.dialog.brain import Brain
    from bot.speech.asr import load_recognizer
    from bot.speech.asr.executor import recognition_executor
    from bot.speech.tts import load_engine
    from bot.voice.cache import AudioCache
    from bot.voice.render import ready_known_lines
    from bot.voice.voice import CachedVoice

    settings = Settings()
    scripted = callee == "scripted"
    endpoint = "Local/scripted@callee-sim" if scripted else callee
    if asr not in ("whisper", "vosk") and not (vosk_url or wyoming_url):
        raise SystemExit(f"--asr {asr} against a real Asterisk needs its server's URL (--vosk-url/--wyoming-url)")
    who = {"engine": asr, "stand_in": False, "detail": {
        "whisper": f"local faster-whisper, {settings.whisper.summary()}",
        "vosk": f"local Vosk, {settings.vosk_model}",
        "vosk-server": f"vosk-server at {vosk_url}", "wyoming": f"Wyoming server(s) {wyoming_url}"}[asr]}
    me = psutil.Process()
    with contextlib.ExitStack() as stack:
        scripted_address = None
        if start_asterisk:
            from tests.live.asterisk import LiveAsterisk

            live = LiveAsterisk.create(Path(start_asterisk))
            stack.callback(live.close)
            live.start()
            ari = live.ari_config()
            scripted_address = live.scripted_address
        else:
            if not ari_url or not ari_password:
                raise SystemExit("--ari-url needs --ari-password (or use --start-asterisk PATH/run-asterisk)")
            ari = AriConfig(url=ari_url, username=ari_user, password=ari_password)
            # The scripted callee's server listens where that Asterisk's MINIBOT_SCRIPTED points.
            scripted_address = _address(os.environ.get("MINIBOT_BENCH_SCRIPTED", "127.0.0.1:19093"))
        pool = stack.enter_context(recognition_executor(settings.asr_threads, settings.asr_nice))
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-live-"))
        recognizer = load_recognizer(asr, cache_dir=settings.cache_dir, models_dir=settings.models_path,
                                     vosk_model=settings.vosk_model, executor=pool, workers=settings.asr_threads,
                                     nice=settings.asr_nice, vosk_url=vosk_url, whisper=settings.whisper,
                                     wyoming_asr=wyoming_url)
        brain = Brain.build("demo")
        voice = CachedVoice(load_engine("espeak"), AudioCache(Path(tmp) / "audio"))
        bind = _address(audiosocket) if audiosocket else ("127.0.0.1", 0)
        async with contextlib.AsyncExitStack() as astack:
            server = await astack.enter_async_context(AudioSocketServer("0.0.0.0" if bind[0] not in (
                "127.0.0.1", "localhost") else bind[0], bind[1]))
            reach = f"{bind[0]}:{server.port}"  # what Asterisk dials (AudioSocket's bound port when 0)
            config = CallConfig(audiosocket_address=reach, ring_timeout=15, vad=settings.vad,
                                barge_in=settings.barge_in, caller_id="MiniBot <0162000000>")
            async with AriClient(ari) as client:
                where = await asterisk_info(client)
            callee_server = None
            if scripted:
                from tests.conftest import speech
                from tests.live.scripted import ReactiveCallee

                scripts = [[(when, speech(name, 8000)) for when, name in SCRIPTS[script]] for script in chosen]
                callee_server = await astack.enter_async_context(
                    ReactiveCallee(scripted_address, scripts, hangup_after=40))
            controller = await astack.enter_async_context(CallController(ari, config, server, recognizer))
            await ready_known_lines(voice, brain)
            await ScenarioConversation(brain, voice, {"first_name": "Camille"}).prepare()
            cpu0, t0 = sum(me.cpu_times()[:2]), time.monotonic()
            records, loads = [], []
            for _ in range(rounds):
                records += await asyncio.wait_for(asyncio.gather(*(
                    controller.place_call(endpoint, ScenarioConversation(brain, voice, {"first_name": "Camille"}))
                    for _ in range(calls))), 120)
                loads.append(os.getloadavg()[0])
            if os.environ.get("MINIBOT_BENCH_TIMELINES"):  # each call's timeline on stderr, to see why
                for record in records:
                    print(record.timeline, file=sys.stderr)
            elapsed, cpu = time.monotonic() - t0, sum(me.cpu_times()[:2]) - cpu0
    turn = [t for r in records for t in r.turn_latencies]
    first = [r.answer_to_first_audio for r in records if r.answer_to_first_audio is not None]
    barge = [b for r in records for b in r.barge_in_reactions]
    figures = {
        "calls": calls, "rounds": rounds, "conversations": len(records), "asr": asr, "recogniser": who,
        "asterisk": {"ari": ari.url, "started_here": bool(start_asterisk), **where}, "callee": endpoint,
        "outcomes": {k: sum(str(r.outcome) == k for r in records) for k in sorted({str(r.outcome) for r in records})},
        "results": {k: sum(str(r.result) == k for r in records) for k in sorted({str(r.result) for r in records})},
        # MiniBot's own measures (its clock: the listen path's VAD and the moment it sent audio)
        **_band("answer_to_first_audio", first), **_band("turn_latency", turn), **_band("barge_in", barge),
        "cpu_per_call_pct": round(cpu / elapsed * 100 / calls, 1), "wall_s": round(elapsed, 1),
        "load_avg_1m": [round(x, 2) for x in loads], "cpus": os.cpu_count(),
    }
    if callee_server is not None:
        figures["wire"] = {"measured_by": "the scripted callee's AudioSocket server (what the callee heard)",
                           "connections": len(callee_server.calls), "scripts": list(chosen),
                           **wire_figures(callee_server.calls)}
    return figures
