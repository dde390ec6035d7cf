"""Numbers in French text, digits or words, so a free answer can be checked against the fact sheet."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_WORD_VALUES = {
    "zéro": 0, "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
    "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14,
    "quinze": 15, "seize": 16, "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50,
    "soixante": 60,
}
_SCALES = {"mille": 10**3, "million": 10**6, "millions": 10**6, "milliard": 10**9, "milliards": 10**9}
_WORD = "|".join(sorted([*_WORD_VALUES, "cent", "cents", *_SCALES], key=len, reverse=True))
_WORDS = rf"\b(?:{_WORD})\b(?:[\s-]+(?:et[\s-]+)?(?:{_WORD})\b)*"
# "1 200,50", "1.200", "12,5", "2024": thousands grouped by a space, a no-break space or a dot.
_DIGITS = re.compile(r"\d+(?:[ \u00a0\u202f.]\d{3}(?!\d))*(?:[,.]\d+)?")
_AMOUNT_IN_WORDS = re.compile(rf"({_WORDS})\s*(?:euros?\b|€|pour\s?cents?\b|%)", re.IGNORECASE)
_ANY_WORDS = re.compile(_WORDS, re.IGNORECASE)


def stated_numbers(text: str) -> set[str]:
    """What a sentence claims: every number in digits, and amounts in words ("cinquante euros",
    "vingt pour cent"). Bare number words ("en deux minutes") are ordinary speech, not claims."""
    return {*_digit_numbers(text), *(_words_value(m.group(1)) for m in _AMOUNT_IN_WORDS.finditer(text))}


def known_numbers(text: str) -> set[str]:
    """What a fact sheet allows: every number, in digits or in words, whatever follows it."""
    return {*_digit_numbers(text), *(_words_value(m.group(0)) for m in _ANY_WORDS.finditer(text))}


def _digit_numbers(text: str) -> list[str]:
    found = []
    for match in _DIGITS.finditer(text):
        raw = re.sub(r"[ \u00a0\u202f]", "", match.group(0))
        if "," in raw:  # French decimal comma: any dot groups thousands
            raw = raw.replace(".", "").replace(",", ".")
        elif re.fullmatch(r"\d+(?:\.\d{3})+", raw):  # 1.200 is twelve hundred
            raw = raw.replace(".", "")
        found.append(_canonical(raw))
    return found


def _words_value(words: str) -> str:
    total = current = 0
    for token in re.split(r"[\s-]+", words.lower()):
        if token == "et":
            continue
        if token in ("cent", "cents"):
            current = max(current, 1) * 100
        elif token in _SCALES:
            total += max(current, 1) * _SCALES[token]
            current = 0
        elif token in ("vingt", "vingts") and current % 100 == 4:  # quatre-vingt(s)
            current += 76
        else:
            current += _WORD_VALUES[token]
    return str(total + current)


def _canonical(number: str) -> str:
    try:
        return format(Decimal(number).normalize(), "f")
    except InvalidOperation:
        return number
