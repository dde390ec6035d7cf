"""Times and days as a phone recogniser mishears them, put back before a time is read.

Seen in recogniser output (and in the issue that asked for this): "dix-huit heures" written
"des 8 heures", "dis huit heures", "dix huit heure"; "demain" as "de main"; "mercredi" as "mer
credi"; "heures" as "eure(s)"; "quatorze heure trente" without its s. Each repair is a whole-word
pattern on the lowercase text; a word that is right stays as it is ("dès 8 heures", accented,
is a real "from 8 o'clock" and is not touched).
"""

from __future__ import annotations

import re

_TEENS = {"sept": "dix-sept", "7": "dix-sept", "huit": "dix-huit", "8": "dix-huit", "neuf": "dix-neuf", "9": "dix-neuf"}
_REPAIRS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:de main|deux mains?|demin|d main)\b"), "demain"),
    (re.compile(r"\bapr[eè]s de main\b"), "après-demain"),
    (re.compile(r"\bmer credi\b"), "mercredi"),
    (re.compile(r"\bvendre di\b"), "vendredi"),
    (re.compile(r"\bsa medi\b"), "samedi"),
    (re.compile(r"(?<!demi )(?<!demi-)(?<!demie )(?<!quart d')(?<!quart d )(?<!une )\b(?:eure|eures|heure)\b"),
     "heures"),
    (re.compile(r"\bmidi et demie?\b"), "midi et demi"),
    (re.compile(r"\b(\d{1,2}) ?hr?s?\b"), r"\1 heures"),
]
# "dix-huit" misheard: "des/dis/di/dit 8", "dix huit", "dixhuit": only before an hour word.
_TEEN = re.compile(
    r"\b(?:des|dis|di|dit|dies|dix)[ -]?(sept|huit|neuf|7|8|9)(?= heures?\b| h\b| eures?\b| trente\b| et demie?\b)"
)


def repair_time_words(text: str) -> str:
    """`text` with the recognition errors above undone (lowercased)."""
    text = text.lower()
    for pattern, replacement in _REPAIRS:
        text = pattern.sub(replacement, text)
    return _TEEN.sub(lambda m: _TEENS[m.group(1)], text)
