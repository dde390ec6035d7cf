"""Barge-in accuracy over many random episodes, faster than real time.

    python -m bench.bargein --episodes 400

Each episode is what a caller line carries while the bot's prompt plays: the prompt's echo
(-6..-20 dB, 20..250 ms, a random hybrid; none on a quarter of the episodes), the caller's
utterance over it at a random moment (or silence: an echo-only episode), line noise, and
arrival jitter on the frames as a loaded event loop would deliver them. The detector sees
exactly what the listener gives it. Prints the failing episodes (seed and parameters, to
replay) and one JSON line last.

A third of the talking episodes are backchannels ("d'accord", "je vois"). What the product
does (``bot.call.interruption``): at the barge-in the prompt is lowered 20 dB, not stopped, and
plays on while what was said decides; the caller's utterance is measured as the listener does
it, the lowered prompt's echo told apart frame by frame (``EchoAwareBargeIn.near_end``), then
the rules judge it: speech still going 1.0 s after its onset, or longer than that, or words
that are not acknowledgements (an ideal recogniser's, here the clip's script, given at the end
of the speech) stop the line; a backchannel brings it back to full voice. A backchannel whose
line stops is a stop (the target is none); a real interruption's line stops some time after the
onset (``stop_after_onset``), having been lowered within the barge-in latency. The figures of
the former way (stop at once, resume a backchannel's line from the cut) are printed beside.

``--words``: each caught interruption's words also go through Whisper base (the local engine
the calls use), as the listener hands them over: the frames held under the prompt from
``BargeInConfig.lookback_ms`` before the first near-end frame (bot.speech.bargein.words_audio),
then the line after the barge-in (the prompt lowered 20 dB, its echo with it). Its word error
rate is set beside that of the whole 300 ms held before the barge-in (what the listener gave
before), which carries the prompt's echo.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import random
from pathlib import Path

import numpy as np

from ari.simulator.line import hybrid_echo, mix
from bot.call.interruption import InterruptionTiming
from bot.speech.bargein import BargeInConfig, EchoAwareBargeIn, words_audio
from bot.speech.pcm import to_float, to_pcm
from bot.speech.turn import is_backchannel
from bot.speech.vad import SpeechDetector, VadConfig

from .media import VOICES

RATE = 16000
FRAME = RATE // 50
BACKCHANNELS = ["daccord", "je_vois"]


def _speech(name: str) -> np.ndarray:
    from bot.demo.listen import _fixture

    return to_float(_fixture(name).at_rate(RATE).pcm)


def _words(name: str) -> str:
    manifest = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "speech" / "manifest.json"
    return json.loads(manifest.read_text())[name]["text"]


def _judge_lowered(line: np.ndarray, det: EchoAwareBargeIn, hit, k_hit: int, onset_s: float, words: str,
                   base: float) -> tuple[bool, float, str]:
    """The lowered line's verdict, as the listener and ``Interruptions.judge_lowered`` reach it
    (with the words of an ideal recogniser at the end of the speech): (backchannel, seconds from
    the onset to the verdict, why)."""
    timing = InterruptionTiming()
    det.lower(hit.confirmed_at, timing.duck_db)
    vad = SpeechDetector(RATE, VadConfig())
    vad.force_start(hit.at, hit.confirmed_at)
    onset = base + onset_s
    for i in range(k_hit + FRAME, len(line) - FRAME + 1, FRAME):
        now = base + (i + FRAME) / RATE
        pcm = to_pcm(line[i:i + FRAME])
        if det.echo_possible(now) and not det.near_end(pcm, now):
            pcm = bytes(len(pcm))  # as the listener gives it to its VAD
        for e in vad.process(pcm, now):
            if e.duration > timing.backchannel_max:
                return False, now - onset, f"{e.duration:.1f} s of speech"
            return is_backchannel(words), now - onset, f"{e.duration:.1f} s: {words!r}"
        quiet = vad.silent_for(now)
        if now >= onset + timing.backchannel_max and quiet is not None and quiet < timing.still_speaking_quiet:
            return False, now - onset, "still speaking"
    return False, len(line) / RATE - onset_s, "no end of speech"


def _judge_after(line: np.ndarray, from_sample: int) -> tuple[bool, float]:
    """What `Interruptions` decides once the prompt stopped: the caller's speech length from
    the cut, as the listener's VAD measures it."""
    vad = SpeechDetector(RATE, VadConfig())
    vad.force_start(0.0, 0.0)
    ended = None
    for i in range(from_sample, len(line) - FRAME + 1, FRAME):
        for e in vad.process(to_pcm(line[i:i + FRAME]), (i + FRAME - from_sample) / RATE):
            ended = e
        if ended is not None:
            break
    duration = ended.duration if ended is not None else (len(line) - from_sample) / RATE
    return duration <= InterruptionTiming().backchannel_max, duration


