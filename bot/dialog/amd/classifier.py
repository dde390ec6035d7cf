"""Human or machine, from what the callee said in the first seconds and Asterisk's AMD verdict.

Pure and fast: no I/O, a few hundred microseconds per greeting (one rapidfuzz pass over the
phrase lists of `phrases.py`, then a few regular expressions).

Policy (the costly error is hanging up on a person, so every doubt goes to "human"):

* Evidence is weighed in one unit. Machine side: voicemail / network / switchboard phrases
  (`MACHINE_CUES`, fuzzy so that recognition errors still match), a phone number read out (digits
  or French number words: decides alone, but "allô" overrules it), a recorded greeting's opening
  ("salut c'est tom", "bonjour vous êtes": supporting evidence only), a long greeting (many words
  over several seconds), Asterisk's MACHINE.
  Human side: `HUMAN_CUES` ("qui est à l'appareil", "je suis en voiture", "vous m'avez laissé un
  message"...), "allô", "oui"/"ouais" among the first words, a short greeting
  (at most 4 words in at most 2 s), Asterisk's HUMAN.
* "machine" needs the machine side to lead by MACHINE_THRESHOLD (1.0) AND at least one piece of
  evidence from the transcript itself. One strong phrase ("laissez un message", "après le bip",
  "répondeur", "n'est pas attribué", "tapez 1") decides alone and even beats Asterisk's HUMAN.
  A milder one ("je ne suis pas disponible", "vous êtes bien chez") needs a second idea, a long
  greeting or Asterisk's MACHINE, and a single human cue overrules it.
* Asterisk's MACHINE alone never decides when the transcript can be read: a greeting whose words
  were recognised and contain none of the phrases is, for us, a person who spoke at length (a
  person answering "je suis en voiture là, je peux pas vous parler" easily trips LONGGREETING or
  MAXWORDS). Length and MACHINE together weigh at most 0.85, below the threshold. The one case
  where MACHINE decides alone is speech the recogniser could not read: at most 2 words out of at
  least 2.5 s of speech (music, a foreign-language greeting, a bad line) and no human cue; a person
  who talks that long is understood.
* MACHINE/INITIALSILENCE is no evidence at all (see asterisk/amd.conf): a silent line is "human"
  and left to the scenario's silence handling. NOTSURE, HANGUP and an empty status are neutral.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from .phrases import FILLERS, HUMAN_CUES, MACHINE_CUES, NUMBER_WORDS, PICKUP_WORDS, CueGroup

MACHINE_THRESHOLD = 1.0
AMD_STATUSES = ("HUMAN", "MACHINE", "NOTSURE", "HANGUP")
# Asterisk's verdicts, as weights on the same scale as the phrases.
AMD_MACHINE_WEIGHT = 0.4  # MACHINE with LONGGREETING / MAXWORDS / MAXWORDLENGTH (or no cause)
AMD_HUMAN_WEIGHT = 0.3
# Structure of the greeting.
SHORT_GREETING_WORDS = 4
SHORT_GREETING_MS = 2000
SHORT_GREETING_WEIGHT = 0.5
LONG_GREETING = ((6000, 10, 0.45), (3500, 8, 0.3))  # (speech ms, words, weight), first that holds
UNREADABLE_MIN_MS = 2500  # MACHINE + this much speech + at most UNREADABLE_MAX_WORDS read -> machine
UNREADABLE_MAX_WORDS = 2
PHONE_NUMBER_WEIGHT = 1.2  # nobody picks up by reading a phone number out
OPENER_WEIGHT = 0.7
ALLO_WEIGHT = 0.6
PICKUP_WEIGHT = 0.4


@dataclass(frozen=True, slots=True)
class AmdEvidence:
    """What is known about the first seconds of an answered call."""

    transcript: str  # ASR output of the callee's greeting (lowercase, no punctuation, errors possible)
    speech_ms: int = 0  # duration of the greeting speech; 0 = unknown
    amd_status: str | None = None  # Asterisk AMDSTATUS: HUMAN, MACHINE, NOTSURE, HANGUP
    amd_cause: str | None = None  # AMDCAUSE, e.g. HUMAN-300-300, LONGGREETING-1500-1500, MAXWORDS-4-4


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    label: str  # "human" | "machine"
    reason: str  # short, human-readable: "voicemail phrase 'laissez un message'"
    confidence: float  # 0..1, in `label`

    @property
    def is_machine(self) -> bool:
        return self.label == "machine"

    def as_json(self) -> dict[str, str]:
        return {"label": self.label, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Cue:
    """One piece of evidence: which side, how much, and what was heard."""

    side: str  # "machine" | "human"
    source: str  # "transcript" | "structure" | "amd"
    kind: str  # "voicemail phrase", "human cue", "AMD"...
    weight: float
    label: str  # the phrase as written in the lists, or a description
    heard: str = ""  # the transcript words that matched


@dataclass(slots=True)
class Assessment:
    """Everything `classify` weighed, for the streaming layer, the logs and the tests."""

    evidence: AmdEvidence
    text: str  # normalised transcript
    words: int  # readable words (fillers left out)
    cues: list[Cue] = field(default_factory=list)

    def total(self, side: str, sources: tuple[str, ...] = ("transcript", "structure", "amd")) -> float:
        return sum(c.weight for c in self.cues if c.side == side and c.source in sources)

    @property
    def net(self) -> float:
        return self.total("machine") - self.total("human")

    @property
    def transcript_net(self) -> float:
        """The balance of what was said, without Asterisk and without the greeting's length."""
        return self.total("machine", ("transcript",)) - self.total("human", ("transcript", "structure"))

    def strongest(self, side: str, sources: tuple[str, ...] = ("transcript", "structure", "amd")) -> Cue | None:
        found = [c for c in self.cues if c.side == side and c.source in sources]
        return max(found, key=lambda c: c.weight) if found else None

    def has(self, side: str, source: str) -> bool:
        return any(c.side == side and c.source == source for c in self.cues)

    @property
    def short_greeting(self) -> bool:
        return any(c.label == "short greeting" for c in self.cues)


