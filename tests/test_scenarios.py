"""Scenario files: the shipped ones are valid and run as intended, validation names file and line
for every kind of mistake, and `minibot scenario` validates, lists, shows and writes them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

import cli.scenario as scenario_cli
from bot.dialog.intents import Intent, Understanding
from bot.dialog.objections.library import Library, load_library
from bot.dialog.scenario.authoring import Answers, about, build_scenario, dump_scenario, resolve, shipped
from bot.dialog.scenario.engine import ScenarioRun
from bot.dialog.scenario.loader import ScenarioInvalid, load_scenario, render
from bot.dialog.scenario.model import CallResult, Scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
CAMPAIGNS = ["or_rendez_vous", "audit_energetique", "assurance_transfert"]
SHIPPED = ["demo", *CAMPAIGNS]
VALUES = {"first_name": "Marie", "slot_1": "jeudi à dix heures", "slot_2": "vendredi à quatorze heures"}
INTENTS = ", ".join(i.value for i in Intent)


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


def scenario(name: str, library: Library | None = None) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.yaml", library=library)


# -- the shipped scenarios ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_scenario_validates_against_the_real_library(name: str, library: Library) -> None:
    loaded = scenario(name, library)
    assert loaded.name == name
    assert set(loaded.themes) <= set(library.themes)


def test_shipped_finds_the_scenarios_and_skips_other_data_files() -> None:
    names = [p.stem for p in shipped()]
    assert set(SHIPPED) <= set(names)
    assert "rail_returns" not in names  # scenarios/rail_returns.yaml is data, not a scenario


@pytest.mark.parametrize("name", CAMPAIGNS)
def test_a_campaign_scenario_follows_the_house_rules(name: str) -> None:
    s = scenario(name)
    first = s.steps[s.first_step]
    assert first.disclosure and "automatisé" in (first.say or "")
    assert s.recorded and "enregistré" in (first.say or "")
    assert "first_name" in s.variables
    questions = [n for n in s.rail[1:] if not s.steps[n].check and not s.steps[n].is_end]
    assert 4 <= len(questions) <= 7, questions
    assert s.steps[s.rail[-1]].result is CallResult.CALLBACK_REQUESTED  # a neutral end, never a success
    for fact in s.facts:  # general statements: no invented price, rate or return
        assert not re.search(r"\d|%|€|euro", fact), fact
    for name_, step in s.steps.items():  # every line renders fully with a contact's values
        if step.say:
            line = render(step.say, {**VALUES, "agent_name": s.agent_name, "company_name": s.company_name})
            assert "{{" not in line and "  " not in line, name_


def test_each_campaign_has_what_its_objective_needs() -> None:
    gold, audit, insurance = (scenario(n) for n in CAMPAIGNS)
    results = {step.result for step in gold.steps.values()}
    assert (gold.objective, gold.personality, gold.themes) == ("appointment", "expert", ["or", "finance"])
    assert {CallResult.APPOINTMENT_SCHEDULED, CallResult.NOT_QUALIFIED, CallResult.NOT_INTERESTED,
            CallResult.CALLBACK_REQUESTED} <= results
    assert gold.voicemail is not None and gold.voicemail.say
    assert (audit.objective, audit.personality, audit.themes) == ("lead", "consultatif", ["energie"])
    check = audit.steps["is_lead"]
    assert check.check == "qualification"
    assert audit.steps[check.qualified].result is CallResult.QUALIFIED
    assert audit.steps[check.not_qualified].result is CallResult.NOT_QUALIFIED
    assert (insurance.objective, insurance.personality, insurance.themes) == ("transfer", "doux", ["assurance"])
    assert [n for n, s in insurance.steps.items() if s.transfer] == ["transfer_now"]
    assert "conseiller" in (insurance.steps["transfer_now"].say or "")
    assert [n for n, s in insurance.steps.items() if s.freestyle] == ["satisfaction"]


# -- the shipped scenarios run as intended (the real engine, scripted intents) ------------------


def said(intent: Intent) -> Understanding:
    return Understanding("...", intent, None, 0.9, "test")


async def walk(name: str, *intents: Intent) -> ScenarioRun:
    run = ScenarioRun(scenario(name), VALUES)
    run.start()
    for intent in intents:
        assert not run.finished, run.record.steps
        await run.hear(said(intent))
    return run


A, D, U = Intent.AFFIRM, Intent.DENY, Intent.UNSURE


@pytest.mark.parametrize(
    ("intents", "result", "last"),
    [
        ((A, A, A, A, A, A, A), CallResult.APPOINTMENT_SCHEDULED, "appointment_booked"),  # first slot
        ((A, A, A, A, A, D, A, A), CallResult.APPOINTMENT_SCHEDULED, "appointment_booked"),  # second slot
        ((A, A, A, A, A, D, D), CallResult.CALLBACK_REQUESTED, "goodbye_later"),  # no slot fits
        ((A, A, D), CallResult.NOT_QUALIFIED, "goodbye_not_qualified"),  # no savings
        ((A, D, A, D, U), CallResult.NOT_QUALIFIED, "goodbye_not_qualified"),  # 40 of 100 < 60 %
        ((A, A, A, A, D), CallResult.NOT_INTERESTED, "goodbye_not_interested"),
        ((D,), CallResult.CALLBACK_REQUESTED, "goodbye_later"),
    ],
)
async def test_or_rendez_vous_runs(intents: tuple[Intent, ...], result: CallResult, last: str) -> None:
    run = await walk("or_rendez_vous", *intents)
    assert run.record.result is result and run.step_name == last


async def test_or_rendez_vous_confirms_the_slot_it_proposed_and_leaves_a_voicemail() -> None:
    run = ScenarioRun(scenario("or_rendez_vous"), VALUES)
    run.start()
    for _ in range(5):
        await run.hear(said(A))
    turn = await run.hear(said(A))
    assert run.step_name == "confirm_slot_1" and "jeudi à dix heures" in turn.text
    machine = ScenarioRun(scenario("or_rendez_vous"), VALUES).machine()
    assert machine.end is CallResult.VOICEMAIL_LEFT and machine.text.startswith("Bonjour Marie, ici Julien")


@pytest.mark.parametrize(
    ("intents", "result", "share"),
    [
        ((A, A, A, A, A, A), CallResult.QUALIFIED, 1.0),
        ((A, A, D, A, D, A), CallResult.QUALIFIED, 0.70),  # owner, flat, gas, recent: 70 of 100
        ((A, A, D, D, D, A), CallResult.NOT_QUALIFIED, 0.55),
        ((A, D), CallResult.NOT_QUALIFIED, 0.0),  # a tenant
        ((A, A, A, A, A, D), CallResult.NOT_INTERESTED, 0.75),
    ],
)
async def test_audit_energetique_scores_and_checks(intents: tuple[Intent, ...], result: CallResult,
                                                   share: float) -> None:
    run = await walk("audit_energetique", *intents)
    assert run.record.result is result and run.record.qualification == pytest.approx(share)


async def test_audit_energetique_hangs_up_on_machines() -> None:
    assert ScenarioRun(scenario("audit_energetique"), VALUES).machine().end is CallResult.ANSWERING_MACHINE


async def test_assurance_transfert_qualifies_then_transfers() -> None:
    run = ScenarioRun(scenario("assurance_transfert"), VALUES)
    run.start()
    for intent in (A, A, A, D, A):  # own contract, family, not satisfied, wants the review
        turn = await run.hear(said(intent))
    assert run.step_name == "transfer_offer" and turn.end is None
    turn = await run.hear(said(A))
    assert turn.transfer and turn.end is CallResult.TRANSFERRED and "conseiller" in turn.text


async def test_assurance_transfert_maps_yes_and_no_on_its_freestyle_step() -> None:
    run = await walk("assurance_transfert", A, A, A)
    assert run.step_name == "satisfaction"
    await run.hear(said(A))  # a plain "oui" moves on instead of getting a free answer
    assert run.step_name == "review_ok"
    run = await walk("assurance_transfert", A, D, D, A, A)  # employer's contract, satisfied: 35 %
    assert run.record.result is CallResult.NOT_QUALIFIED
    run = await walk("assurance_transfert", A, Intent.TRANSFER)  # asks for a human at once
    assert run.record.result is CallResult.TRANSFERRED and run.step_name == "transfer_now"


async def test_max_turns_wraps_up_an_appointment_call() -> None:
    run = await walk("or_rendez_vous", A, A, A, A, A, *[Intent.REPEAT] * 11)
    turn = await run.hear(said(A))
    assert run.finished and turn.end is not None  # wrapped up on this very turn


# -- validation names file and line --------------------------------------------------------------

BASE = """\
name: t
title: Test
agent_name: Camille
company_name: ACME
objective: lead
recorded: true
variables: [first_name]
rail: [hello, ask, is_lead, bye_later]
steps:
  hello:
    disclosure: true
    say: Bonjour {{first_name}}, je suis l'assistante vocale automatisée d'ACME. Cet appel est enregistré.
    intent_mapping:
      deny: bye_later
  ask:
    say: Vous êtes propriétaire ?
    score: {affirm: 10}
  is_lead:
    check: qualification
    qualified: bye_ok
    not_qualified: bye_no
  bye_ok:
    say: Merci, au revoir.
    result: QUALIFIED
  bye_no:
    say: Merci quand même.
    result: NOT_QUALIFIED
  bye_later:
    say: Nous vous rappellerons.
    result: CALLBACK_REQUESTED