def episode(seed: int, prompt: np.ndarray, voices: dict[str, np.ndarray], jitter_ms: float,
            hear=None) -> dict:
    rng = random.Random(seed)
    level, delay = rng.uniform(-20, -6), rng.uniform(20, 250)
    talk = rng.random() < 0.5
    backchannel = talk and rng.random() < 1 / 3
    voice_name = rng.choice(BACKCHANNELS if backchannel else VOICES)
    voice_at = rng.uniform(1.0, 3.0)
    echo_on = rng.random() >= 0.25
    echo = hybrid_echo(prompt, RATE, delay_ms=delay, level_db=level, seed=seed)
    if not echo_on:
        echo = np.zeros_like(echo)
    parts = [(0, echo)]
    onset = None
    if talk:
        voice = voices[voice_name] * 0.8
        off = int(voice_at * RATE)
        parts.append((off, voice))
        onset = (off + int(np.argmax(np.abs(voice) > 0.02))) / RATE
    line = mix(len(prompt) + RATE, *parts, seed=seed)
    det = EchoAwareBargeIn(RATE)
    base = 100.0  # a monotonic clock that is not zero
    det.start_prompt(to_pcm(prompt), base)
    jr = np.random.default_rng(seed)
    hit = None
    held: collections.deque[tuple[float, bytes]] = collections.deque(maxlen=15)  # as the listener holds them
    for i in range(0, len(line) - FRAME + 1, FRAME):
        # Frames leave Asterisk every 20 ms; the listener sees them a little late, sometimes
        # in bursts after a stall of the event loop.
        late = abs(jr.normal(0, jitter_ms / 3)) + (jr.random() < 0.01) * jr.uniform(0, 3 * jitter_ms)
        arrived = base + (i + FRAME) / RATE + late / 1000
        held.append((arrived, to_pcm(line[i : i + FRAME])))
        hit = det.process(held[-1][1], arrived)
        if hit:
            break
    out = {"seed": seed, "talk": talk, "backchannel": backchannel, "echo": echo_on,
           "voice": voice_name if talk else None, "level_db": round(level, 1),
           "delay_ms": round(delay), "locked_delay_ms": det.echo_delay_ms}
    if hit is not None and talk:
        # The product: lowered 20 dB (Asterisk applies VOLUME(TX) within a frame), judged.
        lowered_from = int((hit.confirmed_at - base + 0.02 + delay / 1000) * RATE)
        echo_lowered = echo.copy()
        echo_lowered[lowered_from:] *= 10 ** (InterruptionTiming().duck_db / 20)
        heard = mix(len(prompt) + RATE, (0, echo_lowered), *parts[1:], seed=seed)
        kept, after_onset, why = _judge_lowered(heard, det, hit, i, onset, _words(voice_name), base)
        out["lowered_kept"] = kept
        out["stop_after_onset_ms"] = None if kept else round(after_onset * 1000)
        out["full_voice_after_onset_ms"] = round(after_onset * 1000) if kept else None
        out["lowered_why"] = why
        # The former way: stopped at once, a backchannel's line resumed from the cut.
        cut = int((hit.confirmed_at - base) * RATE)
        # The prompt stops at the cut: its echo ends one echo delay later.
        stopped = [(0, echo[: cut + int(delay * RATE / 1000)]), *parts[1:]]
        after_cut = mix(len(line), *stopped, seed=seed)
        short, duration = _judge_after(after_cut, cut)
        out["resumed"] = short and is_backchannel(_words(voice_name))
        out["speech_after_cut_s"] = round(duration, 2)
        if hear is not None:
            # the line after the barge-in as the product leaves it: the prompt lowered, its echo too
            after = to_pcm(heard[i + FRAME: cut + int((duration + 0.3) * RATE)])
            out["words_product"] = hear(words_audio(held, hit, BargeInConfig().lookback_ms) + after)
            out["words_held_300ms"] = hear(b"".join(pcm for _, pcm in held) + after)
    if hit is None:
        out["result"] = "missed" if talk else "ok"
    elif onset is None or hit.confirmed_at - base < onset:
        out["result"] = "false"
        out["at_s"] = round(hit.confirmed_at - base, 2)
    else:
        out["result"] = "ok"
        out["latency_ms"] = round((hit.confirmed_at - base - onset) * 1000, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=400)
    parser.add_argument("--jitter-ms", type=float, default=5.0, help="typical frame arrival lateness")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--words", action="store_true", help="Whisper base hears each caught interruption")
    args = parser.parse_args()
    prompt = _speech("prompt_bot")
    voices = {v: _speech(v) for v in (*VOICES, *BACKCHANNELS)}
    with _whisper(args.words) as hear:
        results = [episode(args.seed + k, prompt, voices, args.jitter_ms, hear) for k in range(args.episodes)]
    for r in results:
        wrong_verdict = r.get("lowered_kept") is not None and r["lowered_kept"] != r["backchannel"]
        if r["result"] != "ok" or wrong_verdict:
            print(json.dumps(r))
    lat = [r["latency_ms"] for r in results if "latency_ms" in r and not r["backchannel"]]
    backchannels = [r for r in results if r["backchannel"]]
    real = [r for r in results if r["talk"] and not r["backchannel"]]
    print(json.dumps({
        "episodes": len(results),
        "talk_episodes": sum(r["talk"] for r in results),
        "echo_only_episodes": sum(not r["talk"] for r in results),
        "jitter_ms": args.jitter_ms,
        "false_barge_in": sum(r["result"] == "false" for r in results),
        "missed_barge_in": sum(r["result"] == "missed" for r in results),
        "barge_in_p50_ms": round(float(np.percentile(lat, 50)), 1) if lat else None,
        "barge_in_p95_ms": round(float(np.percentile(lat, 95)), 1) if lat else None,
        "barge_in_max_ms": round(float(max(lat)), 1) if lat else None,
        "echo_free_episodes": sum(not r["echo"] for r in results),
        "method": "lowered 20 dB at the barge-in, stopped only for an interruption",
        "backchannel_episodes": len(backchannels),
        "backchannel_echo_episodes": sum(r["echo"] for r in backchannels),
        "backchannel_lowered": sum(r.get("lowered_kept") is not None for r in backchannels),
        "backchannel_stops": sum(r.get("lowered_kept") is False for r in backchannels),
        "backchannel_stops_echo": sum(r.get("lowered_kept") is False and r["echo"] for r in backchannels),
        "real_interruptions": len([r for r in real if "latency_ms" in r]),
        "real_interruptions_played_through": sum(bool(r.get("lowered_kept")) for r in real),
        "stop_after_onset_p50_ms": _pct([r["stop_after_onset_ms"] for r in real if r.get("stop_after_onset_ms")], 50),
        "stop_after_onset_p95_ms": _pct([r["stop_after_onset_ms"] for r in real if r.get("stop_after_onset_ms")], 95),
        "backchannel_full_voice_after_onset_p50_ms": _pct(
            [r["full_voice_after_onset_ms"] for r in backchannels if r.get("full_voice_after_onset_ms")], 50),
        "backchannel_full_voice_after_onset_p95_ms": _pct(
            [r["full_voice_after_onset_ms"] for r in backchannels if r.get("full_voice_after_onset_ms")], 95),
        "stop_mode_backchannel_stops": sum("latency_ms" in r for r in backchannels),
        "stop_mode_backchannel_resumed": sum(bool(r.get("resumed")) for r in backchannels),
        "stop_mode_real_interruptions_resumed": sum(bool(r.get("resumed")) for r in real),
        "verdict_words": "the clip's script (an ideal recogniser) at the end of the speech; length from the VAD",
        **(_words_figures(results) if args.words else {}),
    }))


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q))) if values else None


