"""The bot's first words: after the callee's "allô", never over it, and not forever for a silent
callee. The policy alone (pure), then whole calls on the simulated Asterisk with the callee's
"allô" as late as a real line makes it (a Local channel cannot speak for ~500 ms after answer)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from ari.client import AriConfig
from ari.simulator import Human, Say, SimulatedAsterisk
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.first_words import FirstWords, FirstWordsTiming, decide
from bot.call.runtime import demo_conversation
from bot.config import Settings
from bot.speech.asr.models import whisper_base_dir
from bot.speech.asr.whisper_engine import WhisperRecognizer

T = FirstWordsTiming()
PASSWORD = "s3cret-test"
ALLO_VOICE = (0.04, 0.54)  # where the voice lies inside tests/fixtures/speech/allo_16k.wav, seconds


def _decide(now, *, speaking_since=None, quiet=None, last_voice_at=None):
    return decide(T, now=now, answered=0.0, speaking_since=speaking_since, quiet=quiet, last_voice_at=last_voice_at)


def test_a_silent_callee_hears_the_bot_after_the_bound_not_before():
    assert _decide(1.0) is FirstWords.WAIT  # the old fixed 1.0 s: a real callee's "allô" is only starting
    assert _decide(T.silent_callee - 0.01) is FirstWords.WAIT
    assert _decide(T.silent_callee) is FirstWords.SPEAK


def test_a_voice_not_yet_confirmed_as_speech_holds_the_bot():
    assert _decide(T.silent_callee + 0.1, last_voice_at=T.silent_callee) is FirstWords.WAIT
    assert _decide(T.silent_callee + 0.1, last_voice_at=T.silent_callee - T.voice_hold) is FirstWords.SPEAK
    # Line noise that keeps the VAD flickering never holds it past the bound.
    assert _decide(T.hold_max, last_voice_at=T.hold_max - 0.02) is FirstWords.SPEAK


def test_the_bot_speaks_when_the_allo_pauses():
    assert _decide(1.3, speaking_since=0.9, quiet=0.1, last_voice_at=1.2) is FirstWords.WAIT
    assert _decide(1.8, speaking_since=0.9, quiet=T.greeting_gap, last_voice_at=1.45) is FirstWords.SPEAK
    # Their utterance is over (the VAD ended it) and nothing new has started.
    assert _decide(2.4, speaking_since=0.9, quiet=None, last_voice_at=1.45) is FirstWords.SPEAK
    # ... but a second phrase is starting ("allô ? ... oui ?").
    assert _decide(2.4, speaking_since=0.9, quiet=None, last_voice_at=2.35) is FirstWords.WAIT


def test_a_long_greeting_is_for_the_amd_evidence():
    assert _decide(3.5, speaking_since=0.9, quiet=0.05, last_voice_at=3.45) is FirstWords.LONG


def test_timings_are_checked():
    with pytest.raises(ValueError, match="silent_callee"):
        FirstWordsTiming(silent_callee=0)
    with pytest.raises(ValueError, match="hold_max"):
        FirstWordsTiming(silent_callee=2.0, hold_max=1.0)


# -- whole calls on the simulator -------------------------------------------------------------


@pytest.fixture(scope="module")
def whisper():
    with ThreadPoolExecutor(2) as pool:
        yield WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)


async def _place(whisper, callee):
    async with SimulatedAsterisk(password=PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server:
        sim.add_callee("PJSIP/+33612345678@trunk", callee)
        ari = AriConfig(url=sim.url, username="minibot", password=PASSWORD)
        config = CallConfig(audiosocket_address=server.address, endpoint_template="PJSIP/{number}@trunk",
                            ring_timeout=10, media_timeout=2.0)
        async with CallController(ari, config, server, whisper) as ctl:
            record = await asyncio.wait_for(ctl.place_call("+33612345678", demo_conversation()), 60)
        return record, sim.calls[-1]


def _allo_voice(sim_call) -> tuple[float, float]:
    said = next(s for s in sim_call.said if s.clip == "allo")
    return said.started_at + ALLO_VOICE[0], said.started_at + ALLO_VOICE[1]


def _greetings(sim_call):
    return [p for p in sim_call.played if p.media.endswith("bonjour") and p.started_at is not None]



@pytest.mark.slow
async def test_an_allo_as_late_as_a_real_lines_is_never_talked_over(whisper):
    # A real Local-channel callee says "allô" ~0.9 s after answer; at 1.1 s the old fixed 1.0 s
    # greeting started under it every time.
    record, sim_call = await _place(whisper, Human(utterances=[Say("allo", at=1.1)], hangup_when_idle=3.0))
    start, end = _allo_voice(sim_call)
    greetings = _greetings(sim_call)
    assert greetings, record.timeline
    assert not any(s.over_prompt for s in sim_call.said), record.timeline
    assert all(not start <= p.started_at <= end for p in sim_call.played if p.started_at), record.timeline
    assert greetings[0].started_at > end, record.timeline


@pytest.mark.slow
async def test_an_allo_just_as_the_bot_begins_gets_the_greeting_again_after_it(whisper):
    callee = Human(utterances=[Say("allo", at=0.15, over_prompt=True)], echo_db=-12, echo_delay_ms=60,
                   hangup_when_idle=3.0)
    record, sim_call = await _place(whisper, callee)
    start, end = _allo_voice(sim_call)
    greetings = _greetings(sim_call)
    assert len(greetings) == 2 and greetings[0].stopped_early, record.timeline
    assert greetings[1].started_at > end and not greetings[1].stopped_early, record.timeline
    assert "greeting cut by the callee's own" in str(record.timeline)


@pytest.mark.slow
async def test_a_silent_callee_is_greeted_after_the_bound(whisper):
    record, sim_call = await _place(whisper, Human(utterances=[], hangup_when_idle=3.0))
    assert _greetings(sim_call), record.timeline
    assert record.answer_to_first_audio is not None and record.answer_to_first_audio >= T.silent_callee


@pytest.mark.parametrize(("text", "seconds", "answers"), [
    ("Non merci, je ne suis pas intéressé.", 2.4, True),
    ("C'est combien ?", 1.1, True),
    ("Allô, oui, bonjour.", 1.3, False),  # their own greeting
    ("Qui est à l'appareil ?", 1.2, False),
    ("Oui, d'accord.", 1.2, False),  # an acknowledgement
    ("à l'autre.", 0.6, False),  # an "allô" misheard: too short to be an answer
])
def test_words_over_the_greeting_that_answer_it(text, seconds, answers):
    from bot.call.first_words import answers_the_greeting

    assert answers_the_greeting(text, seconds) is answers
