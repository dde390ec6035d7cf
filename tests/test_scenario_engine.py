"""The scenario engine decides turn by turn from what the caller meant (no audio here)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.dialog.freestyle import RailReturn, RailReturns
from bot.dialog.intents import Intent, Understanding
from bot.dialog.objections.library import Library, Objection
from bot.dialog.scenario.engine import ScenarioRun
from bot.dialog.scenario.lines import ENGINE_LINES
from bot.dialog.scenario.loader import last_question, load_scenario
from bot.dialog.scenario.model import CallResult

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"

LIBRARY = Library(
    (
        Objection("no_time", "general", Intent.OBJECTION, ("pas le temps",) * 3, "Je serai bref, {{first_name}}.", "x"),
        Objection("who_are_you", "general", Intent.QUESTION, ("qui êtes-vous",) * 3, "Je suis {{agent_name}}.", "y"),
    )
)


def said(intent: Intent, objection: str | None = None, score: float = 0.9, text: str = "...") -> Understanding:
    return Understanding(text, intent, objection, score, "test")


def demo_run(**kwargs) -> ScenarioRun:
    return ScenarioRun(load_scenario(DEMO), {"first_name": "Marie"}, library=LIBRARY, rng=random.Random(1), **kwargs)


async def test_the_rail_to_a_qualified_lead() -> None:
    run = demo_run()
    first = run.start()
    assert "Bonjour Marie" in first.text and "automatisée" in first.text and first.end is None
    turn = await run.hear(said(Intent.AFFIRM))
    assert run.step_name == "interest" and "petites entreprises" in turn.text
    turn = await run.hear(said(Intent.AFFIRM))
    assert turn.end is CallResult.QUALIFIED and run.record.qualification == 1.0
    assert run.record.steps == ["hello", "interest", "is_lead", "goodbye_qualified"]


async def test_a_lukewarm_answer_scores_under_the_threshold() -> None:
    run = demo_run()
    run.start()
    await run.hear(said(Intent.AFFIRM))
    turn = await run.hear(said(Intent.UNSURE))  # 40 of 100 points < 70 %
    assert turn.end is CallResult.NOT_QUALIFIED and run.record.qualification == pytest.approx(0.4)


async def test_an_opt_out_ends_the_call_whatever_the_step_maps() -> None:
    run = demo_run()
    run.start()
    turn = await run.hear(said(Intent.OPT_OUT))
    assert turn.end is CallResult.OPTED_OUT and run.record.opted_out
    assert turn.text == ENGINE_LINES["opt_out"]


async def test_repeat_says_the_step_again_and_stays() -> None:
    run = demo_run()
    first = run.start()
    turn = await run.hear(said(Intent.REPEAT))
    assert turn.text == first.text and run.step_name == "hello"


async def test_callback_and_transfer_without_an_agent_step_end_as_callback() -> None:
    run = demo_run()
    run.start()
    assert (await run.hear(said(Intent.CALLBACK))).end is CallResult.CALLBACK_REQUESTED
    run = demo_run()
    run.start()
    turn = await run.hear(said(Intent.TRANSFER))
    assert turn.end is CallResult.CALLBACK_REQUESTED and turn.text == ENGINE_LINES["no_transfer"]


async def test_a_confident_objection_is_answered_then_the_question_comes_back() -> None:
    run = demo_run(rail_returns=RailReturns([RailReturn("a", "Pour revenir à ma question."), RailReturn("b", "Bref.")]))
    first = run.start()
    turn = await run.hear(said(Intent.OBJECTION, "no_time", score=0.8))
    assert [line.key for line in turn.lines][0::2] == ["objection:no_time", "ask_again:hello"]
    assert turn.lines[1].key.startswith("rail_return:")
    # The greeting's question, not the greeting: the bot does not introduce itself twice.
    assert turn.lines[0].text == "Je serai bref, Marie." and turn.lines[2].text == "Vous avez une petite minute ?"
    assert first.text.endswith(turn.lines[2].text)
    assert run.step_name == "hello" and run.record.objections == ["no_time"]
    assert run.silence().lines[1].text == "Vous avez une petite minute ?"  # and after a silence
    assert (await run.hear(said(Intent.REPEAT))).text == first.text  # asked to repeat: the whole line


async def test_past_the_greeting_the_whole_line_comes_back_or_the_authors_ask_again() -> None:
    run = demo_run()
    run.start()
    interest = await run.hear(said(Intent.AFFIRM))
    turn = await run.hear(said(Intent.OBJECTION, "no_time", score=0.8))
    # "Nous aidons … Est-ce que ça pourrait vous être utile ?": a question may point back at the
    # sentence before it ("ce créneau vous conviendrait ?"), so the line comes back whole.
    assert turn.lines[-1].key == "step:interest" and turn.lines[-1].text == interest.text
    scenario = load_scenario(DEMO)
    scenario.steps["interest"] = scenario.steps["interest"].model_copy(
        update={"ask_again": "Alors, {{first_name}}, ça pourrait vous être utile ?"})
    run = ScenarioRun(scenario, {"first_name": "Marie"}, library=LIBRARY, rng=random.Random(1))
    run.start()
    await run.hear(said(Intent.AFFIRM))
    turn = await run.hear(said(Intent.OBJECTION, "no_time", score=0.8))
    assert turn.lines[-1].key == "ask_again:interest"
    assert turn.lines[-1].text == "Alors, Marie, ça pourrait vous être utile ?"


@pytest.mark.parametrize(("text", "question"), [
    ("Bonjour Marie, je suis Camille. Cet appel est enregistré. Vous avez une petite minute ?",
     "Vous avez une petite minute ?"),
    ("Jeudi ou vendredi ? Lequel vous arrange ?", "Jeudi ou vendredi ? Lequel vous arrange ?"),
    ("Bonjour. M. Martin, vous avez une minute ? Je serai bref.", "M. Martin, vous avez une minute ? Je serai bref."),
    ("Merci, bonne journée.", "Merci, bonne journée."),
])
def test_a_lines_question(text, question) -> None:
    assert last_question(text) == question


async def test_a_middling_match_asks_freestyle_with_the_entry_as_hint_and_falls_back_to_it() -> None:
    asked = []

    async def freestyle(text, context, hint, history):
        asked.append(hint)
        return None  # the LLM is down

    run = demo_run(freestyle=freestyle)
    run.start()
    turn = await run.hear(said(Intent.QUESTION, "who_are_you", score=0.6))
    assert asked == ["Je suis {{agent_name}}."]
    assert turn.lines[0].key == "objection:who_are_you" and turn.lines[0].text == "Je suis Camille."


async def test_an_unmatched_question_gets_freestyle_or_an_honest_later() -> None:
    async def freestyle(text, context, hint, history):
        return "Nous sommes basés à Lyon."

    run = demo_run(freestyle=freestyle)
    run.start()
    turn = await run.hear(said(Intent.QUESTION, None, score=0.3, text="vous êtes où"))
    assert turn.lines[0].key == "freestyle" and run.record.freestyle_turns == 1
    run = demo_run()
    run.start()
    turn = await run.hear(said(Intent.QUESTION, None, score=0.3))
    assert turn.lines[0].text == ENGINE_LINES["question_later"]


async def test_after_max_autonomous_turns_the_rail_moves_on() -> None:
    run = demo_run()
    run.start()
    for objection in ("no_time", "who_are_you"):  # max_autonomous_turns: 2 in demo.yaml
        await run.hear(said(Intent.OBJECTION, objection))
        assert run.step_name == "hello"
    await run.hear(said(Intent.OBJECTION, "no_time"))
    assert run.step_name == "interest"


async def test_the_same_objection_twice_takes_the_callers_no_path() -> None:
    run = demo_run()
    run.start()
    await run.hear(said(Intent.AFFIRM))
    first = await run.hear(said(Intent.OBJECTION, "no_time"))
    assert first.lines[0].key == "objection:no_time" and run.step_name == "interest"
    again = await run.hear(said(Intent.OBJECTION, "no_time"))
    assert again.end is CallResult.NOT_INTERESTED and run.record.objections == ["no_time"]


async def test_two_silences_in_a_row_end_as_no_answer_and_speech_resets_the_count() -> None:
    run = demo_run()
    first = run.start()
    turn = run.silence()
    assert turn.lines[0].text == ENGINE_LINES["still_there"] and turn.end is None
    assert first.text.endswith(turn.lines[1].text)  # the greeting's question (the test above)
    await run.hear(said(Intent.REPEAT))
    assert run.silence().end is None
    assert run.silence().end is CallResult.NO_ANSWER


async def test_max_turns_wraps_up_through_the_qualification_check() -> None:
    run = demo_run()
    run.start()
    for _ in range(8):  # max_turns: 8
        await run.hear(said(Intent.REPEAT))
    turn = await run.hear(said(Intent.REPEAT))
    assert turn.lines[0].text == ENGINE_LINES["max_turns"] and turn.end is CallResult.NOT_QUALIFIED


async def test_a_machine_gets_the_voicemail_message_or_a_hang_up() -> None:
    assert demo_run().machine().end is CallResult.ANSWERING_MACHINE
    scenario = load_scenario(DEMO).model_copy(deep=True)
    from bot.dialog.scenario.model import Voicemail

    scenario.voicemail = Voicemail(say="Bonjour {{first_name}}, rappelez-nous.")
    turn = ScenarioRun(scenario, {"first_name": "Marie"}).machine()
    assert turn.end is CallResult.VOICEMAIL_LEFT and turn.text == "Bonjour Marie, rappelez-nous."