# --------------------------------------------------------------------------------------------
# normalisation

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_REPEATED_LETTER = re.compile(r"([a-z])\1{2,}")


def normalize(text: str) -> str:
    """Lowercase ASCII words separated by single spaces: accents, apostrophes, hyphens and
    punctuation gone ("Allô ? C'est qui ?" -> "allo c est qui"), stretched letters squeezed
    ("allooo" -> "allo"), digits kept ("06.12" -> "06 12")."""
    folded = _COMBINING.sub("", unicodedata.normalize("NFKD", text.lower().translate(_LIGATURES)))
    # any other character (’ « » … non-Latin letters) separates words
    return _REPEATED_LETTER.sub(r"\1", _NON_ALNUM.sub(" ", folded)).strip()


# --------------------------------------------------------------------------------------------
# phrase matching

_EXACT_MAX_LEN = 5  # phrases this short must appear as whole words
_FUZZY_CUTOFF = 80  # first pass (partial_ratio over the whole transcript)


def _min_ratio(length: int) -> float:
    """Word-aligned similarity (Indel ratio) a fuzzy phrase must reach: one inserted or deleted
    character (a split word: "message rie") plus one per 10 characters of phrase; a substituted
    letter costs two. A changed short word ("la douche" for "la touche", "suis" for "est") costs
    more and is rejected: the recogniser's errors are words that sound alike, so are real words."""
    allowed = 1 + length // 10
    return max(85.0, 100.0 * (1.0 - allowed / (2.0 * length - allowed)))


@dataclass(frozen=True, slots=True)
class _Entry:
    group: CueGroup
    side: str
    phrase: str  # as written


class _PhraseMatcher:
    def __init__(self, machine: tuple[CueGroup, ...], human: tuple[CueGroup, ...]) -> None:
        exact: dict[str, list[_Entry]] = {}
        fuzzy: dict[str, list[_Entry]] = {}
        for side, groups in (("machine", machine), ("human", human)):
            for group in groups:
                for phrase in group.phrases:
                    key = normalize(phrase)
                    if not key:
                        raise ValueError(f"empty phrase in cue group {group.name!r}")
                    table = fuzzy if group.fuzzy and len(key) > _EXACT_MAX_LEN else exact
                    table.setdefault(key, []).append(_Entry(group, side, phrase))
        self._exact = list(exact.items())
        self._fuzzy_keys = list(fuzzy)
        self._fuzzy_entries = [fuzzy[k] for k in self._fuzzy_keys]

    def find(self, text: str) -> list[Cue]:
        """The best match of every cue group found in `text` (normalised)."""
        if not text:
            return []
        padded = f" {text} "
        best: dict[str, tuple[float, int, Cue]] = {}

        def keep(entry: _Entry, score: float, key: str, heard: str) -> None:
            group = entry.group
            rank = (score, len(key))
            if group.name in best and best[group.name][:2] >= rank:
                return
            cue = Cue(entry.side, "transcript", group.kind, group.weight, entry.phrase, heard)
            best[group.name] = (*rank, cue)

        for key, entries in self._exact:
            if f" {key} " in padded:
                for entry in entries:
                    keep(entry, 100.0, key, key)
        hits = process.extract(
            text, self._fuzzy_keys, scorer=fuzz.partial_ratio, score_cutoff=_FUZZY_CUTOFF, limit=None
        )
        windows = _Windows(text)
        for key, _, index in hits:
            if f" {key} " in padded:
                score, heard = 100.0, key
            else:
                score, heard = windows.best(key)
                if score < _min_ratio(len(key)):
                    continue
            for entry in self._fuzzy_entries[index]:
                keep(entry, score, key, heard)
        return [cue for _, _, cue in best.values()]


