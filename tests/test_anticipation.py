"""Classifying the caller's partial words while they speak (bot.call.anticipation), with the
real offline classifier of the demo scenario behind a wrapper that counts and can hold calls."""

import asyncio

import pytest

from bot.call.anticipation import Anticipation
from bot.dialog.brain import Brain
from bot.dialog.intents import Intent


@pytest.fixture(scope="module")
def offline():
    return Brain.build("demo").classifier


class Counting:
    """The real classifier; records what it was asked, and holds answers while `gate` is shut."""

    def __init__(self, inner, cheap: bool = True) -> None:
        self.inner, self.cheap = inner, cheap
        self.asked: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def understand(self, text):
        self.asked.append(text)
        await self.gate.wait()
        return await self.inner.understand(text)


async def test_the_final_words_find_their_meaning_already_classified(offline):
    classifier = Counting(offline)
    anticipation = Anticipation(classifier)
    for partial in ["non", "non merci", "non merci je ne suis pas intéressé"]:
        anticipation.heard(partial)
        await asyncio.sleep(0.2)
    understood = await anticipation.understand("non merci je ne suis pas intéressé")
    assert anticipation.hits == 1
    assert classifier.asked == ["non", "non merci", "non merci je ne suis pas intéressé"]  # never twice
    direct = await offline.understand("non merci je ne suis pas intéressé")
    assert (understood.intent, understood.objection) == (direct.intent, direct.objection)
    assert understood.intent in (Intent.DENY, Intent.OBJECTION)
    anticipation.close()


async def test_final_words_that_no_partial_had_are_classified_then(offline):
    classifier = Counting(offline)
    anticipation = Anticipation(classifier)
    anticipation.heard("oui d'accord")
    understood = await anticipation.understand("oui d'accord pourquoi pas")
    assert anticipation.hits == 0 and "oui d'accord pourquoi pas" in classifier.asked
    assert understood.intent is Intent.AFFIRM
    anticipation.close()


async def test_partials_that_follow_each_other_quickly_are_not_all_guessed(offline):
    classifier = Counting(offline)
    anticipation = Anticipation(classifier, settle=0.1)
    for partial in ["ne", "ne m'appelez", "ne m'appelez plus"]:
        anticipation.heard(partial)
        await asyncio.sleep(0.02)  # a word every 20 ms: none stands for 100 ms
    await asyncio.sleep(0.4)
    assert classifier.asked == ["ne m'appelez plus"]  # the one the caller paused on
    assert (await anticipation.understand("ne m'appelez plus")).intent is Intent.OPT_OUT
    assert anticipation.hits == 1
    anticipation.close()


async def test_one_guess_at_a_time_and_the_newest_partial_wins(offline):
    classifier = Counting(offline)
    classifier.gate.clear()
    anticipation = Anticipation(classifier, settle=0)
    for partial in ["je", "je n'ai", "je n'ai pas", "je n'ai pas le temps"]:
        anticipation.heard(partial)
        await asyncio.sleep(0.01)
    assert classifier.asked == ["je"]  # the rest wait for it
    classifier.gate.set()
    await asyncio.sleep(0.3)  # the caller's silence before the turn ends
    understood = await anticipation.understand("je n'ai pas le temps")
    assert classifier.asked == ["je", "je n'ai pas le temps"]  # the partials in between were skipped
    assert anticipation.hits == 1 and understood.text == "je n'ai pas le temps"
    anticipation.close()


async def test_a_classifier_that_is_not_cheap_is_asked_once_for_the_final(offline):
    classifier = Counting(offline, cheap=False)  # an LLM: its load is not spent on guesses
    anticipation = Anticipation(classifier)
    anticipation.heard("non merci")
    await anticipation.understand("non merci")
    assert classifier.asked == ["non merci"] and anticipation.hits == 0


async def test_close_cancels_the_guess_in_flight(offline):
    classifier = Counting(offline)
    classifier.gate.clear()
    anticipation = Anticipation(classifier, settle=0)
    anticipation.heard("allô")
    await asyncio.sleep(0.01)
    anticipation.heard("allô oui")
    await asyncio.sleep(0.01)
    anticipation.close()
    await asyncio.sleep(0.05)
    assert classifier.asked == ["allô"]  # the one waiting never started


async def test_final_words_still_waiting_for_their_guess_are_classified_once(offline):
    classifier = Counting(offline)
    classifier.gate.clear()
    anticipation = Anticipation(classifier, settle=0)
    anticipation.heard("je")
    await asyncio.sleep(0.01)
    anticipation.heard("je n'ai pas le temps")  # waits for the guess in flight
    await asyncio.sleep(0.01)
    classifier.gate.set()
    await anticipation.understand("je n'ai pas le temps")
    await asyncio.sleep(0.3)
    assert classifier.asked.count("je n'ai pas le temps") == 1
    anticipation.close()
