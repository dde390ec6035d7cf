"""Backchannels are not interruptions: a "oui, d'accord" over the bot stops its line within the
barge-in budget (nothing can tell it from "oui mais..." that early) and the line then resumes
where it was cut; words that carry meaning keep the turn for the caller."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from ari.client import AriConfig
from ari.simulator import Human, Say, SimulatedAsterisk
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.interruption import InterruptionTiming, remaining, resume_point
from bot.call.prompt import Prompt
from bot.call.runtime import PROMPTS, demo_conversation
from bot.speech.asr.vosk_server import VoskServerRecognizer
from bot.speech.pcm import to_pcm
from bot.speech.turn import is_backchannel
from tests.fake_vosk_server import FakeVoskServer

PASSWORD = "s3cret-test"


@pytest.mark.parametrize("text", ["Oui.", "Mm-hmm.", "D'accord.", "Hein ?", "Ouais.", "Je vois.", "Oui, d'accord.",
                                  "Euh...", ""])
def test_acknowledgements_are_backchannels(text):
    assert is_backchannel(text)


@pytest.mark.parametrize("text", ["Non merci.", "Oui mais je n'ai pas le temps.", "C'est combien ?", "Je veux",
                                  "Arrêtez de m'appeler."])
def test_words_that_carry_meaning_are_not(text):
    assert not is_backchannel(text)


def test_a_line_resumes_at_the_quiet_moment_before_the_cut():
    rate = 16000
    word = np.sin(np.arange(int(0.4 * rate)) / 5).astype(np.float32) * 0.5
    gap = np.zeros(int(0.1 * rate), np.float32)
    pcm = to_pcm(np.concatenate([word, gap, word, gap, word]))  # words at 0-0.4, 0.5-0.9, 1.0-1.4 s
    at = resume_point(pcm, rate, cut_s=1.2, rewind_max=1.0)
    assert 0.9 <= at < 1.0  # the gap before the third word
    assert resume_point(pcm, rate, cut_s=0.01, rewind_max=1.0) == 0.0


def test_the_rest_of_a_list_of_prompts():
    bonjour, offre = (Prompt.load(PROMPTS / f"{n}.wav16") for n in ("bonjour", "offre"))
    rest, offset = remaining([bonjour, offre], bonjour.duration + 0.5)
    assert rest == [offre] and offset == 500
    rest, offset = remaining([bonjour, offre], 0.25)
    assert rest == [bonjour, offre] and offset == 250
    assert remaining([bonjour], bonjour.duration + 1) == ([], 0)


@pytest.fixture
async def vosk():
    """The French vosk-server stand-in (tests/fake_vosk_server.py): streaming words, and the same
    words for the same clip on a loaded machine, where Whisper hears "à l'eau" for "d'accord"."""
    async with FakeVoskServer() as server:
        yield VoskServerRecognizer(server.url)


async def _place(recognizer, callee):
    # What the caller said decides; how fast Whisper says it on a loaded 2-core machine does not.
    patient = InterruptionTiming(verdict_max=20.0)
    async with SimulatedAsterisk(password=PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server:
        sim.add_callee("PJSIP/+33612345678@trunk", callee)
        ari = AriConfig(url=sim.url, username="minibot", password=PASSWORD)
        config = CallConfig(audiosocket_address=server.address, endpoint_template="PJSIP/{number}@trunk",
                            ring_timeout=10, media_timeout=2.0, interruptions=patient)
        async with CallController(ari, config, server, recognizer) as ctl:
            record = await asyncio.wait_for(ctl.place_call("+33612345678", demo_conversation()), 60)
        return record, sim.calls[-1]


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
async def test_a_backchannel_over_the_bot_resumes_its_line(vosk):
    # "allô", then "d'accord" 1.5 s into the greeting: it stops, then plays on from the cut.
    callee = Human(utterances=[Say("allo", at=0.3), Say("daccord", at=1.5, over_prompt=True)],
                   echo_db=-12, echo_delay_ms=80, hangup_when_idle=12.0)
    record, sim_call = await _place(vosk, callee)
    greetings = [p for p in sim_call.played if p.media.endswith("bonjour")]
    assert len(greetings) == 2, str(record.timeline)
    assert greetings[0].stopped_early and not greetings[1].stopped_early, str(record.timeline)
    assert "false interruption" in str(record.timeline)
    # Played on from the cut, not from the start: the second part is shorter than the line.
    assert greetings[1].duration is None or greetings[1].played_seconds < greetings[1].duration - 0.5


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
async def test_words_over_the_bot_take_the_turn(vosk):
    callee = Human(utterances=[Say("allo", at=0.3), Say("non_merci", at=1.5, over_prompt=True)],
                   echo_db=-12, echo_delay_ms=80, hangup_when_idle=12.0)
    record, sim_call = await _place(vosk, callee)
    greetings = [p for p in sim_call.played if p.media.endswith("bonjour")]
    assert len(greetings) == 1 and greetings[0].stopped_early, str(record.timeline)
    assert "false interruption" not in str(record.timeline)