"""


def variant(tmp_path: Path, replace: dict[int, str] | None = None, append: str = "") -> Path:
    """BASE with some lines (1-based) replaced, written to a file."""
    lines = BASE.splitlines()
    for number, text in (replace or {}).items():
        assert lines[number - 1].strip(), "replace a real line"
        lines[number - 1] = text
    path = tmp_path / "t.yaml"
    path.write_text("\n".join(lines) + "\n" + append, encoding="utf-8")
    return path


def problems(path: Path, library: Library | None = None) -> list[str]:
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(path, library=library)
    return [str(p) for p in caught.value.problems]


def test_the_base_of_these_tests_is_valid(tmp_path: Path) -> None:
    assert load_scenario(variant(tmp_path)).name == "t"


@pytest.mark.parametrize(
    ("replace", "line", "message"),
    [
        ({14: "      deny: nowhere"}, 14, "étape 'hello' : deny → étape inconnue 'nowhere'"),
        ({8: "rail: [hello, ask, is_lead, bye_later, ghost]"}, 8,
         "l'étape 'ghost' du rail n'est pas définie dans steps"),
        ({16: "    say: Vous êtes propriétaire, {{nom}} ?"}, 16,
         "variable non déclarée {{nom}} (la déclarer dans 'variables' ou utiliser agent_name, company_name)"),
        ({14: "      maybe: bye_later"}, 14,
         f"étape 'hello' : 'maybe' n'est pas une intention (connues : {INTENTS}, ou default)"),
        ({17: "    score: {affirm: 10, maybe: 5}"}, 17,
         f"étape 'ask' : score pour 'maybe', qui n'est pas une intention (connues : {INTENTS})"),
        ({11: "    disclosure: false"}, 10,
         "la première étape 'hello' doit être la phrase d'annonce (disclosure: true)"),
        ({12: "    say: Bonjour, ici Camille d'ACME. Cet appel est enregistré."}, 12,
         "la phrase d'annonce doit dire à la personne appelée qu'elle parle à un assistant automatisé"),
        ({12: "    say: Bonjour, je suis l'assistante vocale automatisée d'ACME."}, 12,
         "l'appel est enregistré (recorded: true) : la phrase d'annonce doit le dire"),
        ({16: "    say: Vous êtes: propriétaire ?"}, 16,
         "YAML invalide : « : » inattendu (mettre entre guillemets un texte qui contient « : », ou vérifier "
         "l'indentation)"),
        ({17: "    score: {affirm: beaucoup}"}, 17,
         "steps.ask.score.affirm : un nombre entier est attendu (trouvé : 'beaucoup')"),
        ({6: "recorded: peut-être"}, 6, "recorded : true ou false est attendu (trouvé : 'peut-être')"),
        ({24: "    result: TRANSFERRED"}, 22,
         "steps.bye_ok : le result d'une étape de fin est l'un de : QUALIFIED, NOT_INTERESTED, NOT_QUALIFIED, "
         "CALLBACK_REQUESTED, APPOINTMENT_SCHEDULED"),
        ({24: "    result: QUALIFIED\n    ask_again: Toujours là ?"}, 22,
         "steps.bye_ok : 'ask_again' est la question qu'une étape qui écoute repose : ni vide, ni sur un check ou "
         "une étape de fin"),
        ({5: "objective: sale"}, 5,
         "objective : 'sale' n'est pas une valeur possible ; valeurs possibles : 'appointment', 'lead' ou 'transfer'"),
        ({8: "rail: [hello]"}, 8, "rail : au moins 2 élément(s) attendu(s), 1 trouvé(s)"),
        ({5: "objective: lead\nobjectif: lead"}, 6,
         "objectif : champ inconnu à cet endroit (faute de frappe ou mauvaise indentation ?)"),
        ({1: "name: Test"}, 1, "name : 'Test' ne respecte pas le format ^[a-z][a-z0-9_]*$"),
    ],
)
def test_validation_names_file_line_and_problem(tmp_path: Path, replace: dict[int, str], line: int,
                                                message: str) -> None:
    path = variant(tmp_path, replace)
    assert problems(path) == [f"{path}:{line}: {message}"]


def test_a_check_branch_to_no_step_also_strands_the_step_it_replaced(tmp_path: Path) -> None:
    path = variant(tmp_path, {21: "    not_qualified: nobody"})
    assert problems(path) == [f"{path}:21: étape 'is_lead' : not_qualified → étape inconnue 'nobody'",
                              f"{path}:25: l'étape 'bye_no' est inatteignable depuis 'hello'"]


def test_an_unreachable_step_is_named_at_its_line(tmp_path: Path) -> None:
    path = variant(tmp_path, append="  orphan:\n    say: Perdu.\n    result: NOT_INTERESTED\n")
    assert problems(path) == [f"{path}:31: l'étape 'orphan' est inatteignable depuis 'hello'"]


def test_a_missing_audio_file_is_named_at_its_line(tmp_path: Path) -> None:
    path = variant(tmp_path, {16: "    audio: prompts/ask.wav"})
    [problem] = problems(path)
    assert problem.startswith(f"{path}:16: fichier audio 'prompts/ask.wav' introuvable (cherché : ")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "ask.wav").write_bytes(b"RIFF")
    assert load_scenario(path).steps["ask"].audio == "prompts/ask.wav"


def test_every_problem_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    path = variant(tmp_path, {14: "      deny: nowhere", 16: "    say: Bonjour {{nom}} ?", 17: "    score: {maybe: 5}"})
    assert [p.split(": ", 1)[0] for p in problems(path)] == [f"{path}:14", f"{path}:16", f"{path}:17"]


def test_an_unknown_theme_is_named_at_its_line(tmp_path: Path, library: Library) -> None:
    path = variant(tmp_path, {7: "variables: [first_name]\nthemes: [cuisine]"})
    [problem] = problems(path, library)
    assert problem.startswith(f"{path}:8: thème d'objections inconnu 'cuisine' (connus : ")


# -- authoring ---------------------------------------------------------------------------------


def answers(**changes) -> Answers:
    base = {"name": "vin_test", "theme": "vin", "objective": "lead", "agent_name": "Paul",
            "company_name": "Caves Dupont",
            "questions": ["Vous achetez du vin plusieurs fois par an ?", "Vous avez une cave ?"]}
    return Answers(**{**base, **changes})


@pytest.mark.parametrize(
    ("objective", "success"),
    [("lead", "goodbye_qualified"), ("appointment", "appointment_booked"), ("transfer", "transfer_now")],
)
def test_build_scenario_writes_a_valid_scenario_for_each_objective(tmp_path: Path, library: Library, objective: str,
                                                                   success: str) -> None:
    path = tmp_path / "vin_test.yaml"
    path.write_text(dump_scenario(build_scenario(answers(objective=objective))), encoding="utf-8")
    s = load_scenario(path, library=library)
    assert s.rail[:3] == ["hello", "question_1", "question_2"] and s.rail[-1] == "goodbye_later"
    assert s.steps["question_1"].score == {"affirm": 10}
    assert s.steps["is_lead"].check == "qualification" and success in s.steps
    assert s.steps[success].is_end
    assert "assistant vocal automatisé, et cet appel est enregistré" in (s.steps["hello"].say or "")


async def test_a_built_appointment_scenario_books_only_after_the_confirmation(tmp_path: Path) -> None:
    path = tmp_path / "vin_test.yaml"
    path.write_text(dump_scenario(build_scenario(answers(objective="appointment"))), encoding="utf-8")
    run = ScenarioRun(load_scenario(path), {"first_name": "Marie", "slot": "lundi à onze heures"})
    run.start()
    for intent in (A, A, A):
        await run.hear(said(intent))
    assert run.step_name == "propose_appointment"
    await run.hear(said(Intent.OBJECTION))  # answered aside, then the proposal again
    turn = await run.hear(said(A))
    assert run.step_name == "confirm_appointment" and "lundi à onze heures" in turn.text
    assert (await run.hear(said(A))).end is CallResult.APPOINTMENT_SCHEDULED


def test_build_scenario_options_and_refusals() -> None:
    quiet = build_scenario(answers(recorded=False, voicemail=False, topic="les grands crus"))
    assert "enregistré" not in quiet["steps"]["hello"]["say"] and "voicemail" not in quiet
    assert "au sujet des grands crus" in quiet["steps"]["hello"]["say"]
    with pytest.raises(ValueError, match="nom 'Vin Test'.*il faut au moins une question de qualification"):
        build_scenario(answers(name="Vin Test", questions=["  "]))
    with pytest.raises(ValueError, match="pas de sujet pour le thème 'cuisine'"):
        build_scenario(answers(theme="cuisine"))
    assert [about("le vin"), about("les travaux"), about("l'or")] == ["au sujet du vin", "au sujet des travaux",
                                                                        "au sujet de l'or"]


def test_resolve_reads_a_bare_name_as_a_shipped_scenario() -> None:
    assert resolve("demo") == SCENARIOS / "demo.yaml"
    assert resolve("some/where.yaml") == Path("some/where.yaml")


# -- the command line --------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at 80 columns without a terminal; the assertions read whole lines."""
    monkeypatch.setattr(scenario_cli, "console", Console(width=250))


