"""The engine's own questions: an opt-out to confirm, a callback time said back, a refusal that
stays a refusal through a silence or a hang-up, an irritated caller offered a way out."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.dialog.intents import Intent, Understanding
from bot.dialog.objections.library import Library, Objection
from bot.dialog.scenario.engine import ScenarioRun
from bot.dialog.scenario.lines import ENGINE_LINES
from bot.dialog.scenario.loader import load_scenario
from bot.dialog.scenario.model import CallResult

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
PARIS = ZoneInfo("Europe/Paris")
THURSDAY_11H = datetime(2026, 12, 3, 11, 0, tzinfo=PARIS)
LIBRARY = Library((
    Objection("not_interested", "general", Intent.OBJECTION, ("pas intéressé",) * 3, "Je comprends. Avant de vous"
              " laisser, une dernière chose ?", "x"),
))


def said(text: str, intent: Intent, objection: str | None = None, *, confirm: bool = False,
         sentiment: str | None = "neutral") -> Understanding:
    return Understanding(text, intent, objection, 0.9, "test", confirm=confirm, sentiment=sentiment)


def run() -> ScenarioRun:
    r = ScenarioRun(load_scenario(DEMO), {"first_name": "Marie"}, library=LIBRARY, rng=random.Random(1),
                    clock=lambda: THURSDAY_11H)
    r.start()
    return r


async def test_a_stop_is_asked_about_and_a_yes_records_the_opt_out() -> None:
    r = run()
    turn = await r.hear(said("stop", Intent.OPT_OUT, confirm=True, sentiment="irritated"))
    assert turn.text == ENGINE_LINES["confirm_opt_out"] and turn.end is None and not r.record.opted_out
    turn = await r.hear(said("oui", Intent.AFFIRM))
    assert turn.end is CallResult.OPTED_OUT and r.record.opted_out
    # The evidence is the request, the question and the "oui", not the "oui" alone.
    assert (r.record.opt_out_request, r.record.opt_out_question, r.record.opt_out_confirmation) == (
        "stop", ENGINE_LINES["confirm_opt_out"], "oui")


@pytest.mark.parametrize("yes", ["Oui d'accord pour ça.", "oui, c'est bien ça", "Exactement, plus jamais."])
async def test_a_yes_with_more_words_confirms_the_opt_out(yes) -> None:
    # As a recogniser writes it after "N'amappeler plus jamais." (Whisper at 8 kHz): it used to go on
    # with the sales rail ("affirm → interest").
    r = run()
    await r.hear(said("N'amappeler plus jamais.", Intent.OPT_OUT, confirm=True))
    turn = await r.hear(said(yes, Intent.AFFIRM))
    assert turn.end is CallResult.OPTED_OUT and r.record.opted_out


async def test_a_no_to_the_opt_out_question_is_a_refusal_not_a_do_not_call_record() -> None:
    r = run()
    await r.hear(said("arrêtez", Intent.OPT_OUT, confirm=True))
    turn = await r.hear(said("non", Intent.DENY))
    assert turn.end is CallResult.NOT_INTERESTED and not r.record.opted_out and r.record.refused


async def test_an_explicit_opt_out_is_decided_at_once() -> None:
    r = run()
    turn = await r.hear(said("ne m'appelez plus", Intent.OPT_OUT))
    assert turn.end is CallResult.OPTED_OUT
    assert (r.record.opt_out_request, r.record.opt_out_question, r.record.opt_out_confirmation) == (
        "ne m'appelez plus", "", "")


async def test_a_refusal_then_silence_is_a_refusal_not_a_missed_call() -> None:
    r = run()
    await r.hear(said("oui", Intent.AFFIRM))
    turn = await r.hear(said("non merci je ne suis pas intéressé", Intent.OBJECTION, "not_interested"))
    assert turn.end is None and "Avant de vous" in turn.text  # the rebuttal
    turn = r.silence()
    assert turn.end is CallResult.NOT_INTERESTED and turn.text == ENGINE_LINES["goodbye_refused"]


async def test_a_refusal_then_a_hang_up_is_a_refusal_and_a_plain_hang_up_concludes_nothing() -> None:
    r = run()
    await r.hear(said("non merci pas intéressé", Intent.OBJECTION, "not_interested"))
    assert r.hung_up() is CallResult.NOT_INTERESTED
    assert run().hung_up() is None
    changed_mind = run()
    await changed_mind.hear(said("pas intéressé", Intent.OBJECTION, "not_interested"))
    await changed_mind.hear(said("ah si finalement", Intent.AFFIRM))
    assert changed_mind.hung_up() is None
    silent = run()
    silent.silence()
    assert silent.silence().end is CallResult.NO_ANSWER  # nobody ever said no: still a missed call


async def test_a_callback_time_is_said_back_and_a_correction_keeps_the_day() -> None:
    r = run()
    turn = await r.hear(said("rappelez-moi demain vers des 8 heures", Intent.CALLBACK))
    assert turn.end is None and turn.text == "Je vous rappelle demain à 18 heures, c'est bien ça ?"
    turn = await r.hear(said("non plutôt 19 heures", Intent.DENY))
    assert turn.text == "Je vous rappelle demain à 19 heures, c'est bien ça ?"
    turn = await r.hear(said("oui c'est ça", Intent.AFFIRM))
    assert turn.end is CallResult.CALLBACK_REQUESTED and "demain à 19 heures" in turn.text
    assert r.record.callback_at == datetime(2026, 12, 4, 19, 0, tzinfo=PARIS)


async def test_a_time_outside_legal_hours_gets_the_nearest_legal_slot_proposed_aloud() -> None:
    r = run()
    turn = await r.hear(said("rappelez-moi ce soir à 21 heures", Intent.CALLBACK))
    assert "en dehors des horaires autorisés" in turn.text and "demain à 10 heures" in turn.text
    turn = await r.hear(said("d'accord", Intent.AFFIRM))
    assert r.record.callback_at == datetime(2026, 12, 4, 10, 0, tzinfo=PARIS)
    assert turn.end is CallResult.CALLBACK_REQUESTED


async def test_a_no_to_the_time_asks_when_and_a_callback_without_time_ends_as_before() -> None:
    r = run()
    await r.hear(said("rappelez-moi lundi à 11 heures", Intent.CALLBACK))
    turn = await r.hear(said("non", Intent.DENY))
    assert turn.text == ENGINE_LINES["callback_when"]
    turn = await r.hear(said("mardi après-midi", Intent.CALLBACK))
    assert "mardi" in turn.text and turn.end is None
    plain = await run().hear(said("rappelez-moi plus tard", Intent.CALLBACK))
    assert plain.end is CallResult.CALLBACK_REQUESTED and plain.text == ENGINE_LINES["callback"]


async def test_an_irritated_caller_gets_an_apology_and_a_way_out_not_the_next_question() -> None:
    r = run()
    turn = await r.hear(said("mais non enfin", Intent.DENY, sentiment="irritated"))
    assert turn.text == ENGINE_LINES["irritated"] and turn.end is None
    turn = await r.hear(said("non restons-en là", Intent.DENY))
    assert turn.end is CallResult.NOT_INTERESTED
    r = run()
    await r.hear(said("vous me faites perdre mon temps", Intent.OBJECTION, "no_time", sentiment="irritated"))
    turn = await r.hear(said("oui rappelez-moi demain à 14 heures", Intent.CALLBACK))
    assert turn.text == "Je vous rappelle demain à 14 heures, c'est bien ça ?"


def test_the_caller_mood_is_stored_with_their_line_of_the_transcript() -> None:
    import json
    import time

    from bot.call.call import CallRecord, Utterance
    from bot.store.calls import record_fields

    record = CallRecord("c1", "outbound", "+33600000000")
    record.said("Bonjour, vous avez une minute ?")
    record.utterances.append(Utterance("caller", "bande d'escrocs", time.monotonic()))
    record.caller_mood("bande d'escrocs", "irritated")
    transcript = json.loads(record_fields(record)["transcript"])
    assert [line.get("sentiment") for line in transcript] == [None, "irritated"]
    assert "sentiment" not in transcript[0]  # the bot's lines carry none


async def test_silence_after_a_callback_time_asks_again_then_keeps_the_time() -> None:
    r = run()
    await r.hear(said("rappelez-moi demain à 15 heures", Intent.CALLBACK))
    again = r.silence()
    assert again.end is None and again.text.endswith("Je vous rappelle demain à 15 heures, c'est bien ça ?")
    assert r.silence().end is CallResult.CALLBACK_REQUESTED
    assert r.record.callback_at == datetime(2026, 12, 4, 15, 0, tzinfo=PARIS)