@contextlib.contextmanager
def _whisper(wanted: bool):
    """A function from 16 kHz PCM to Whisper's words (None when not wanted)."""
    if not wanted:
        yield None
        return
    from concurrent.futures import ThreadPoolExecutor

    from bot.config import Settings
    from bot.speech.asr.models import whisper_base_dir
    from bot.speech.asr.whisper_engine import WhisperRecognizer

    async def decode(rec, pcm: bytes) -> str:
        stream = rec.open(RATE)
        for k in range(0, len(pcm), FRAME * 2):
            await stream.feed(pcm[k:k + FRAME * 2])
        return (await stream.finish()).text

    with ThreadPoolExecutor(2) as pool:
        rec = WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)
        yield lambda pcm: asyncio.run(decode(rec, pcm))


def _words_figures(results: list[dict]) -> dict:
    from .asr import wer

    heard = [r for r in results if "words_product" in r]
    echoed = [r for r in heard if r["echo"]]
    return {
        "words_of": len(heard),
        "words_wer": wer([(_words(r["voice"]), r["words_product"]) for r in heard]),
        "words_wer_held_300ms": wer([(_words(r["voice"]), r["words_held_300ms"]) for r in heard]),
        "words_echo_of": len(echoed),
        "words_wer_echo": wer([(_words(r["voice"]), r["words_product"]) for r in echoed]),
        "words_wer_echo_held_300ms": wer([(_words(r["voice"]), r["words_held_300ms"]) for r in echoed]),
        "words_wer_no_echo": wer([(_words(r["voice"]), r["words_product"]) for r in heard if not r["echo"]]),
        "words_lookback_ms": BargeInConfig().lookback_ms,
        "words_engine": "local faster-whisper, Whisper base int8, beam 1",
    }


if __name__ == "__main__":
    main()