class _Windows:
    """Runs of whole words of a transcript, to score a phrase against the words it may have
    been heard as: same number of words, or one more / one fewer (a word split or merged by the
    recogniser, "messagerie" -> "message rie"). Never half a word: "la touche" must not be found
    in "la douche" nor "bip" in "bipolaire"."""

    def __init__(self, text: str) -> None:
        self._tokens = text.split()
        self._by_size: dict[int, list[str]] = {}

    def _of_size(self, size: int) -> list[str]:
        if size not in self._by_size:
            t = self._tokens
            self._by_size[size] = [" ".join(t[i : i + size]) for i in range(len(t) - size + 1)]
        return self._by_size[size]

    def best(self, key: str) -> tuple[float, str]:
        words = key.count(" ") + 1
        best: tuple[float, str] = (0.0, "")
        for size in (words, words + 1, words - 1):
            if size < 1:
                continue
            found = process.extractOne(key, self._of_size(size), scorer=fuzz.ratio, score_cutoff=best[0] or None)
            if found and found[1] > best[0]:
                best = (found[1], found[0])
        return best


_MATCHER = _PhraseMatcher(MACHINE_CUES, HUMAN_CUES)

# --------------------------------------------------------------------------------------------
# structural cues

_ALLO = re.compile(r"^h?al+o+$")
# A recorded personal greeting opens with a salutation and who you reached ("salut c'est tom",
# "bonjour vous êtes..."); a person picking up an unknown number opens with "allô" / "oui".
_OPENER = re.compile(
    r"^(?:(?:bonjour|bonsoir|salut|coucou|hello|hey|hi)\s+)+(?:et\s+)?"
    r"(?:c\s+est|ici|vous\s+etes|tu\s+es|t\s+es)\b(?!\s+(?:qui|quoi|ou|pour)\b)"  # not "salut c'est qui ?"
)


def _phone_number(tokens: list[str]) -> str | None:
    """The longest run of tokens that reads like a phone number, if any: at least 8 digits
    ("06 12 34 56 78", "0612345678"), a run opening with zero ("zéro six douze"), or five or
    more number words in a row."""
    found: str | None = None
    run: list[str] = []
    for token in [*tokens, ""]:
        if token.isdigit() or token in NUMBER_WORDS or (token == "et" and run):
            run.append(token)
            continue
        while run and run[-1] == "et":
            run.pop()
        if run:
            count = sum(1 for t in run if t != "et")
            digits = sum(len(t) for t in run if t.isdigit())
            zero_first = run[0] == "zero" or (run[0].isdigit() and run[0].startswith("0"))
            if (digits >= 8 or (zero_first and (count >= 3 or digits >= 4)) or count >= 5) and (
                found is None or len(run) > len(found.split())
            ):
                found = " ".join(run)
        run = []
    return found


def _amd_parts(evidence: AmdEvidence) -> tuple[str, str, str]:
    status = (evidence.amd_status or "").strip().upper()
    cause = (evidence.amd_cause or "").strip().upper()
    return status, cause, cause.split("-", 1)[0]


