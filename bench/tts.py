"""TTS render speed per engine, and cached-line lookup latency.

    python -m bench.tts [--engines espeak,kokoro] [--lines 20]

For each engine that can run here: wall-clock seconds (and CPU seconds) per second of audio
rendered, over French objection answers. Then a cache of 1,000 lines and the lookup latency of a
cached line (hash + stat) and of the whole in-call path (lookup + reading the audio for the
barge-in reference). One JSON line last.
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

import numpy as np

from bot.dialog.objections.library import load_library
from bot.dialog.scenario.engine import Line
from bot.speech.tts import ENGINES, TtsUnavailable, load_engine
from bot.voice.cache import AudioCache
from bot.voice.voice import CachedVoice


def _lines(n: int) -> list[str]:
    answers = [e.answer for e in load_library().entries]
    return answers[:n]


def _children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def render_speed(engine_name: str, texts: list[str]) -> dict | None:
    try:
        from bot.config import Settings

        settings = Settings()  # Piper's voices are the pulled ones; Wyoming's, the configured servers
        engine = load_engine(engine_name, models_dir=settings.models_path, wyoming_tts=settings.wyoming_tts)
    except TtsUnavailable as exc:
        print(f"{engine_name}: skipped ({exc})")
        return None
    engine.synthesize("Bonjour.")  # warm-up (model load, first inference)
    wall = cpu = audio = 0.0
    for text in texts:
        started = time.perf_counter(), time.process_time(), _children_cpu()
        out = engine.synthesize(text)
        wall += time.perf_counter() - started[0]
        # This process's threads (onnxruntime) and its children (the espeak-ng binary).
        cpu += (time.process_time() - started[1]) + (_children_cpu() - started[2])
        audio += out.duration
    print(f"{engine_name}: {audio:.1f} s of audio in {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"({wall / audio:.4f} s wall per second of audio)")
    return {"engine": engine_name, "audio_s": round(audio, 1), "render_s_per_audio_s": round(wall / audio, 4),
            "cpu_s_per_audio_s": round(cpu / audio, 4)}


async def lookup_latency(lines: int = 1000) -> dict:
    class Instant:  # a render-free engine: this measures the cache, not synthesis
        name, default_voice, version = "bench", "v", "1"

        def voices(self):
            return ["v"]

        def synthesize(self, text, voice=None):
            from bot.speech.pcm import Audio

            return Audio(b"\x00\x00" * 16000 * 3, 16000)  # 3 s of audio per line

    with tempfile.TemporaryDirectory() as tmp:
        voice = CachedVoice(Instant(), AudioCache(Path(tmp)))
        texts = [f"Ligne numéro {i} du scénario de démonstration." for i in range(lines)]
        for text in texts:
            voice.render(text)
        lookups, prompts = [], []
        for text in texts:
            start = time.perf_counter()
            assert voice.lookup(text) is not None
            lookups.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            await voice.prompt(Line(text, "bench"))
            prompts.append((time.perf_counter() - start) * 1000)
    return {
        "cached_lines": lines,
        "lookup_p50_ms": round(statistics.median(lookups), 3),
        "lookup_p95_ms": round(float(np.percentile(lookups, 95)), 3),
        "prompt_p50_ms": round(statistics.median(prompts), 3),
        "prompt_p95_ms": round(float(np.percentile(prompts, 95)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default=",".join(e for e in ENGINES if e != "xtts"))
    parser.add_argument("--lines", type=int, default=20)
    args = parser.parse_args()
    texts = _lines(args.lines)
    result: dict = {"engines": []}
    for name in args.engines.split(","):
        speed = render_speed(name, texts)
        if speed is not None:
            result["engines"].append(speed)
            result[f"{name}_render_s_per_audio_s"] = speed["render_s_per_audio_s"]
    result |= asyncio.run(lookup_latency())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
