"""The AI disclosure is heard, not just written: the transcript keeps what played (a cut line marked
with how far it got), a disclosure cut short is said again before the bot goes on, and the call
record says when it had been heard to its end."""

from __future__ import annotations

import pytest

from ari.simulator import Human, Say
from bot.call.disclosure import as_played, short_disclosure
from bot.call.scenario_conversation import ScenarioConversation
from tests.test_scenario_call import _call, brains, voice, whisper  # noqa: F401 - fixtures shared

GREETING = ("Bonjour Marie, je suis Camille, l'assistante vocale automatisée de MiniBot Services. "
            "Je vous précise que cet appel est enregistré.")


def test_lines_played_whole_are_kept_whole():
    heard = as_played([GREETING, "Vous avez deux minutes ?"], [6.0, 1.5], None)
    assert [(h.text, h.complete) for h in heard] == [(GREETING, True), ("Vous avez deux minutes ?", True)]
    assert (heard[-1].starts_at, heard[-1].ends_at) == (6.0, 7.5)


@pytest.mark.parametrize(("played", "kept_words", "mark"), [
    (0.9, 2, "(coupé à 0,9 s sur 6,0 s)"),  # measured on a real line: cut at 0.9 s
    (2.9, 9, "(coupé à 2,9 s sur 6,0 s)"),  # and at 2.9 s, before the recording notice at 4.9 s
    (5.99, 18, "(coupé à 6,0 s sur 6,0 s)"),  # a hair short of the end: still not heard whole
])
def test_a_cut_line_keeps_what_played_and_says_where_it_stopped(played, kept_words, mark):
    (line,) = as_played([GREETING, "Vous avez deux minutes ?"], [6.0, 1.5], played)
    assert not line.complete and line.text.endswith(mark)
    assert line.text.startswith(" ".join(GREETING.split()[:kept_words]) + " […]")


def test_the_line_after_the_cut_was_never_heard():
    heard = as_played(["Un.", "Deux."], [1.0, 1.0], 1.0)  # stopped exactly at the boundary
    assert [(h.text, h.complete) for h in heard] == [("Un.", True)]
    heard = as_played(["Un.", "Deux."], [1.0, 1.0], 1.4)
    assert heard[1].text.startswith("[…]") and not heard[1].complete


def test_the_repetition_is_short_and_says_both_facts():
    assert short_disclosure("ACME", True) == ("Je le précise : vous parlez à un assistant vocal automatisé de ACME, "
                                              "et cet appel est enregistré.")
    assert short_disclosure("ACME", False).endswith("de ACME.")


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
async def test_a_greeting_talked_over_is_said_again_before_going_on(whisper, brains, voice):  # noqa: F811
    conversation = ScenarioConversation(brains["demo"], voice, {"first_name": "Marie"})
    callee = Human(utterances=[Say("allo", at=0.3), Say("oui_daccord", at=1.6, over_prompt=True),
                               Say("interesse", after_prompt=True)], hangup_when_idle=8.0)
    record, played = await _call(whisper, callee, conversation)
    said = [u for u in record.utterances if u.speaker == "bot"]
    why = ([u.text for u in said], record.timeline.entries)
    assert "coupé à" in said[0].text and said[0].text.startswith("Bonjour Marie"), why
    # Said again (short, or the greeting itself when the scenario repeats its step) and heard to its end...
    assert record.disclosure_done_at is not None and record.disclosure_done_at > record.answered_at, why
    again = [u for u in said[1:] if u.text.startswith(("Je le précise", "Bonjour Marie")) and "coupé" not in u.text]
    assert again and again[0].at < record.disclosure_done_at, why
    # ... before any offer.
    offers = [u for u in said if u.text.startswith("Nous aidons les petites entreprises")]
    assert all(u.at >= record.disclosure_done_at for u in offers), why


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
async def test_a_greeting_heard_whole_is_not_repeated(whisper, brains, voice):  # noqa: F811
    conversation = ScenarioConversation(brains["demo"], voice, {"first_name": "Marie"})
    callee = Human(utterances=[Say("allo", at=0.3), Say("oui_daccord", after_prompt=True),
                               Say("interesse", after_prompt=True)], hangup_when_idle=8.0)
    record, _ = await _call(whisper, callee, conversation)
    bot = [u.text for u in record.utterances if u.speaker == "bot"]
    assert bot[0].startswith("Bonjour Marie") and "coupé" not in bot[0]
    assert not any(text.startswith("Je le précise") for text in bot)
    assert record.disclosure_done_at is not None


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
async def test_a_refusal_said_over_the_greeting_is_answered_once_the_greeting_has_played(whisper, brains,  # noqa: F811
                                                                                        voice):  # noqa: F811
    """The callee says "allô" and, as the bot begins, "non merci": the greeting (with the AI
    disclosure) is said again after them, whole, and then their refusal is the answer. It was
    dropped (taken as said before the question), and the callee was left in silence."""
    conversation = ScenarioConversation(brains["demo"], voice, {"first_name": "Marie"})
    callee = Human(utterances=[Say("allo", at=0.4), Say("non_merci", at=1.2, over_prompt=True)],
                   echo_db=-10, echo_delay_ms=150, hangup_when_idle=8.0)
    record, _ = await _call(whisper, callee, conversation)
    why = record.timeline.entries
    assert any("said again after it" in what for _, what in why), why
    assert record.disclosure_done_at is not None, why
    # Understood as a refusal and answered (the scenario's way out for it, whichever it is): a
    # plain no, or the "not interested" objection, which the engine answers then lets go.
    assert any(what.startswith(("understood deny", "understood objection/not_interested")) for _, what in why), why
    assert record.result in ("NOT_INTERESTED", "OPTED_OUT", "CALLBACK_REQUESTED"), why


@pytest.mark.slow
async def test_a_callee_who_hangs_up_over_the_greeting_leaves_what_they_heard_of_it(whisper, brains,  # noqa: F811
                                                                                    voice):  # noqa: F811
    """The prompts play on the call's bridge, and that playback outlives the caller's channel: no
    "stopped" comes for it. The greeting they heard part of is still in the transcript, cut where
    they hung up (a real Asterisk 22 lost it: tests/live/test_cli_call.py)."""
    conversation = ScenarioConversation(brains["demo"], voice, {"first_name": "Marie"})
    callee = Human(utterances=[Say("allo", at=0.3)], hangup_after=3.0)
    record, _ = await _call(whisper, callee, conversation)
    said = [u for u in record.utterances if u.speaker == "bot"]
    assert len(said) == 1 and said[0].text.startswith("Bonjour Marie"), record.timeline.entries
    assert "coupé à" in said[0].text and record.disclosure_done_at is None
    assert record.result == "HUNG_UP"
