"""What people read: French by default, English from the catalogue; dates, numbers and `--help`
in words."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from typer.testing import CliRunner

from bot.i18n import _, format_datetime, format_decimal, format_percent, format_slot, translations
from tests.french import english_words

REPO = Path(__file__).resolve().parents[1]
TRANSLATED = ["bot/campaign/live.py", "bot/campaign/summary.py", "bot/campaign/lifecycle.py", "bot/demo/campaign.py",
              "bot/store/campaigns.py",
              *sorted(str(p.relative_to(REPO)) for p in (REPO / "bot" / "contacts").glob("*.py")),
              *sorted(str(p.relative_to(REPO)) for p in (REPO / "cli").glob("*.py"))]
# The same words in both languages.
SAME = {"Options", "Arguments", "contact", "contacts", "worker", "contacts {n}", "source", "date", "e-mail", "E-mail",
        "absent (minibot models pull vosk-fr)"}


def test_every_message_has_an_english_translation():
    english = translations("en")
    missing = []
    for name in TRANSLATED:
        for _lineno, message, _comments, _context in extract_from_file("python", REPO / name, keywords={"_": None}):
            text = message if isinstance(message, str) else message[0]
            if english.gettext(text) == text and text.strip() not in SAME:
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


def _all_commands():
    import typer

    from cli.main import app

    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


def test_every_help_screen_is_french():
    """`minibot ... --help` of every command and group: no English word (the command names aside)."""
    from cli.main import app

    commands = _all_commands()
    names = {name for path, _c in commands for name in path}
    runner = CliRunner()
    leftovers = {}
    for path, _command in commands:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200", "MINIBOT_LANGUAGE": "fr"})
        assert result.exit_code == 0, (path, result.output)
        # values to type: the field names a column maps to (phone, first_name...), the roles (api, calls)
        values = {("contacts", "import"): {"phone"}, ("serve",): {"calls"}}.get(tuple(path), set())
        found = english_words(result.output, names | values)
        if found:
            leftovers[" ".join(path) or "minibot"] = sorted(found)
    assert leftovers == {}


def test_every_help_text_has_an_english_translation():
    """English through the one setting: each command's and option's French description is in the
    catalogue (it is looked up when the help is drawn)."""
    from cli.help import help_key

    english = translations("en")
    missing = set()
    for _path, command in _all_commands():
        texts = [command.help] + [getattr(p, "help", None) for p in command.params]
        for text in filter(None, texts):
            key = help_key(text)
            if key not in _TYPER_ENGLISH and english.gettext(key) == key and not key.startswith("vosk-fr, "):
                missing.add(key)
    assert sorted(missing) == []


_TYPER_ENGLISH = {"Show this message and exit.", "Install completion for the current shell.",
                  "Show completion for the current shell, to copy it or customize the installation."}


def test_help_in_english_with_the_setting():
    from cli.main import app

    result = CliRunner().invoke(app, ["campaign", "create", "--help"], env={"COLUMNS": "200", "MINIBOT_LANGUAGE": "en"})
    assert result.exit_code == 0
    assert "Show this message and exit." in result.output and "Usage:" in result.output
    assert "Create a campaign" in result.output and "Créer une campagne" not in result.output
    assert english_words(result.output)  # the check that keeps French screens French does see English


def test_typer_errors_in_french():
    from cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["campaign", "create"], env={"COLUMNS": "200", "MINIBOT_LANGUAGE": "fr"})
    assert result.exit_code == 2 and "Argument manquant : NOM" in result.output, result.output
    result = runner.invoke(app, ["campaign", "lst"], env={"COLUMNS": "200", "MINIBOT_LANGUAGE": "fr"})
    assert "Commande inconnue : lst. Vouliez-vous dire list ?" in result.output, result.output
    result = runner.invoke(app, ["campaign", "create", "x", "--scenario", "demo", "--cps", "vite"],
                           env={"COLUMNS": "200", "MINIBOT_LANGUAGE": "fr"})
    assert "Valeur invalide pour '--cps' : un nombre est attendu" in result.output, result.output
    assert not english_words(result.output, {"campaign", "create"}), result.output


def test_the_language_is_a_setting():
    from bot.config import Settings

    assert Settings(_env_file=None).language == "fr"
    assert Settings(_env_file=None, language="EN").language == "en"
    with pytest.raises(ValueError, match="'fr' or 'en'"):
        Settings(_env_file=None, language="de")


def test_the_language_comes_from_the_env_file(tmp_path, monkeypatch):
    """The .env file that Settings reads also picks the language of messages."""
    monkeypatch.delenv("MINIBOT_LANGUAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("MINIBOT_LANGUAGE=en\n", encoding="utf-8")
    assert _("taux de décroché") == "answer rate"


def test_campaign_figures_in_words():
    """`campaign stats` (and the demo's last table): French labels, the codes as the export's words."""
    from types import SimpleNamespace

    from rich.console import Console

    from bot.campaign.summary import stats_table

    campaign = SimpleNamespace(id=3, name="Printemps", scenario="demo", status=SimpleNamespace(value="RUNNING"))
    figures = {"contacts": 4, "contacts_by_status": {"PENDING": 1, "DONE": 3}, "calls": 5,
               "calls_by_outcome": {"answered": 3, "busy": 1, "no_answer": 1}, "results": {"QUALIFIED": 2},
               "attempts_by_status": {"SCHEDULED": 2}, "answer_rate": 0.6, "avg_duration_s": 41.25,
               "answer_to_first_audio_p95_ms": 900}

    def shown(lang: str) -> str:
        console = Console(width=100, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MINIBOT_LANGUAGE", lang)
            console.print(stats_table(campaign, figures))
        return console.export_text()

    french = shown("fr")
    for words in ("campagne 3 · Printemps (demo) · en cours", "occupé", "pas de réponse", "qualifié", "à appeler",
                  "taux de décroché", "60\xa0%", "41,2 s", "appels encore à passer"):
        assert words in french, (words, french)
    assert not english_words(french, {"demo"}), french
    english = shown("en")
    assert "answer rate" in english and "busy" in english and "campaign 3" in english


def test_a_wrong_setting_is_said_in_words():
    """A wrong MINIBOT_* value stops every command with the variable, the value and what is expected."""
    from cli.main import app

    result = CliRunner().invoke(app, ["scenario", "list"],
                                env={"MINIBOT_LANGUAGE": "de", "MINIBOT_DIAL__RING_TIMEOUT": "2"})
    assert result.exit_code == 2, result.output
    assert "réglage MINIBOT_LANGUAGE = 'de' : attendu : 'fr' ou 'en'" in result.output, result.output
    assert "réglage MINIBOT_DIAL__RING_TIMEOUT = '2' : la valeur doit être supérieure ou égale à 5" in result.output


@pytest.mark.parametrize(("entry", "french"), [
    ("dial +3361****678", "numérotation +3361****678"),
    ("dial status BUSY", "état de la numérotation BUSY"),
    ("say (greeting): 'Bonjour Marie'", "dit (greeting) : 'Bonjour Marie'"),
    ("heard: 'oui'", "entendu : 'oui'"),
    ("barge-in (240 ms after onset)", "interruption (240 ms après le début de la parole)"),
    ("result QUALIFIED (qualification 100%)", "résultat QUALIFIED (qualification 100%)"),
    ("outcome answered", "issue answered"),
    ("something new", "something new"),
])
def test_a_call_timeline_in_words(entry, french):
    """The call's journal stays English (store, tests); `minibot call` and the demo show it in French."""
    from bot.i18n.timeline import timeline_entry, timeline_text

    assert timeline_entry(entry, "fr") == french and timeline_entry(entry, "en") == entry
    assert timeline_text([(1.5, entry)], "fr") == f"   1.50s  {french}"
