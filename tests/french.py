"""Telling an English word left in what a French reader sees (a help screen, a message, the dashboard).

A word list rather than language detection: these words are English and never French, so one of them
in a French screen is a message left untranslated; what the reader types or reads as code (options,
variables, paths, quoted values, all-capital codes such as QUALIFIED) is set aside first."""

from __future__ import annotations

import re

# Words that are English and never French: one of them in a French screen is a message left untranslated.
ENGLISH = {"the", "and", "of", "to", "with", "print", "default", "every", "each", "one", "if", "is", "are", "this",
           "only", "from", "for", "when", "which", "exit", "show", "number", "files", "name", "line", "lines",
           "help", "not", "no", "an", "in", "its", "it", "be", "by", "as", "at", "that", "their", "write", "read",
           "give", "missing", "error", "warning", "usage", "command", "commands", "phone",
           "campaign", "scenario", "voice", "recorded", "written", "found", "invalid", "unknown",
           "should", "must", "cannot", "failed", "none", "yes", "step", "steps", "reason", "where", "what", "how",
           "new", "install", "completion", "current", "required", "try", "aborted", "wrong", "key", "header",
           "database", "unavailable", "shortly", "internal", "server", "log", "fetch", "unauthorized", "calls",
           "answered", "busy", "rate", "result", "results", "outcome", "outcomes", "hours", "next", "slot", "due",
           "now", "ago", "waiting", "pending", "delivered", "until", "per", "loading"}
# Not words a reader reads as language: options, variables, code, paths, quoted values to type.
_NOT_WORDS = re.compile(r"--[\w-]+|MINIBOT_\w+|`[^`]*`|<[^>]*>|\{[^}]*\}|https?://\S+|\w+\.(?:yaml|wav|py|conf|csv)\b"
                        r"|'[^']*=[^']*'|'[^' ]+'|\[[^\]]*\]|(?<!\w)/[\w/.-]+")


def english_words(text: str, allowed: set[str] = frozenset()) -> set[str]:
    """English words in what a French reader sees (option names, variables, code and paths aside)."""
    words = set(re.findall(r"[A-Za-zÀ-ÿ_]+(?:-[A-Za-zÀ-ÿ_]+)*", _NOT_WORDS.sub(" ", text)))
    return {w for w in words if w.lower() in ENGLISH and w not in allowed and not (w.isupper() and len(w) > 1)}
