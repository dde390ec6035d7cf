"""French normalisation for what a phone recogniser writes.

ASR output is lowercase without punctuation, and spoken French drops the "ne", elides ("j'ai",
"j ai", "jai"), and says "ouais", "chuis", "euh". Normalising all of it to one plain form lets a
rule or a fuzzy match written once cover every spelling a caller's words come out in.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Hesitations and discourse fillers: they carry no intent.
FILLERS = frozenset(["euh", "euhh", "heu", "heuu", "hum", "humm", "hmm", "mmh", "mh", "ben", "bah", "beh", "bé", "pff", "pfff", "hein", "ah", "oh", "eh", "ha", "bref", "voila"])

# Spoken and misrecognised spellings → one written form (after accents are stripped).
SPOKEN = {
    "ouais": "oui",
    "ouai": "oui",
    "ouaip": "oui",
    "ouep": "oui",
    "ouaiss": "oui",
    "wesh": "oui",
    "yes": "oui",
    "ok": "ok",
    "okay": "ok",
    "okey": "ok",
    "dac": "daccord",
    "dacc": "daccord",
    "nan": "non",
    "nope": "non",
    "chuis": "je suis",
    "chui": "je suis",
    "jsuis": "je suis",
    "suis": "suis",
    "jsais": "je sais",
    "chais": "je sais",
    "sais": "sais",
    "jveux": "je veux",
    "jpeux": "je peux",
    "jai": "je ai",
    "jlai": "je le ai",
    "jlui": "je lui",
    "jamais": "jamais",
    "sa": "ca",
    "ça": "ca",
    "cest": "ce est",
    "sest": "ce est",
    "ya": "il y a",
    "yen": "il y en",
    "tain": "",
    "putain": "",
    "allo": "allo",
    "alo": "allo",
    "allor": "allo",
    "mr": "monsieur",
    "mme": "madame",
    "svp": "sil vous plait",
    "stp": "sil vous plait",
    "rdv": "rendez vous",
    "tel": "telephone",
    "infos": "informations",
    "info": "information",
    "mail": "email",
    "mel": "email",
    "e": "e",
    "ptet": "peut etre",
    "p'tet": "peut etre",
    "pt": "peut",
    "faut": "il faut",
    "vla": "voila",
}

# Elided words, kept whole so "j'ai", "j ai" and "je ai" meet.
ELISIONS = {
    "j": "je",
    "l": "le",
    "d": "de",
    "m": "me",
    "t": "te",
    "s": "se",
    "c": "ce",
    "qu": "que",
    "jusqu": "jusque",
    "lorsqu": "lorsque",
    "puisqu": "puisque",
    "quoiqu": "quoique",
}

# The negative "ne" is mostly dropped when French is spoken; dropping it everywhere makes
# "je n'ai pas le temps" and "j'ai pas le temps" the same sentence.
DROP = frozenset({"ne", "n"})

_NON_WORD = re.compile(r"[^a-z0-9]+")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """One canonical, accent-free, filler-free form of a French utterance."""
    text = strip_accents(text.lower()).replace("œ", "oe").replace("æ", "ae")
    text = text.replace("’", "'").replace("`", "'")
    words: list[str] = []
    for token in _NON_WORD.split(text.replace("'", " ")):
        if not token or token in FILLERS or token in DROP:
            continue
        token = SPOKEN.get(token, token)
        token = ELISIONS.get(token, token)
        if token:
            words.extend(token.split())
    return " ".join(words)


def words(text: str) -> list[str]:
    return normalize(text).split()