def test_validate_every_shipped_scenario() -> None:
    result = runner.invoke(scenario_cli.scenario_app, ["validate"])
    assert result.exit_code == 0, result.output
    for name in SHIPPED:
        assert re.search(rf"^OK {name} \(\d+ étapes\)$", result.output, re.MULTILINE), result.output
    assert "OK or_rendez_vous (14 étapes)" in result.output


def test_validate_reports_file_line_and_exits_1(tmp_path: Path) -> None:
    bad = variant(tmp_path, {14: "      deny: nowhere"})
    result = runner.invoke(scenario_cli.scenario_app, ["validate", "demo", str(bad)])
    assert result.exit_code == 1
    assert "OK demo (7 étapes)" in result.output
    assert f"{bad}:14: étape 'hello' : deny → étape inconnue 'nowhere'" in result.output.splitlines()
    assert "1 scénario(s) invalide(s) sur 2" in result.output


def test_validate_a_name_that_does_not_exist() -> None:
    result = runner.invoke(scenario_cli.scenario_app, ["validate", "no_such_scenario"])
    assert result.exit_code == 1 and "no_such_scenario.yaml:0: illisible : fichier introuvable" in result.output


def test_validate_says_so_when_the_library_cannot_be_loaded(tmp_path: Path) -> None:
    result = runner.invoke(scenario_cli.scenario_app, ["validate", "demo", "--objections", str(tmp_path)])
    assert result.exit_code == 1 and "bibliothèque d'objections non chargée" in result.output


