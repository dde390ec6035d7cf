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
              *sorted(str(p.relative_to(REPO)) for p in (REPO / "cli").glob("*.py")),
              "bot/dialog/scenario/loader.py", "bot/dialog/scenario/model.py", "bot/dialog/scenario/authoring.py",
              "bot/dialog/objections/library.py", "bot/dialog/intents.py", "bot/i18n/errors.py"]
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
    ("barge-in (240 ms after onset)", "l'appelé parle sur le bot (240 ms après le début de sa voix)"),
    ("barge-in (43 ms after onset, echo delay 124 ms): the line is lowered while the words decide",
     "l'appelé parle sur le bot (43 ms après le début de sa voix, écho à 124 ms) : le bot baisse la voix le "
     "temps de l'entendre"),
    ("barge-in (49 ms after onset): the line stops",
     "l'appelé parle sur le bot (49 ms après le début de sa voix) : le bot s'arrête"),
    ("backchannel (0.7 s: \"d'accord\", then a pause): the line plays on at full voice",
     "simple acquiescement (0.7 s : \"d'accord\", puis une pause) : le bot reprend à pleine voix"),
    ("interruption (still speaking 1.0 s in): the line stops, the caller's turn",
     "interruption (parle encore après 1.0 s) : le bot s'arrête, l'appelé parle"),
    ("interruption (words: 'oui mais'): the line stops, the caller's turn",
     "interruption (mots : 'oui mais') : le bot s'arrête, l'appelé parle"),
    ("false interruption (0.6 s: 'oui'): the line resumes at 1.2 s",
     "fausse interruption (0.6 s : 'oui') : la phrase reprend à 1.2 s"),
    ("result QUALIFIED (qualification 100%)", "résultat QUALIFIED (qualification 100%)"),
    ("outcome answered", "issue décroché"),
    ("outcome busy", "issue occupé"),
    ("something new", "something new"),
])
def test_a_call_timeline_in_words(entry, french):
    """The call's journal stays English (store, tests); `minibot call` and the demo show it in French."""
    from bot.i18n.timeline import timeline_entry, timeline_text

    assert timeline_entry(entry, "fr") == french and timeline_entry(entry, "en") == entry
    assert timeline_text([(1.5, entry)], "fr") == f"   1.50s  {french}"


# -- scenario validation ---------------------------------------------------------------------------

_BROKEN_SCENARIOS = {
    # pydantic's checks: types, values, lengths, unknown and missing fields
    "forme.yaml": "name: Bad\ntitle: 3\nobjective: sale\nrecorded: peut-être\nrail: [hello]\nsteps:\n  hello:\n"
                  "    say: Bonjour\n    sayy: x\n    score: {affirm: beaucoup, deny: 1.5}\n"
                  "settings: {max_turns: 0, silence_timeout: vite, qualification_threshold: 2}\nthemes: cuisine\n"
                  "lines: [1]\n",
    # the loader's own checks
    "regles.yaml": "name: t\ntitle: Test\nagent_name: Camille\ncompany_name: ACME\nobjective: lead\n"
                   "rail: [hello, ask, ghost]\nlines: {bonjour: Salut}\nsteps:\n  hello:\n    say: Bonjour {{nom}}\n"
                   "    intent_mapping: {maybe: nowhere}\n    score: {maybe: 1}\n  ask:\n"
                   "    say: Vous êtes propriétaire ?\n"
                   "    audio: absent.wav\n  bye:\n    say: Perdu.\n    result: TRANSFERRED\n",
    "doublon.yaml": "name: t\ntitle: Test\ntitle: Autre\n",
    "yaml.yaml": "name: t\ntitle: Vous êtes: propriétaire ?\n",
    "tab.yaml": "name: t\nsteps:\n\thello: x\n",
    "indent.yaml": "name: t\nsteps:\n  hello: x\n bye: y\n",
    "crochet.yaml": "name: t\nrail: [hello, bye\n",
    "liste.yaml": "- name: t\n",
}


def _validate_broken(tmp_path: Path, lang: str) -> str:
    from cli.main import app

    for name, text in _BROKEN_SCENARIOS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "ansi.yaml").write_bytes(b"name: t\n\x81\x8d\n")
    files = [str(tmp_path / name) for name in (*_BROKEN_SCENARIOS, "ansi.yaml", "absent.yaml")]
    result = CliRunner().invoke(app, ["scenario", "validate", *files],
                                env={"COLUMNS": "300", "MINIBOT_LANGUAGE": lang})
    assert result.exit_code == 1, result.output
    return result.output


