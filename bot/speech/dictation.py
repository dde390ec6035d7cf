"""What a caller has dictated so far: the digits of a number said group by group, in words or in
digits, and whether it is whole.

A French phone number is dictated in pairs ("zéro six, douze, trente-quatre, cinquante-six,
soixante-dix-huit"), a postcode as "soixante-neuf, zéro zéro trois". Between groups the caller
pauses, so a dictation step holds the turn open (`bot.speech.turn.judge`); once the number has
all its digits there is nothing left to wait for, and the bot answers as promptly as after any
complete sentence.
"""

from __future__ import annotations

import re

_VALUES = {"zéro": 0, "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
           "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
           "quinze": 15, "seize": 16, "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50,
           "soixante": 60}
# A word, hyphenated compounds whole ("soixante-dix-huit"), or a run of digits.
_WORD = re.compile(r"\d+|[^\W\d_]+(?:-[^\W\d_]+)*")

# Digits a whole number has: a French number (0X XX XX XX XX), a postcode.
WHOLE = {"phone": 10, "postcode": 5}


def _value(word: str) -> int | None:
    """A number said as one word or one hyphenated compound (below 100), else None."""
    parts = word.split("-")
    if any(p not in _VALUES for p in parts):
        return None
    total = 0
    for p in parts:
        v = _VALUES[p]
        total = 80 if total == 4 and v == 20 else total + v  # quatre-vingt(s)
    return total


def dictated_digits(text: str) -> str:
    """The digits said, in order: "zéro six, douze, trente-quatre" → "061234", "06 12 34" →
    "061234", "soixante-dix-huit" → "78", "vingt et un" → "21". Words that are not numbers
    ("c'est le", "voilà") are skipped, and "un"/"une" between two such words is an article.
    Numbers are read as written: a recogniser hyphenates compounds, so "quatre vingt-deux" is
    4 then 22, "quatre-vingt-deux" is 82."""
    words = _WORD.findall(text.lower().replace("’", "'"))
    values = [int(w) if w.isdigit() else _value(w) for w in words]
    groups: list[str] = []
    for i, (word, value) in enumerate(zip(words, values, strict=True)):
        if value is None:
            continue
        if word in ("un", "une"):
            before = values[i - 1] if i else None
            after = values[i + 1] if i + 1 < len(values) else None
            if before is None and after is None and i + 1 < len(values):
                continue  # "c'est un portable": an article
            if i >= 2 and words[i - 1] == "et" and groups and not words[i - 2].isdigit() \
                    and int(groups[-1]) % 10 == 0 and int(groups[-1]) >= 20:
                groups[-1] = str(int(groups[-1]) + 1)  # "vingt et un"
                continue
        if word == "onze" and i >= 2 and words[i - 1] == "et" and groups and groups[-1] == "60":
            groups[-1] = "71"  # "soixante et onze"
            continue
        groups.append(word if word.isdigit() else str(value))
    return "".join(groups)


def is_whole(kind: str | None, text: str) -> bool:
    """The dictated number has all its digits (a phone number's ten, a postcode's five)."""
    need = WHOLE.get(kind or "")
    return need is not None and len(dictated_digits(text)) >= need