def test_a_broken_objection_library_is_said_in_french(tmp_path: Path) -> None:
    """The library's own problems (its YAML, its entries' shape) name the file, the entry and the field."""
    from bot.dialog.objections.library import LibraryError, load_theme

    bad = tmp_path / "vin.yaml"
    bad.write_text("theme: vin\ntitle: Vin\nentries:\n  - id: Cher\n    phrasings: [trop cher]\n"
                   "    answer: Non.\n    audio: vin/cher\n    intent: affirm\n", encoding="utf-8")
    with pytest.raises(LibraryError) as caught:
        load_theme(bad)
    message = str(caught.value)
    for expected in (f"{bad} : entries.0.id : 'Cher' ne respecte pas le format",
                     "entries.0.phrasings : au moins 3 élément(s) attendu(s), 1 trouvé(s)",
                     "entries.0.answer : au moins 10 caractère(s) attendu(s)",
                     "entries.0.intent : une entrée répond à une objection (objection) ou à une question (question)"):
        assert expected in message, (expected, message)
    bad.write_text("theme: vin\ntitle: Vin: le retour\n", encoding="utf-8")
    with pytest.raises(LibraryError, match=r", ligne 2 : YAML invalide : « : » inattendu"):
        load_theme(bad)
    result = runner.invoke(scenario_cli.scenario_app, ["validate", "demo", "--objections", str(tmp_path / "vide")])
    assert "aucune bibliothèque d'objections (*.yaml) trouvée" in result.output, result.output