def test_scenario_problems_in_french_by_default_and_english_with_the_setting(tmp_path):
    """`minibot scenario validate` (and campaign create, scenario try, the API's upload: the same loader)
    says each problem of a broken scenario in French, with its file and line; English is the setting."""
    from bot.dialog.scenario.model import MAPPING_KEYS, Scenario, Settings, Step

    french = _validate_broken(tmp_path, "fr")
    for expected in (
        "forme.yaml:1: name : 'Bad' ne respecte pas le format",
        "forme.yaml:2: title : un texte est attendu (trouvé : 3)",
        "forme.yaml:1: agent_name : champ obligatoire absent",
        "forme.yaml:3: objective : 'sale' n'est pas une valeur possible ; valeurs possibles : 'appointment', 'lead' "
        "ou 'transfer'",
        "forme.yaml:4: recorded : true ou false est attendu (trouvé : 'peut-être')",
        "forme.yaml:5: rail : au moins 2 élément(s) attendu(s), 1 trouvé(s)",
        "forme.yaml:9: steps.hello.sayy : champ inconnu à cet endroit",
        "forme.yaml:10: steps.hello.score.affirm : un nombre entier est attendu (trouvé : 'beaucoup')",
        "forme.yaml:10: steps.hello.score.deny : un nombre entier est attendu, sans décimales (trouvé : 1.5)",
        "forme.yaml:11: settings.max_turns : la valeur doit être supérieure ou égale à 1 (trouvé : 0)",
        "forme.yaml:11: settings.silence_timeout : un nombre est attendu (trouvé : 'vite')",
        "forme.yaml:11: settings.qualification_threshold : la valeur doit être inférieure ou égale à 1.0",
        "forme.yaml:12: themes : une liste est attendue (trouvé : 'cuisine')",
        "forme.yaml:13: lines : un dictionnaire (clé: valeur) est attendu (trouvé : [1])",
        "regles.yaml:16: steps.bye : le result d'une étape de fin est l'un de : QUALIFIED",
        "doublon.yaml:3: title : clé donnée deux fois (la première à la ligne 2)",
        "yaml.yaml:2: YAML invalide : « : » inattendu",
        "tab.yaml:3: YAML invalide : tabulation interdite : indenter avec des espaces",
        "indent.yaml:4: YAML invalide : structure inattendue : une nouvelle clé au lieu de la fin du bloc",
        "crochet.yaml:3: YAML invalide : structure inattendue : la fin du fichier au lieu de ',' ou ']'",
        "liste.yaml:1: un scénario est un dictionnaire YAML",
        "ansi.yaml:2: pas du texte UTF-8 (octet 0x81) ; enregistrer le fichier en UTF-8",
        "absent.yaml:0: illisible : fichier introuvable",
    ):
        assert expected in french, (expected, french)
    fields = {*Scenario.model_fields, *Step.model_fields, *Settings.model_fields, *MAPPING_KEYS}
    assert not english_words(french, fields), french

    english = _validate_broken(tmp_path, "en")
    for expected in ("forme.yaml:2: title: text expected (found 3)", "forme.yaml:1: agent_name: field required",
                     "'sale' is not a possible value; possible values: 'appointment', 'lead' or 'transfer'",
                     "doublon.yaml:3: title: key given twice (first on line 2)", "yaml.yaml:2: not valid YAML:",
                     "absent.yaml:0: cannot read: file not found", "an end step's result is one of QUALIFIED"):
        assert expected in english, (expected, english)
    assert "étape" not in english and "attendu" not in english, english


def test_the_loader_checks_in_french_and_english(tmp_path):
    """The checks a shape cannot express (targets, reachability, variables, audio, disclosure, engine lines)."""
    import pytest

    from bot.dialog.scenario.loader import ScenarioInvalid, load_scenario

    text = _BROKEN_SCENARIOS["regles.yaml"].replace("    result: TRANSFERRED\n", "    result: NOT_INTERESTED\n")
    path = tmp_path / "regles.yaml"
    path.write_text(text, encoding="utf-8")

    def problems(lang: str) -> str:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MINIBOT_LANGUAGE", lang)
            with pytest.raises(ScenarioInvalid) as caught:
                load_scenario(path)
        return "\n".join(p.message for p in caught.value.problems)

    french = problems("fr")
    for expected in ("l'étape 'ghost' du rail n'est pas définie dans steps", "étape 'hello' : 'maybe' n'est pas une "
                     "intention", "étape 'hello' : maybe → étape inconnue 'nowhere'", "étape 'hello' : score pour "
                     "'maybe'", "l'étape 'bye' est inatteignable depuis 'hello'", "variable non déclarée {{nom}}",
                     "fichier audio 'absent.wav' introuvable", "la première étape 'hello' doit être la phrase "
                     "d'annonce", "phrase du moteur inconnue 'bonjour'"):
        assert expected in french, (expected, french)
    assert not english_words(french, {"steps", "default", "disclosure"}), french
    english = problems("en")
    for expected in ("rail step 'ghost' is not defined in steps", "step 'bye' is unreachable from 'hello'",
                     "unknown engine line 'bonjour'", "audio file 'absent.wav' not found"):
        assert expected in english, (expected, english)


def test_every_validation_sentence_has_an_english_translation():
    """The sentences for pydantic's, PyYAML's and the system's errors sit in tables, not in `_()` calls
    the catalogue check above extracts: each one is in the catalogue, and an unknown pydantic error keeps
    pydantic's own words."""
    from bot.dialog.scenario.authoring import HEADER
    from bot.i18n.errors import _BY_TYPE, _OS_ERRORS, _YAML_PROBLEMS, _YAML_TOKENS, validation_problem

    english = translations("en")
    texts = {*_BY_TYPE.values(), *_OS_ERRORS.values(), *(t for _p, t in _YAML_PROBLEMS), *_YAML_TOKENS.values(),
             HEADER}
    assert sorted(t for t in texts if english.gettext(t) == t) == []
    assert validation_problem({"type": "url_parsing", "msg": "Input should be a valid URL"}, "fr") == \
        "Input should be a valid URL"


@pytest.mark.parametrize(("reason", "french"), [
    ("first", "premier appel"), ("callback", "rappel demandé"), ("retry:busy", "nouvel essai (occupé)"),
    ("retry:no_answer", "nouvel essai (pas de réponse)"), ("retry:interrupted", "nouvel essai (appel interrompu)"),
    ("retry:answering_machine", "nouvel essai (répondeur)"),
])
def test_a_planned_attempt_says_why_in_words(reason, french):
    from bot.campaign.retries import attempt_reason

    assert attempt_reason(reason) == french
