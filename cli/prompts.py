"""Questions asked in French: « o/n » (oui, non; y and yes too), and a valid name suggested when one
is typed that does not fit."""

from __future__ import annotations

import re
import unicodedata

from rich.console import Console
from rich.prompt import Prompt

from bot.i18n import _

YES = frozenset({"o", "oui", "y", "yes"})
NO = frozenset({"n", "non", "no"})


class Question(Prompt):
    """rich's Prompt with its own refusals in the reader's language (rich writes them in English)."""

    @property
    def illegal_choice_message(self) -> str:  # type: ignore[override]
        return "[prompt.invalid.choice]" + _("Choisir l'une des réponses proposées")

    @property
    def validate_error_message(self) -> str:  # type: ignore[override]
        return "[prompt.invalid]" + _("Réponse non valide")


def oui_non(label: str, *, console: Console, default: bool = True) -> bool:
    """A yes/no question shown as [O/n] or [o/N]; asked again until the answer is one of them."""
    hint = "[O/n]" if default else "[o/N]"
    while True:
        answer = Question.ask(f"{label} {hint}", console=console, default="", show_default=False).strip().lower()
        if not answer:
            return default
        if answer in YES:
            return True
        if answer in NO:
            return False
        console.print("[yellow]" + _("répondre o (oui) ou n (non)") + "[/]")


def slug(text: str) -> str:
    """'Mon Offre Été' → 'mon_offre_ete': a name the scenario rules accept (a letter first)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    name = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
    if not name or not name[0].isalpha():
        name = f"scenario_{name}" if name else "scenario"
    return name