def test_list_shows_every_scenario_and_whether_it_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(scenario_cli.scenario_app, ["list"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 2}
    assert set(SHIPPED) <= set(rows)
    assert re.search(r"appointment\s*│\s*expert\s*│\s*or, finance\s*│\s*14\s*│\s*oui", rows["or_rendez_vous"])
    monkeypatch.setattr(scenario_cli, "shipped", lambda: [variant(tmp_path, {14: "      deny: nowhere"})])
    result = runner.invoke(scenario_cli.scenario_app, ["list"])
    assert "non (1 problème(s))" in result.output


def test_show_prints_the_rail_and_every_step() -> None:
    result = runner.invoke(scenario_cli.scenario_app, ["show", "or_rendez_vous"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert ("rail : hello → gold_interest → savings → horizon → advisor_ok → is_lead → propose_slot → "
            "confirm_slot_1 → goodbye_later") in out
    assert "vérifie la qualification : qualifié → propose_slot, sinon → goodbye_not_qualified" in out
    assert "  affirm → appointment_booked" in out and "fin : APPOINTMENT_SCHEDULED" in out
    assert "score : affirm 30, unsure 10" in out and "sinon → savings (suivante sur le rail)" in out
    assert "dit : Bonjour {{first_name}}, je suis {{agent_name}}" in out
    assert "hello  (rail 1, annonce de l'IA)" in out
    transfer = runner.invoke(scenario_cli.scenario_app, ["show", "assurance_transfert"]).output
    assert "transfère l'appelé à un conseiller" in transfer and "réponse libre : La personne parle" in transfer


def test_show_an_invalid_scenario_lists_its_problems(tmp_path: Path) -> None:
    bad = variant(tmp_path, {16: "    say: Bonjour {{nom}} ?"})
    result = runner.invoke(scenario_cli.scenario_app, ["show", str(bad)])
    assert result.exit_code == 1 and f"{bad}:16: variable non déclarée {{{{nom}}}}" in result.output


NEW = ["new", "--name", "cave_test", "--theme", "vin", "--objective", "appointment", "--personality", "commercial",
       "--agent-name", "Paul", "--company", "Caves Dupont",
       "--step", "Vous achetez du vin plusieurs fois par an ?", "--step", "Vous avez une cave ?"]


def test_new_writes_a_scenario_that_validates(tmp_path: Path, library: Library) -> None:
    out = tmp_path / "cave.yaml"
    result = runner.invoke(scenario_cli.scenario_app, [*NEW, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"écrit {out} : cave_test, 9 étapes, valide" in result.output
    s = load_scenario(out, library=library)
    assert (s.objective, s.personality, s.themes, s.agent_name) == ("appointment", "commercial", ["vin"], "Paul")
    assert [s.steps[f"question_{i}"].say for i in (1, 2)] == ["Vous achetez du vin plusieurs fois par an ?",
                                                             "Vous avez une cave ?"]
    assert s.voicemail is not None and s.recorded
    assert out.read_text(encoding="utf-8").startswith("# Écrit par `minibot scenario new`")
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["name"] == "cave_test"


def test_new_writes_to_scenarios_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scenario_cli, "SCENARIOS_DIR", tmp_path)
    result = runner.invoke(scenario_cli.scenario_app, [*NEW, "--not-recorded", "--no-voicemail"])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((tmp_path / "cave_test.yaml").read_text(encoding="utf-8"))
    assert written["recorded"] is False and "voicemail" not in written


def test_new_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "cave.yaml"
    out.write_text("# mine\n", encoding="utf-8")
    result = runner.invoke(scenario_cli.scenario_app, [*NEW, "--out", str(out)])
    assert result.exit_code == 1 and "existe ; --force pour le remplacer" in result.output
    assert out.read_text(encoding="utf-8") == "# mine\n"
    result = runner.invoke(scenario_cli.scenario_app, [*NEW, "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert load_scenario(out).name == "cave_test"


def test_new_without_interactive_needs_every_answer(tmp_path: Path) -> None:
    result = runner.invoke(scenario_cli.scenario_app, ["new", "--name", "x", "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
    assert "il manque --theme, --objective, --agent-name, --company, --step" in result.output
    unknown_theme = [*NEW[:4], "cuisine", *NEW[5:], "--out", str(tmp_path / "y.yaml")]
    result = runner.invoke(scenario_cli.scenario_app, unknown_theme)
    assert result.exit_code == 2 and "thème inconnu 'cuisine'" in result.output
    assert not (tmp_path / "x.yaml").exists() and not (tmp_path / "y.yaml").exists()


def test_new_interactive_asks_and_writes(tmp_path: Path, library: Library) -> None:
    out = tmp_path / "audit.yaml"
    answers_typed = [
        "Mauvais Nom",  # refused: asked again
        "audit_test",
        "cuisine",  # not a library theme: asked again
        "energie",
        "lead",
        "consultatif",
        "Léa",
        "Habitat Plus",
        "",  # topic: the theme's default
        "Êtes-vous propriétaire de votre logement ?",
        "Votre logement a-t-il été construit avant l'an deux mille ?",
        "",  # no more questions
        "o",  # recorded: « oui » in French
        "n",  # no voicemail
    ]
    result = runner.invoke(scenario_cli.scenario_app, ["new", "--interactive", "--out", str(out)],
                           input="\n".join(answers_typed) + "\n")
    assert result.exit_code == 0, result.output
    assert "« Mauvais Nom » ne convient pas : essayez « mauvais_nom »" in result.output
    assert "Choisir l'une des réponses proposées" in result.output
    s = load_scenario(out, library=library)
    assert (s.name, s.themes, s.objective, s.personality, s.company_name) == (
        "audit_test", ["energie"], "lead", "consultatif", "Habitat Plus")
    assert s.rail == ["hello", "question_1", "question_2", "is_lead", "goodbye_later"]
    assert "au sujet de la rénovation énergétique de votre logement" in (s.steps["hello"].say or "")
    assert s.voicemail is None and s.steps["goodbye_qualified"].result is CallResult.QUALIFIED


def test_new_interactive_stops_cleanly_when_input_runs_out(tmp_path: Path) -> None:
    result = runner.invoke(scenario_cli.scenario_app, ["new", "-i", "--out", str(tmp_path / "z.yaml")],
                           input="z_test\n")
    assert result.exit_code == 2 and "plus de réponses" in result.output


def test_new_interactive_suggests_a_name_and_takes_no_theme(tmp_path: Path, library: Library) -> None:
    out = tmp_path / "Offre Été.yaml"
    answers_typed = ["", "", "lead", "", "Léa", "Habitat Plus", "la visite de votre conseiller",
                     "Êtes-vous disponible cette semaine ?", "", "oui", "non"]
    result = runner.invoke(scenario_cli.scenario_app, ["new", "--interactive", "--out", str(out)],
                           input="\n".join(answers_typed) + "\n")
    assert result.exit_code == 0, result.output
    assert "(offre_ete)" in result.output and "(général)" in result.output  # the defaults offered
    s = load_scenario(out, library=library)
    assert s.name == "offre_ete" and s.themes == [] and s.voicemail is None
    assert "au sujet de la visite de votre conseiller" in (s.steps["hello"].say or "")
    import shlex

    [shown] = shlex.split(result.output.split("minibot scenario show ")[-1])  # the hint pastes as is
    assert Path(shown).resolve() == out.resolve()
    again = runner.invoke(scenario_cli.scenario_app, ["show", shown])
    assert again.exit_code == 0 and "offre_ete" in again.output
