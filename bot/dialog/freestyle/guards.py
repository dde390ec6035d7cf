"""Checks on a free answer before it is spoken: the prompt asks, these enforce.

A small model sometimes writes markdown or emojis, runs long, or states a price it made up.
The first two are repaired; an answer that cannot be repaired is rejected (the caller then
hears a scripted line instead)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .numbers import known_numbers, stated_numbers

MAX_SENTENCES = 3
MAX_CHARS = 360  # three short spoken sentences; longer means the model rambled (~25 s of speech)

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_BULLET = re.compile(r"\s*(?:[-•–*+]|\d+[.)])\s+")
_MARKUP = re.compile(r"[*_#`~|>]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_ENDS_SENTENCE = (".", "!", "?", "…")
_QUOTES = {'"': '"', "«": "»", "“": "”"}
_EMOJI_EXTRA = {"\ufe0f", "\ufe0e", "\u200d", "\u20e3"}  # variation selectors, joiner, keycap


@dataclass(frozen=True, slots=True)
class Verdict:
    text: str | None  # what to say, None when rejected
    reason: str = ""  # why it was rejected


def vet(answer: str, facts: Sequence[str], *, max_sentences: int = MAX_SENTENCES,
        max_chars: int = MAX_CHARS) -> Verdict:
    text = " ".join(first_sentences(clean(answer), max_sentences))
    if not text:
        return Verdict(None, "empty")
    if len(text) > max_chars:
        return Verdict(None, f"too long ({len(text)} characters)")
    invented = stated_numbers(text) - known_numbers("\n".join(facts))
    if invented:
        return Verdict(None, f"states numbers absent from the fact sheet: {', '.join(sorted(invented))}")
    return Verdict(text)


def clean(text: str) -> str:
    """Plain spoken text: no markdown, no emojis, one line, no quotes around it all."""
    lines = []
    for line in _LINK.sub(r"\1", text).splitlines():
        bullet = _BULLET.match(line)
        line = "".join(ch for ch in _MARKUP.sub("", line[bullet.end():] if bullet else line) if not _is_emoji(ch))
        line = line.strip()
        if line and bullet and not line.endswith(_ENDS_SENTENCE):
            line += "."  # a list item is a sentence of its own, even the last one
        if line:
            lines.append(line)
    # Lines the model broke without punctuation become sentences, not one run-on.
    text = " ".join(line if line.endswith((*_ENDS_SENTENCE, ",", ";", ":")) else line + "." for line in lines[:-1])
    text = re.sub(r"\s+", " ", f"{text} {lines[-1]}" if lines else "").strip()
    if len(text) > 1 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def first_sentences(text: str, limit: int) -> list[str]:
    """At most `limit` sentences. A trailing fragment without a final stop is where the token cap
    cut the answer: dropped, unless it is all there is (then it is simply unpunctuated)."""
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    if len(sentences) > 1 and not sentences[-1].endswith(_ENDS_SENTENCE):
        sentences.pop()
    elif sentences and not sentences[-1].endswith(_ENDS_SENTENCE):
        sentences[-1] += "."
    return sentences[:limit]


def _is_emoji(ch: str) -> bool:
    if ch in _EMOJI_EXTRA:
        return True
    category = unicodedata.category(ch)
    # "So" holds the pictographs (and dingbats); the degree sign is the one a sentence needs.
    return (category == "So" and ch != "°") or (category == "Sk" and "\U0001f3fb" <= ch <= "\U0001f3ff")
