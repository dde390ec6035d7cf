"""What people read, in their language: French by default, English available.

One setting, `MINIBOT_LANGUAGE` (`fr` or `en`; `Settings.language` in bot/config.py). Messages are
written in French in the code (the product's first language) and looked up in
`locale/<lang>/LC_MESSAGES/minibot.po` for the others,
through Babel's PO reader and the standard `gettext` interface (no compiled .mo in git: the
catalogue is read once per process). Dates, times and numbers go through Babel's CLDR formats, in
the campaign's time zone (Europe/Paris unless the campaign says otherwise), never UTC.

    from bot.i18n import _, format_slot
    print(_("premier créneau légal : {when}").format(when=format_slot(at, "Europe/Paris")))
"""

from __future__ import annotations

import gettext
import os
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import dates, numbers
from babel.messages.pofile import read_po

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
DEFAULT_TIMEZONE = "Europe/Paris"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "minibot"


def current_language() -> str:
    """The `language` setting (MINIBOT_LANGUAGE, in the environment or .env), or French; an unknown
    value falls back to French rather than failing the message that would report it."""
    return _language(os.environ.get("MINIBOT_LANGUAGE"), os.getcwd())


@cache
def _language(env_value: str | None, cwd: str) -> str:
    # Keyed by what can change it within a process (the variable, and the directory whose .env is
    # read), so a message costs a dict lookup rather than a settings read.
    from bot.config import LanguageSetting

    lang = LanguageSetting().language
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


class _Catalogue(gettext.NullTranslations):
    """gettext over a PO file read by Babel."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        with path.open("rb") as f:
            catalog = read_po(f)
        self._messages = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy
                          and isinstance(m.id, str)}

    def gettext(self, message: str) -> str:
        return self._messages.get(message, message)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == DEFAULT_LANGUAGE or not path.exists():
        return gettext.NullTranslations()  # the French source text
    return _Catalogue(path)


def _(message: str, lang: str | None = None) -> str:
    return translations(lang or current_language()).gettext(message)


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def format_slot(at: datetime, timezone: str | None = None, lang: str | None = None) -> str:
    """'lundi 7 décembre, 10:00' (or 'Monday 7 December, 10:00'), in the campaign's zone, 24-hour clock."""
    lang = lang or current_language()
    pattern = "EEEE d MMMM, HH:mm" if lang == "fr" else "EEEE d MMMM, HH:mm"
    return dates.format_datetime(at, pattern, tzinfo=zone(timezone), locale=lang)


def format_datetime(at: datetime, timezone: str | None = None, lang: str | None = None) -> str:
    """'07/12/2026 10:00:00' in French (dd/mm/yyyy, 24 h), in the campaign's zone."""
    lang = lang or current_language()
    pattern = "dd/MM/yyyy HH:mm:ss" if lang == "fr" else "yyyy-MM-dd HH:mm:ss"
    return dates.format_datetime(at, pattern, tzinfo=zone(timezone), locale=lang)


def format_time(at: datetime, timezone: str | None = None, lang: str | None = None) -> str:
    return dates.format_datetime(at, "HH:mm:ss", tzinfo=zone(timezone), locale=lang or current_language())


def format_decimal(value: float, lang: str | None = None) -> str:
    """3,5 in French, 3.5 in English (no grouping: a spreadsheet reads it back as a number)."""
    return numbers.format_decimal(value, locale=lang or current_language(), group_separator=False)


def format_percent(rate: float | None, lang: str | None = None) -> str:
    if rate is None:
        return "—"
    return numbers.format_percent(rate, locale=lang or current_language())
