"""Understanding French as callers speak it: opt-outs decided only on explicit words, asked
about when unsure, never read into a negated sentence; a no turned around is a yes; a mood per
turn; spoken callback times through recognition errors; the embedding cache."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from bot.campaign.callback_time import parse_callback_time
from bot.dialog.intents import Intent
from bot.dialog.nlu.normalize import normalize
from bot.dialog.nlu.optout import OptOut, opt_out
from bot.dialog.nlu.rules import match_rules
from bot.dialog.nlu.sentiment import sentiment
from bot.dialog.nlu.spoken_time import repair_time_words

DATA = Path(__file__).parent / "data"
PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("text", [
    "vous ne me dérangez pas du tout",
    "ça me dérange pas que vous rappeliez mais pas aujourd'hui",
    "non non vous dérangez pas",
    "ça me gêne pas que vous rappeliez plus tard",
    "j'ai jamais dit de plus m'appeler",
    "arrêtez de me mettre la pression",
    "ne me rappelez pas avant lundi",
])
def test_negated_sentences_are_never_an_opt_out(text: str) -> None:
    assert opt_out(normalize(text)) in (OptOut.NO, OptOut.NOT)
    assert match_rules(normalize(text)) is not Intent.OPT_OUT


@pytest.mark.parametrize("text", [
    "stop", "arrêtez", "ça suffit", "laissez-moi tranquille", "foutez-moi la paix",
    "si c'est pour vendre quelque chose ne me rappelez plus",  # conditional
    "si vous rappelez encore je porte plainte",
    "N'amplait plus jamais.", "plus jamais !",  # the request's verb garbled by the recogniser
])
def test_a_vague_or_conditional_stop_is_asked_about(text: str) -> None:
    assert opt_out(normalize(text)) is OptOut.ASK


@pytest.mark.parametrize("text", [
    "ne m'appelez plus", "non merci et ne me rappelez plus", "retirez-moi de votre liste",
    "je veux plus qu'on m'appelle", "je suis sur bloctel", "ne plus appeler ce numéro",
    "ça me dérange pas de vous le dire mais ne m'appelez plus",  # a negation elsewhere hides nothing
])
def test_an_explicit_request_is_decided(text: str) -> None:
    assert opt_out(normalize(text)) is OptOut.DECIDED


@pytest.mark.parametrize(("text", "intent"), [
    ("non non ça m'intéresse", Intent.AFFIRM),
    ("non mais si ça m'intéresse", Intent.AFFIRM),
    ("ah non je suis pas contre", Intent.AFFIRM),
    ("je dis pas non", Intent.AFFIRM),
    ("j'suis pas contre mais bon", None),  # hesitation: left to the model
    ("plus tard", Intent.CALLBACK),
    ("pas maintenant", Intent.CALLBACK),
    ("oui mais rappelez-moi demain", Intent.CALLBACK),  # a callback wins over a bare yes
    ("non merci et ne me rappelez plus", Intent.OPT_OUT),  # an opt-out wins over everything
])
def test_two_things_at_once_and_a_no_turned_around(text: str, intent: Intent | None) -> None:
    assert match_rules(normalize(text)) is intent


@pytest.mark.parametrize(("text", "intent", "objection", "mood"), [
    ("bande d'escrocs", Intent.OBJECTION, "scam_suspicion", "irritated"),
    ("c'est la cinquième fois que vous appelez", Intent.OBJECTION, "already_called", "irritated"),
    ("je vous ai déjà dit que ça m'intéresse pas", Intent.OBJECTION, "not_interested", "irritated"),
    ("super merci beaucoup", Intent.AFFIRM, None, "positive"),
    ("ah ça tombe bien j'y pensais", Intent.AFFIRM, None, "positive"),
    ("c'est trop cher", Intent.OBJECTION, "too_expensive", "negative"),
    ("c'est à quel sujet", Intent.QUESTION, "what_is_it_about", "neutral"),
    ("stop c'est super", Intent.AFFIRM, None, "positive"),  # warm words: never irritated
])
def test_the_mood_of_a_turn(text: str, intent: Intent, objection: str | None, mood: str) -> None:
    assert sentiment(text, intent, objection).value == mood


def test_positive_callers_are_never_taken_for_irritated_in_the_development_set() -> None:
    for path in (DATA / "nlu_messy.jsonl", Path(__file__).parents[1] / "scenarios" / "nlu" / "messy_train.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            got = sentiment(row["text"], Intent(row["intent"]), row["objection"])
            assert not (row["sentiment"] == "positive" and got == "irritated"), row["text"]


def test_the_development_set_follows_the_conventions() -> None:
    train = Path(__file__).parents[1] / "scenarios" / "nlu" / "messy_train.jsonl"
    held = [json.loads(x) for x in (DATA / "nlu_messy.jsonl").read_text(encoding="utf-8").splitlines()]
    trained = {json.loads(x)["text"] for x in train.read_text(encoding="utf-8").splitlines()}
    assert len(held) + len(trained) >= 400
    assert not trained & {r["text"] for r in held}, "the held-out part must never be trained on"
    for row in held:
        Intent(row["intent"])
        assert row["sentiment"] in ("positive", "neutral", "negative", "irritated")
        if row["intent"] == "objection":
            assert row["objection"], row["text"]  # an objection names its library entry
        elif row["intent"] != "question":
            assert row["objection"] is None, row["text"]


def test_recognition_errors_in_spoken_times_are_repaired() -> None:
    assert repair_time_words("demain à des 8 heures") == "demain à dix-huit heures"
    assert repair_time_words("de main vers dis huit eure") == "demain vers dix-huit heures"
    assert repair_time_words("dès 8 heures") == "dès 8 heures"  # a real "from 8", accented, untouched
    assert repair_time_words("dans une demi-heure") == "dans une demi-heure"


def test_callback_times_with_recognition_errors_are_read_right() -> None:
    """The spoken set (tests/data/callback_spoken.jsonl); bench.nlu prints the figure."""
    now = datetime(2026, 12, 3, 11, 0, tzinfo=PARIS)  # a Thursday
    rows = [json.loads(x) for x in (DATA / "callback_spoken.jsonl").read_text(encoding="utf-8").splitlines()]
    right = 0
    for row in rows:
        got = parse_callback_time(row["text"], now)
        right += got is not None and got.at == datetime.fromisoformat(row["at"]).replace(tzinfo=PARIS)
    assert right / len(rows) >= 0.95


def test_embeddings_are_kept_per_text_and_model(tmp_path: Path) -> None:
    from bot.dialog.nlu.embeddings import Embedder, text_key

    first = Embedder(tmp_path)
    vectors = first.embed_many(["oui", "non merci", "oui"])
    assert first.computed == 2 and vectors.shape == (3, 384)
    again = Embedder(tmp_path)  # a new worker: nothing embedded again
    assert np.allclose(again.embed_many(["non merci", "oui"]), vectors[[1, 0]]) and again.computed == 0
    assert again.embed_many(["oui", "peut-être"]).shape == (2, 384) and again.computed == 1  # only the new text
    assert len(list((tmp_path / "embeddings").glob("*/pack-*.npz"))) == 2
    # A text whose key ends in a zero byte (numpy's bytes type would strip it) is found again too.
    zero_ended = next(f"phrase {i}" for i in range(100_000) if text_key(f"phrase {i}").endswith(b"\0"))
    Embedder(tmp_path).embed_many([zero_ended])
    later = Embedder(tmp_path)
    later.embed_many([zero_ended])
    assert later.computed == 0
