"""Has the caller finished their turn? Smart Turn v3.2, locally, from their audio.

Smart Turn v3.2 (pipecat-ai, BSD-2) is a Whisper-tiny encoder with a classifier head, 8 MB of
int8 ONNX on the CPU: from the last 8 s of a speaker's audio at 16 kHz it gives the probability
that they are done (prosody, the shape of the last words), trained on 23 languages, French
included. Fed 8 kHz it degrades without a warning, so audio is always brought to 16 kHz here.

Published French figures (LiveKit's eot-bench, French split): at 5% premature cut-offs a
silence-only end of turn needs 1,000 ms of silence, Smart Turn v3.2 873 ms. On its own it is
no faster; MiniBot combines it with the VAD's silence and the recogniser's words
(`TurnPolicy`): a complete turn ends after a short silence, an incomplete one (a pause inside
a sentence, a number being dictated, a trailing "et", "euh") is held longer, with a bound.

The model file and its numpy-only Whisper feature code come from the `pipecat-ai` wheel. Its
package imports loguru and a long list of dependencies MiniBot does not use (numba, openai,
...), so it is installed with ``--no-deps`` and only those two files are read from it: the
feature module is loaded from its file, the package itself is never imported.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
from pydantic import BaseModel, Field

from .dictation import MONTHS, is_whole
from .pcm import resample, to_float

MODEL_RATE = 16000
MODEL_SECONDS = 8
_SMART_TURN = Path("audio/turn/smart_turn")


class SmartTurnUnavailable(RuntimeError):
    """The pipecat-ai wheel (the model's home) is not installed."""


def _pipecat_dir() -> Path:
    spec = importlib.util.find_spec("pipecat")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise SmartTurnUnavailable(
            "Smart Turn needs the model shipped in the pipecat-ai wheel: pip install --no-deps 'pipecat-ai>=1.14'")
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def _features() -> ModuleType:
    path = _pipecat_dir() / _SMART_TURN / "_whisper_features.py"
    spec = importlib.util.spec_from_file_location("minibot_smart_turn_features", path)
    if spec is None or spec.loader is None:
        raise SmartTurnUnavailable(f"no Smart Turn feature code at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_path() -> Path:
    path = _pipecat_dir() / _SMART_TURN / "data" / "smart-turn-v3.2-cpu.onnx"
    if not path.is_file():
        raise SmartTurnUnavailable(f"the pipecat-ai wheel has no {path.name} (version 1.14 or later ships it)")
    return path


class SmartTurn:
    """P(the speaker has finished) for the audio of their turn so far. Thread-safe. One encoder
    pass over 8 s of audio whatever the turn's length: 160-330 ms measured on the project's
    shared, loaded 2-core machine (one thread), so it runs in an executor, never on the loop."""

    def __init__(self, path: Path | None = None, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(path or model_path()), sess_options=options)
        self._log_mel = _features().compute_whisper_log_mel_features
        self._lock = threading.Lock()

    def probability(self, pcm: bytes, sample_rate: int) -> float:
        """``pcm``: 16-bit mono audio of the turn (its last 8 s count), at any rate."""
        if sample_rate != MODEL_RATE:
            pcm = resample(pcm, sample_rate, MODEL_RATE)
        x = to_float(pcm)[-MODEL_SECONDS * MODEL_RATE:]
        x = np.pad(x, (MODEL_SECONDS * MODEL_RATE - len(x), 0))  # the model reads 8 s, padded at the front
        features = self._log_mel(x, do_normalize=True)[None, ...].astype(np.float32)
        with self._lock:
            out = self._session.run(None, {"input_features": features})
        return float(np.asarray(out[0]).reshape(-1)[0])


@cache
def shared_model() -> SmartTurn:
    """One session per process: calls share it (the ONNX runtime is thread-safe; we lock anyway)."""
    return SmartTurn()


# -- the decision ---------------------------------------------------------------------------------


class TurnConfig(BaseModel, frozen=True):
    enabled: bool = Field(False, description="semantic end of turn (Smart Turn v3.2); off: silence only")
    check_after_ms: int = Field(200, ge=60, description="silence before the model is asked")
    complete_threshold: float = Field(0.5, gt=0, lt=1, description="P(complete) at or above: the turn is over")
    complete_end_ms: int = Field(150, ge=60, description="silence that ends a turn judged complete")
    incomplete_end_ms: int = Field(1400, ge=200, description="silence that ends a turn judged incomplete")
    dictation_end_ms: int = Field(2000, ge=200, description="the same while the caller dictates digits")
    words: bool = Field(True, description="a streaming recogniser's words end the turn, model or not: held on an "
                                          "open ending or a bare 'oui', short once a sentence is closed")
    words_end_ms: int = Field(450, ge=100, description="silence that ends a turn whose words close a sentence")
    closed_end_ms: int = Field(1000, ge=100, description="silence that ends a turn of only a short answer "
                                                         "('oui', 'non merci', 'd'accord'): a 'mais' often follows")


# Words after which a French sentence cannot be over: a conjunction, a preposition, an article,
# a hesitation. A recogniser's partial that ends with one means the caller is mid-sentence,
# whatever the prosody says.
_OPEN_ENDINGS = frozenset((
    "et", "ou", "mais", "donc", "car", "parce", "que", "qu", "puis", "alors", "ensuite", "euh", "heu", "hum",
    "bah", "ben", "enfin", "genre", "de", "du", "des", "le", "la", "les", "l", "au", "aux", "à", "pour",
    "par", "avec", "sans", "sur", "sous", "dans", "chez", "vers", "mon", "ma", "mes", "ton", "ta", "tes",
    "son", "sa", "ses", "notre", "votre", "leur", "nos", "vos", "ce", "cet", "cette", "ces", "je", "j", "tu",
    "me", "m", "te", "t", "se", "s", "qui", "dont",
))
_WORD = re.compile(r"[\w']+", re.UNICODE)
_DIGITS = re.compile(r"\d|\b(zéro|un|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|"
                     r"quinze|seize|vingt|trente|quarante|cinquante|soixante|cent|mille)\b")


_SPELLING = frozenset(("point", "arobase", "tiret", "underscore", "slash", "et"))  # an address being spelt

# A subject and a finite auxiliary, modal or copula with nothing after it: "je suis", "on a déjà",
# "je voudrais", "il faudrait". No French clause ends there ("je peux pas" ends on its negation).
_SUBJECTS = frozenset(("je", "j", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles", "ça", "cela"))
_AUXILIARIES = frozenset((
    "suis", "es", "est", "sommes", "êtes", "sont", "étais", "était", "ai", "as", "a", "avons", "avez", "ont",
    "avais", "avait", "vais", "vas", "va", "allons", "allez", "vont", "voudrais", "voudrait", "voulais", "veux",
    "veut", "voulons", "voulez", "peux", "peut", "pouvons", "pouvez", "pourrais", "pourrait", "dois", "doit",
    "devons", "devez", "devrais", "devrait", "faut", "faudrait",
))
_COPULAS = frozenset(("est", "sont", "était", "étaient", "sera", "seront", "serait"))
_CARRY_ON = frozenset(("déjà", "toujours", "encore", "aussi", "vraiment", "justement", "surtout"))



def open_ending(text: str, extra: frozenset[str] = frozenset()) -> bool:
    """The words so far stop where a sentence cannot ("je voudrais un", "c'est pour euh")."""
    words = _WORD.findall(text.lower().replace("'", "' "))
    if not words:
        return False
    last = words[-1].rstrip("'")
    if words[-2:] == ["c'", "est"]:  # "c'est ..." announces what comes, "qu'est-ce que c'est" asks
        return len(words) < 3 or words[-3].rstrip("'") not in ("que", "qu")
    bare = [w.rstrip("'") for w in words if w.rstrip("'") not in _CARRY_ON]
    if len(bare) >= 2 and bare[-1] in _AUXILIARIES and bare[-2] in _SUBJECTS:
        return True
    if len(bare) >= 2 and bare[-1] in _COPULAS:  # "ma femme est", "le prix sera": what it is comes next
        return True
    if last == "si" and len(words) > 1:  # "je me demandais si": a conjunction ("si" alone answers a negative question)
        return True
    return last in _OPEN_ENDINGS or last in extra


def ends_with_digits(text: str, *, months: bool = False) -> bool:
    """The caller's last words are digits (a number being dictated, group by group); with
    ``months``, a month's name too (a date: "le douze mars", and the year may follow)."""
    words = _WORD.findall(text.lower())
    return bool(words) and (bool(_DIGITS.search(words[-1])) or (months and words[-1] in MONTHS))


# Only these, however many: a short answer or an acknowledgement ("Oui.", "Non merci.", "D'accord,
# bien sûr."). Complete as said, but it is also how "Oui, | mais je voudrais d'abord..." begins,
# so a turn of nothing else is given a longer silence than a closed sentence.
_CLOSED_ANSWER = frozenset((
    "oui", "ouais", "non", "si", "merci", "d'accord", "daccord", "ok", "okay", "bien", "sûr", "très", "pourquoi",
    "pas", "entendu", "exactement", "tout", "à", "fait", "voilà", "ah", "oh", "bon", "peut-être", "peut", "être",
))


def _answer_words(text: str) -> list[str]:
    """Lower-case words, apostrophes and hyphens kept ("d'accord", "peut-être")."""
    return re.sub(r"[^\w'-]+", " ", text.lower().replace("’", "'")).split()


def closed_answer(text: str) -> bool:
    """The words are only a short answer or an acknowledgement: "oui", "non merci", "d'accord"."""
    words = _answer_words(text)
    return bool(words) and all(w in _CLOSED_ANSWER for w in words)


# What a French speaker says to open a turn, not to make it: "écoutez", "vous savez", "franchement",
# "attendez". A turn of nothing else (with a "bon", a "oui" at most) announces what comes: "Bon,
# écoutez, | je n'ai vraiment pas le temps." No sentence is closed by them alone.
_PREFACES = frozenset((
    "écoutez", "écoute", "écoutez-moi", "attendez", "attends", "regardez", "regarde", "voyez-vous",
    "honnêtement", "franchement", "sincèrement", "personnellement", "disons", "bref", "sinon", "justement",
    "vous savez", "tu sais", "vous voyez", "tu vois", "en fait", "à vrai dire", "de toute façon",
    "en tout cas", "eh bien", "du coup", "par contre", "en gros", "pour être honnête", "je veux dire",
    "vous comprenez", "comment dire", "d'abord", "déjà", "bon alors", "alors là",
))
_FILLERS = frozenset(("euh", "heu", "hum", "ben", "bah", "alors", "eh", "hein"))
_PREFACE_WORDS = max(len(p.split()) for p in _PREFACES)


def preface_only(text: str) -> bool:
    """The words only open a turn, and end on what opens it: "Vous savez,", "Bon, écoutez,",
    "Oui, attendez" ("Écoutez, non merci" is an answer)."""
    words = _answer_words(text)
    last_was_preface, i = False, 0
    while i < len(words):
        for n in range(min(_PREFACE_WORDS, len(words) - i), 0, -1):
            if " ".join(words[i:i + n]) in _PREFACES:
                last_was_preface, i = True, i + n
                break
        else:
            if words[i] in _FILLERS:  # "Ben, écoutez": a filler before it changes nothing
                i += 1
                continue
            if words[i] not in _CLOSED_ANSWER:
                return False
            last_was_preface, i = False, i + 1
    return last_was_preface


@dataclass(frozen=True, slots=True)
class TurnJudgement:
    end_after_ms: int  # silence that ends this turn, from its last voiced audio
    complete: bool
    probability: float | None
    why: str


def judge(config: TurnConfig, probability: float | None, words: str, *,
          dictation: str | None = None) -> TurnJudgement | None:
    """How long a silence ends the turn, from the model's probability (None: no model, or it
    failed) and a streaming recogniser's words so far ("": none yet, or a batch recogniser).
    ``dictation``: what the step asks the caller to dictate (phone, postcode, email, date).
    None when there is nothing to judge on: the listener's fixed end of speech decides.

    Where there are words they decide, and the model is not heard: on `bench.turns`' French
    turns (pauses inside sentences, telephone band) Smart Turn judged most short complete
    answers unfinished ("Vous êtes un robot ?" at 0.01) and some mid-sentence pauses finished,
    and letting it overrule the words cut more callers off on turns the rules were not written
    on (24% against 14%). Without words (a batch recogniser) the model alone decides."""
    if dictation and is_whole(dictation, words):
        # Every digit of the number is there: nothing is left to wait for.
        return TurnJudgement(config.complete_end_ms, True, probability, "number whole")
    if dictation and (not _DIGITS.search(words.lower()) or ends_with_digits(words, months=dictation == "date")
                      or open_ending(words, _SPELLING)):
        # Asked to dictate: until digits have come, and while they or an address's parts still come.
        return TurnJudgement(config.dictation_end_ms, False, probability, "dictation")
    if words.strip() and open_ending(words):
        return TurnJudgement(config.incomplete_end_ms, False, probability, "open ending")
    if words.strip() and preface_only(words):
        return TurnJudgement(config.incomplete_end_ms, False, probability, "preface")
    if config.words and words.strip():
        if closed_answer(words):
            return TurnJudgement(config.closed_end_ms, False, probability, "short answer")
        return TurnJudgement(config.words_end_ms, True, probability, "sentence closed")
    if probability is None:
        return None
    if probability >= config.complete_threshold:
        return TurnJudgement(config.complete_end_ms, True, probability, "complete")
    return TurnJudgement(config.incomplete_end_ms, False, probability, "incomplete")


# -- backchannels ---------------------------------------------------------------------------------

# What a listener says to show they follow, not to take the turn ("oui", "mm", "d'accord", "je
# vois"), and the fillers of a start they gave up ("euh"). Said over the bot, none of these is an
# interruption. "non" is not here: it disagrees.
_BACKCHANNEL_WORDS = frozenset((
    "oui", "ouais", "ouai", "mm", "mmh", "mmm", "hm", "hmm", "hum", "mhm", "mh", "d'accord", "daccord", "ok",
    "okay", "hein", "ah", "oh", "bien", "très", "voilà", "entendu", "exact", "exactement", "euh", "heu", "bon",
    "je", "vois", "c'est", "ça", "sûr", "bah", "ben", "merci", "effectivement", "absolument", "parfait", "super",
))
_BACKCHANNEL_PHRASES = frozenset((
    "je vois", "c'est ça", "bien sûr", "très bien", "ah oui", "oui oui", "ok d'accord", "tout à fait", "en effet",
    "ah bon", "c'est vrai", "d'acc",
    # Whisper's hearing of "je vois" on a phone line; nobody says "I see you" to a voice on the phone.
    "je vous vois",
))
_PUNCT = re.compile(r"[^\w' -]+", re.UNICODE)


def is_backchannel(text: str) -> bool:
    """Only acknowledgements or fillers, at most four words ("Oui.", "Mm-hmm.", "D'accord, je
    vois."): the caller follows and lets the bot go on. Empty text (noise, a cough) counts too."""
    clean = _PUNCT.sub(" ", text.lower().replace("’", "'")).replace("-", " ")
    words = clean.split()
    if len(words) > 4:
        return False
    joined = f" {' '.join(words)} "
    for phrase in sorted(_BACKCHANNEL_PHRASES, key=len, reverse=True):  # whole words: "d'acc" is not in "d'accord"
        while f" {phrase} " in joined:
            joined = joined.replace(f" {phrase} ", " ")
    rest = joined.split()
    # "je", "c'est", "ça", "sûr" only inside a known phrase: "je veux" is not a backchannel.
    lone = {"je", "vois", "c'est", "ça", "sûr", "très"}
    return all(w in _BACKCHANNEL_WORDS and w not in lone for w in rest)
