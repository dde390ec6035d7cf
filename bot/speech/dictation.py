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

from text_to_num import alpha2digit

# Digits a whole number has: a French number (0X XX XX XX XX), a postcode.
WHOLE = {"phone": 10, "postcode": 5}
_DIGIT = re.compile(r"\d")
MONTHS = frozenset(("janvier", "février", "fevrier", "mars", "avril", "mai", "juin", "juillet", "août", "aout",
                    "septembre", "octobre", "novembre", "décembre", "decembre"))
# A date whole: a day, its month, a year ("le douze mars mille neuf cent quatre-vingt-cinq").
_WHOLE_DATE = re.compile(r"\b(\d{1,2}|premier|1er)\s+(" + "|".join(sorted(MONTHS)) + r")\s+\d{4}\b"
                         r"|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\b")


def dictated_digits(text: str) -> str:
    """The digits said, in order: "zéro six, douze, trente-quatre" → "061234", "06 12 34" →
    "061234", "soixante-dix-huit" → "78", "vingt et un" → "21". Spoken French numbers are read
    by text2num (made for French call transcripts: "un" before a noun stays an article), then
    every digit is kept. Numbers are read as written: a recogniser hyphenates compounds, so
    "quatre vingt-deux" is 4 then 22, "quatre-vingt-deux" is 82."""
    return "".join(_DIGIT.findall(alpha2digit(text, "fr")))


def is_whole(kind: str | None, text: str) -> bool:
    """The dictated number has all its digits (a phone number's ten, a postcode's five), or the
    date its day, month and year."""
    if kind == "date":
        return bool(_WHOLE_DATE.search(alpha2digit(text.lower(), "fr")))
    need = WHOLE.get(kind or "")
    return need is not None and len(dictated_digits(text)) >= need
