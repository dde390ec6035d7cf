"""The offline NLU: French normalisation, rules, the trained classifier, the matcher, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.dialog.intents import Intent
from bot.dialog.nlu.normalize import normalize
from bot.dialog.nlu.offline import OfflineClassifier
from bot.dialog.nlu.rules import match_rules
from bot.dialog.objections.library import BASE_THEMES, load_library
from bot.dialog.objections.matcher import ObjectionMatcher

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def library():
    return load_library().select(BASE_THEMES)


@pytest.fixture(scope="module")
def classifier(library):
    from bot.dialog.nlu.embeddings import Embedder

    return OfflineClassifier(library, embedder=Embedder())


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("Euh, j'ai pas le temps là !", "je ai pas le temps la"),
        ("je n’ai pas le temps", "je ai pas le temps"),
        ("J AI PAS LE TEMPS", "je ai pas le temps"),
        ("chuis pas intéressé", "je suis pas interesse"),
        ("Ouais, vas-y", "oui vas y"),
        ("sa m'intéresse", "ca me interesse"),
    ],
)
def test_normalisation_makes_spoken_and_written_french_meet(spoken: str, written: str) -> None:
    assert normalize(spoken) == written


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("ne m'appelez plus", Intent.OPT_OUT),
        ("arrêtez de m'appeler s'il vous plaît", Intent.OPT_OUT),
        ("retirez mon numéro de votre fichier", Intent.OPT_OUT),
        ("je suis inscrit sur bloctel", Intent.OPT_OUT),
        ("interdiction de me rappeler", Intent.OPT_OUT),
        ("ne me rappelez pas", Intent.OPT_OUT),
        ("vous pouvez me rappeler plus tard", Intent.CALLBACK),  # "plus" of "plus tard" is no refusal
        ("rappelez moi demain matin", Intent.CALLBACK),
        ("ça capte mal rappelez-moi tout à l'heure", Intent.CALLBACK),
        ("passez-moi un conseiller", Intent.TRANSFER),
        ("je voudrais parler à une vraie personne", Intent.TRANSFER),
        ("pardon vous pouvez répéter", Intent.REPEAT),
        ("", Intent.REPEAT),
        ("oui", Intent.AFFIRM),
        ("non merci", Intent.DENY),
        ("bof", Intent.UNSURE),
    ],
)
def test_unmistakable_wordings_are_decided_by_rules(text: str, intent: Intent) -> None:
    assert match_rules(normalize(text)) is intent


def test_a_do_not_call_request_wins_over_everything_it_mentions() -> None:
    # A callback, a human, an objection in the same breath: the request not to be called wins.
    for text in ("rappelez jamais et passez moi pas un conseiller ne m'appelez plus",
                 "j'ai pas le temps et ne m'appelez plus jamais"):
        assert match_rules(normalize(text)) is Intent.OPT_OUT


@pytest.mark.parametrize(
    ("text", "intent", "objection"),
    [
        ("pff j'ai pas le temps là", Intent.OBJECTION, "no_time"),
        ("c'est beaucoup trop cher pour moi", Intent.OBJECTION, "too_expensive"),
        ("faut que j'en parle à ma femme d'abord", Intent.OBJECTION, "ask_spouse"),
        ("c'est quoi cette arnaque encore", Intent.OBJECTION, "scam_suspicion"),
        ("je parle à un robot là", Intent.QUESTION, "is_robot"),
        ("vous m'appelez de quelle société", Intent.QUESTION, "who_are_you"),
        ("ouais ça me va", Intent.AFFIRM, None),
    ],
)
def test_the_classifier_names_intent_and_objection(classifier, text, intent, objection) -> None:
    understood = classifier.classify(text)
    assert (understood.intent, understood.objection) == (intent, objection)
    assert 0.0 <= understood.score <= 1.0


def test_the_classifier_generalises_to_the_held_out_set(classifier) -> None:
    """The held-out set was written by someone who saw neither the training data nor the other
    sets; bench.nlu prints the exact figures, this guards against a collapse."""
    rows = [json.loads(line) for line in (DATA / "nlu_holdout.jsonl").read_text(encoding="utf-8").splitlines()]
    intents = objections = with_objection = 0
    for row in rows:
        got = classifier.classify(row["text"])
        intents += got.intent.value == row["intent"]
        if row["objection"]:
            with_objection += 1
            objections += got.objection == row["objection"]
    assert intents / len(rows) >= 0.95
    assert objections / with_objection >= 0.9


def test_a_confident_match_plays_the_recorded_answer_and_unrelated_words_do_not_match(library) -> None:
    matcher = ObjectionMatcher(library)  # spelling only: works with no embedding model
    exact = matcher.match("c'est beaucoup trop cher pour moi")
    assert exact is not None and exact.entry.id == "too_expensive" and exact.confident
    assert matcher.match("xyzzy plugh") is None
    with pytest.raises(ValueError, match="answer_at"):
        ObjectionMatcher(library, answer_at=0.8, confident_at=0.7)


def test_cli_classify_jsonl_writes_one_line_per_input_and_reports_bad_lines() -> None:
    from cli.nlu import nlu_app

    stdin = '{"text": "oui"}\nnot json\n{"texte": "x"}\n\n{"text": "ne m\'appelez plus"}\n'
    result = CliRunner().invoke(nlu_app, ["classify", "--jsonl", "--no-embeddings"], input=stdin)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0] == {"text": "oui", "intent": "affirm", "objection": None, "score": 0.95}
    assert lines[1]["error"].startswith("line 2: not JSON")
    assert lines[2] == {"error": 'line 3: expected {"text": "..."}'}
    assert lines[3]["intent"] == "opt_out" and set(lines[3]) == {"text", "intent", "objection", "score"}
    assert len(lines) == 4
