"""The demo scenario on the real Asterisk, one `[callee-sim]` callee at a time: MiniBot's brain,
voice (espeak-ng) and call control, Whisper hearing the callee."""

from __future__ import annotations

import shutil

import pytest

from bot.call.outcome import Outcome
from bot.call.scenario_conversation import ScenarioConversation
from bot.dialog.brain import Brain
from bot.speech.tts import load_engine
from bot.voice.cache import AudioCache
from bot.voice.voice import CachedVoice
from tests.live.calls import loud_seconds, place, recording

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed"),
]


@pytest.fixture(scope="module")
def brain():
    return Brain.build("demo")


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    return CachedVoice(load_engine("espeak"), AudioCache(tmp_path_factory.mktemp("audio")))


def conversation(brain, voice) -> ScenarioConversation:
    return ScenarioConversation(brain, voice, {"first_name": "Marie"})


async def test_person_who_hangs_up_mid_pitch(live_asterisk, whisper, brain, voice):
    """`human`: "Allô, oui, bonjour.", then "ça m'intéresse beaucoup" over the greeting, then
    hangs up before the bot is done: a person (verdict human), the cause of their hang-up, both
    sides in time order, the recording holding both voices."""
    record = await place(live_asterisk, whisper, "human", conversation(brain, voice))
    print(record.timeline)
    assert record.outcome is Outcome.ANSWERED
    assert record.cause == 16 and record.cause_txt  # the callee hung up (Normal Clearing)
    assert record.amd_status in ("HUMAN", "NOTSURE")
    assert record.amd_verdict == "human"
    assert record.answer_to_first_audio is not None
    speakers = [u.speaker for u in record.utterances]
    assert "bot" in speakers
    assert record.barge_ins >= 1  # MiniBot heard them talk over its greeting
    # Their words (when the recogniser, slow on a loaded CI host, had them before the hang-up) in
    # time order with the bot's, though recognised after the bot's lines began (tests/test_call_record.py)
    assert [u.at for u in record.utterances] == sorted(u.at for u in record.utterances)
    audio = recording(live_asterisk, record)
    # the callee's two lines (3.6 s) and the bot's greeting: well over 4 s of sound
    assert audio.duration > 5 and loud_seconds(audio) > 4


async def test_voicemail(live_asterisk, whisper, brain, voice):
    """`machine`: a long voicemail greeting; AMD says MACHINE, the verdict is machine."""
    record = await place(live_asterisk, whisper, "machine", conversation(brain, voice))
    print(record.timeline)
    assert record.outcome is Outcome.ANSWERED and record.amd_status == "MACHINE"
    assert record.amd_verdict == "machine"
    assert record.result == "ANSWERING_MACHINE"
    assert record.cause == 16  # the bot hung up: Normal Clearing
    # The greeting is in the recording: it plays from ~0.5 s (the Local channel's media wait) until the
    # bot hangs up, never before AMD's verdict (3.4 s); 2.6 s of it were loud on an idle machine.
    assert loud_seconds(recording(live_asterisk, record)) > 2


async def test_silent_callee_who_hangs_up(live_asterisk, whisper, brain, voice):
    """`hangup`: answers, says nothing, hangs up after 2 s while the bot greets."""
    record = await place(live_asterisk, whisper, "hangup", conversation(brain, voice))
    print(record.timeline)
    assert record.outcome is Outcome.ANSWERED
    assert record.cause == 16
    assert record.amd_verdict is not None
    assert record.transcripts == []
    assert record.first_audio_at is not None


DTMF_SCENARIO = """
name: touches
title: Rappel par touche
agent_name: Camille
company_name: MiniBot Services
objective: lead
rail: [hello, bye]
steps:
  hello:
    disclosure: true
    say: Bonjour, je suis Camille, une assistante automatisée. Tapez 1 pour être rappelé.
    dtmf: {"1": callback}
    intent_mapping:
      default: bye
  bye:
    say: Merci, au revoir.
    result: NOT_QUALIFIED
"""


async def test_keys_pressed_are_recorded_and_a_step_maps_one(live_asterisk, whisper, voice, tmp_path):
    """`dtmf`: presses 1, 2, # during the greeting; the step maps 1 to a callback request."""
    path = tmp_path / "touches.yaml"
    path.write_text(DTMF_SCENARIO)
    record = await place(live_asterisk, whisper, "dtmf", ScenarioConversation(Brain.build(path), voice, {}))
    print(record.timeline)
    assert [digit for _, digit in record.dtmf] == ["1", "2", "#"]
    assert [e for _, e in record.timeline.entries if e.startswith("dtmf ")] == ["dtmf 1", "dtmf 2", "dtmf #"]
    assert record.result == "CALLBACK_REQUESTED"
    assert record.outcome is Outcome.ANSWERED