def assess(evidence: AmdEvidence) -> Assessment:
    """Collect every cue of `evidence` (see the module's policy); `classify` decides from it."""
    text = normalize(evidence.transcript)
    tokens = text.split()
    readable = [t for t in tokens if t not in FILLERS]
    result = Assessment(evidence, text, len(readable))
    cues = result.cues
    cues.extend(_MATCHER.find(text))

    number = _phone_number(tokens)
    if number:
        cues.append(Cue("machine", "transcript", "phone number read out", PHONE_NUMBER_WEIGHT, "phone number", number))
    allo = next((t for t in tokens if _ALLO.match(t)), None) or ("a l eau" if " a l eau " in f" {text} " else None)
    if allo:
        cues.append(Cue("human", "transcript", "human cue", ALLO_WEIGHT, "allô", allo))
    pickup = next((t for t in readable[:3] if t in PICKUP_WORDS), None)
    if pickup:
        cues.append(Cue("human", "transcript", "human cue", PICKUP_WEIGHT, pickup, pickup))
    opener = _OPENER.match(text)
    if opener:
        cues.append(Cue("machine", "transcript", "voicemail opener", OPENER_WEIGHT, opener.group(0), opener.group(0)))

    speech_ms = max(0, int(evidence.speech_ms or 0))
    if readable and len(readable) <= SHORT_GREETING_WORDS and speech_ms <= SHORT_GREETING_MS:
        cues.append(Cue("human", "structure", "greeting", SHORT_GREETING_WEIGHT, "short greeting"))
    for min_ms, min_words, weight in LONG_GREETING:
        if speech_ms >= min_ms and len(readable) >= min_words:
            cues.append(Cue("machine", "structure", "greeting", weight, f"long greeting ({speech_ms} ms)"))
            break

    status, cause, prefix = _amd_parts(evidence)
    if status == "MACHINE" and prefix != "INITIALSILENCE":
        cues.append(Cue("machine", "amd", "AMD", AMD_MACHINE_WEIGHT, f"AMD MACHINE/{cause or '?'}"))
    elif status == "HUMAN":
        cues.append(Cue("human", "amd", "AMD", AMD_HUMAN_WEIGHT, f"AMD HUMAN/{cause or '?'}"))
    return result


# --------------------------------------------------------------------------------------------
# the verdict


def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _describe(cue: Cue) -> str:
    if cue.kind == "phone number read out":
        return f"phone number read out '{_quote(cue.heard)}'"
    return f"{cue.kind} '{cue.label}'"


def _unreadable_machine(assessment: Assessment) -> bool:
    status, _, prefix = _amd_parts(assessment.evidence)
    return (
        status == "MACHINE"
        and prefix != "INITIALSILENCE"
        and assessment.words <= UNREADABLE_MAX_WORDS
        and assessment.evidence.speech_ms >= UNREADABLE_MIN_MS
        and not assessment.has("human", "transcript")
    )


def decide(assessment: Assessment) -> AmdVerdict:
    """The verdict for an `Assessment` (see the module's policy)."""
    a = assessment
    ev = a.evidence
    net = a.net
    top_machine = a.strongest("machine", ("transcript",))
    if top_machine is not None and net >= MACHINE_THRESHOLD:
        others = sum(1 for c in a.cues if c.side == "machine" and c.source == "transcript") - 1
        reason = _describe(top_machine) + (f" (+{others} more)" if others > 0 else "")
        if ev.amd_status and ev.amd_status.strip().upper() == "HUMAN":
            reason += ", AMD HUMAN overruled"
        return AmdVerdict("machine", reason, round(min(0.99, 0.55 + 0.2 * net), 2))
    if _unreadable_machine(a):
        _, cause, _ = _amd_parts(ev)
        words = "no words" if a.words == 0 else f"only {a.words} word{'s' if a.words > 1 else ''}"
        reason = f"AMD MACHINE/{cause or '?'}, {ev.speech_ms} ms of speech, {words} recognised"
        return AmdVerdict("machine", reason, 0.6)

    confidence = round(min(0.99, 0.55 + 0.3 * (MACHINE_THRESHOLD - net)), 2)
    status, cause, prefix = _amd_parts(ev)
    overruled = f", AMD MACHINE/{cause or '?'} overruled" if status == "MACHINE" and prefix != "INITIALSILENCE" else ""
    if a.words == 0:
        if status == "MACHINE" and prefix == "INITIALSILENCE":
            return AmdVerdict("human", "silent line (AMD INITIALSILENCE is no evidence)", confidence)
        if ev.speech_ms > 0:
            return AmdVerdict("human", f"no words recognised ({ev.speech_ms} ms of speech){overruled}", confidence)
        return AmdVerdict("human", "no speech", confidence)
    top_human = a.strongest("human", ("transcript",))
    if top_machine is not None:
        against = _describe(top_human) if top_human else ("short greeting" if a.short_greeting else "weak evidence")
        return AmdVerdict("human", f"{_describe(top_machine)} outweighed by {against}{overruled}", confidence)
    if a.short_greeting:
        ms = f" ({ev.speech_ms} ms)" if ev.speech_ms > 0 else ""
        return AmdVerdict("human", f"short greeting '{_quote(ev.transcript)}'{ms}{overruled}", confidence)
    if top_human is not None:
        return AmdVerdict("human", f"{_describe(top_human)}{overruled}", confidence)
    return AmdVerdict("human", f"no voicemail phrase in '{_quote(ev.transcript)}'{overruled}", confidence)


def classify(evidence: AmdEvidence) -> AmdVerdict:
    """Human or machine for one greeting; leans to "human" when unsure. Pure, no I/O."""
    return decide(assess(evidence))
