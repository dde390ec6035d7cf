"""What people read: French by default, English from the catalogue; dates, numbers and `--help`
in words."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from typer.testing import CliRunner

from bot.i18n import _, format_datetime, format_decimal, format_percent, format_slot, translations

REPO = Path(__file__).resolve().parents[1]
TRANSLATED = ["bot/campaign/live.py", "cli/monitor.py", "cli/help.py"]


def test_every_message_has_an_english_translation():
    english = translations("en")
    missing = []
    for name in TRANSLATED:
        for _lineno, message, _comments, _context in extract_from_file("python", REPO / name, keywords={"_": None}):
            text = message if isinstance(message, str) else message[0]
            if english.gettext(text) == text and text.strip() not in ("Options", "Arguments", "contact", "worker",
                                                                      "contacts {n}"):
                missing.append((name, text))
    assert missing == []


def test_french_is_the_default_and_english_is_one_setting(monkeypatch):
    monkeypatch.delenv("MINIBOT_LANGUAGE", raising=False)
    assert _("taux de décroché") == "taux de décroché"
    monkeypatch.setenv("MINIBOT_LANGUAGE", "en")
    assert _("taux de décroché") == "answer rate"
    monkeypatch.setenv("MINIBOT_LANGUAGE", "xx")  # unknown: French, not a failure
    assert _("taux de décroché") == "taux de décroché"


def test_dates_and_numbers_in_the_campaign_zone():
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 10:00 in Paris
    assert format_slot(at, "Europe/Paris", "fr") == "lundi 7 décembre, 10:00"
    assert format_slot(at, "Europe/Paris", "en") == "Monday 7 December, 10:00"
    assert format_datetime(datetime(2026, 12, 7, 14, 5, tzinfo=UTC), "Europe/Paris", "fr") == "07/12/2026 15:05:00"
    assert format_slot(at, "America/Martinique", "fr") == "lundi 7 décembre, 05:00"
    assert format_decimal(1234.5, "fr") == "1234,5" and format_decimal(1234.5, "en") == "1234.5"
    assert format_percent(0.5, "fr") == "50\xa0%" and format_percent(None) == "—"


@pytest.mark.parametrize("command", [["campaign", "create", "--help"], ["webhook", "set", "--help"],
                                     ["campaign", "run", "--help"]])
def test_help_shows_words_not_python_types(command):
    from cli.main import app

    result = CliRunner().invoke(app, command, env={"COLUMNS": "150"})
    assert result.exit_code == 0, result.output
    for python in ("<bool>", "<list[", "<str>", "<int", "<float"):
        assert python not in result.output, (python, result.output)
    assert "[obligatoire]" in result.output or "[défaut" in result.output
