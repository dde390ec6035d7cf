"""webrtcvad or Silero VAD v5 for the listen path, measured on phone audio with line noise and echo.

    nice -n 10 python -m bench.vad --episodes 200

Each episode: 6 s of a telephone line (the 8 kHz band, back at 16 kHz as slin16 brings it),
line noise at -60..-40 dBFS, on most episodes a residual echo of a bot prompt (-25..-40 dB,
20..250 ms, a hybrid), and on 60% a caller's utterance (the speech fixtures) at a random
moment. Both engines run in `SpeechDetector` with the listener's settings (80 ms onset, 600 ms
end). A false onset is speech started where the caller is silent (noise or echo); a miss is
an utterance never started; onset latency is the caller's first voiced sample to the confirmed
start; end error is the detected end of speech against the utterance's last voiced sample.
CPU is per 20 ms frame. Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np

from ari.simulator.line import hybrid_echo, mix
from bot.speech.pcm import resample, to_float, to_pcm
from bot.speech.vad import SpeechDetector, SpeechEnded, SpeechStarted, VadConfig

from .bargein import _speech
from .media import VOICES

RATE = 16000
FRAME = RATE // 50


def _voiced_span(x: np.ndarray) -> tuple[int, int]:
    e = np.array([np.sqrt(np.mean(x[i:i + FRAME] ** 2)) for i in range(0, len(x) - FRAME + 1, FRAME)])
    v = np.flatnonzero(e > 0.01)
    return int(v[0]) * FRAME, int(v[-1] + 1) * FRAME


Truth = tuple[float, float] | None  # the caller's voiced span (seconds), None: silent


def build(seed: int, prompt: np.ndarray, voices: dict[str, np.ndarray]) -> tuple[np.ndarray, Truth, bool]:
    rng = random.Random(seed)
    n = 6 * RATE
    parts = []
    echo_on = rng.random() < 0.75
    if echo_on:
        # Residual echo: the listener's VAD never judges audio under a prompt (the echo-aware
        # detector does), but an echo canceller's residue of the far end stays on many lines.
        echo = hybrid_echo(prompt, RATE, delay_ms=rng.uniform(20, 250), level_db=rng.uniform(-40, -25), seed=seed)
        parts.append((0, echo[:n]))
    truth = None
    if rng.random() < 0.6:
        voice = voices[rng.choice(VOICES)] * rng.uniform(0.4, 0.9)
        at = int(rng.uniform(0.5, 2.5) * RATE)
        parts.append((at, voice[: n - at]))
        a, b = _voiced_span(voice[: n - at])
        truth = ((at + a) / RATE, (at + b) / RATE)
    line = mix(n, *parts, noise_dbfs=rng.uniform(-60, -40), seed=seed)
    line = to_float(resample(resample(to_pcm(line), RATE, 8000), 8000, RATE))
    return line, truth, echo_on


def run(engine: str, line: np.ndarray, truth: tuple[float, float] | None) -> dict:
    det = SpeechDetector(RATE, VadConfig(engine=engine))
    starts, ends, cpu = [], [], 0.0
    for i in range(0, len(line) - FRAME + 1, FRAME):
        pcm = to_pcm(line[i:i + FRAME])
        t0 = time.perf_counter()
        events = det.process(pcm, (i + FRAME) / RATE)
        cpu += time.perf_counter() - t0
        for e in events:
            (starts if isinstance(e, SpeechStarted) else ends).append(e)
    ends += [e for e in det.finish(len(line) / RATE) if isinstance(e, SpeechEnded)]
    frames = len(line) // FRAME
    if truth is None:
        return {"false_onset": bool(starts), "cpu_us": cpu / frames * 1e6}
    onset, end = truth
    false = [s for s in starts if s.confirmed_at < onset - 0.05]
    real = [s for s in starts if s.confirmed_at >= onset - 0.05]
    out = {"false_onset": bool(false), "missed": not real, "cpu_us": cpu / frames * 1e6}
    if real:
        out["onset_ms"] = (real[0].confirmed_at - onset) * 1000
        after = [e for e in ends if e.at >= real[0].at]
        if after:
            out["end_error_ms"] = abs(after[-1].at - end) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    prompt = _speech("prompt_bot")
    voices = {v: _speech(v) for v in VOICES}
    results: dict[str, list[dict]] = {"webrtc": [], "silero": []}
    for k in range(args.episodes):
        line, truth, _ = build(args.seed + k, prompt, voices)
        for engine, rs in results.items():
            rs.append(run(engine, line, truth))
    summary = {}
    for engine, rs in results.items():
        onset = [r["onset_ms"] for r in rs if "onset_ms" in r]
        end = [r["end_error_ms"] for r in rs if "end_error_ms" in r]
        summary[engine] = {
            "false_onsets": sum(r["false_onset"] for r in rs),
            "missed": sum(r.get("missed", False) for r in rs),
            "onset_p50_ms": round(float(np.percentile(onset, 50)), 1) if onset else None,
            "onset_p95_ms": round(float(np.percentile(onset, 95)), 1) if onset else None,
            "end_error_p50_ms": round(float(np.percentile(end, 50)), 1) if end else None,
            "end_error_p95_ms": round(float(np.percentile(end, 95)), 1) if end else None,
            "cpu_us_per_frame": round(float(np.mean([r["cpu_us"] for r in rs])), 1),
        }
    print(json.dumps({"episodes": args.episodes, "talk_episodes": sum("missed" in r for r in results["webrtc"]),
                      **summary}))


if __name__ == "__main__":
    main()
