"""Backchannels are not interruptions: a "oui, d'accord" over the bot lowers its line within the
barge-in budget (nothing can tell it from "oui mais..." that early) and the line comes back to
full voice, never stopped; words that carry meaning stop it and keep the turn for the caller.
Over the greeting's first moments (the callee's "allô") the line stops at once, and a
backchannel then resumes it where it was cut."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from ari.client import AriConfig
from ari.simulator import Human, Say, SimulatedAsterisk
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.interruption import Interruptions, InterruptionTiming, remaining, resume_point
from bot.call.prompt import Prompt
from bot.call.runtime import PROMPTS, demo_conversation
from bot.speech import events as sev
from bot.speech.asr.vosk_server import VoskServerRecognizer
from bot.speech.pcm import to_pcm
from bot.speech.turn import is_backchannel
from tests.fake_vosk_server import FakeVoskServer

PASSWORD = "s3cret-test"


@pytest.mark.parametrize("text", ["Oui.", "Mm-hmm.", "D'accord.", "Hein ?", "Ouais.", "Je vois.", "Oui, d'accord.",
                                  "Euh...", "", "Tout à fait.", "Ah bon ?", "Oui, effectivement.", "C'est vrai.",
                                  "Je vous vois."])
def test_acknowledgements_are_backchannels(text):
    assert is_backchannel(text)


@pytest.mark.parametrize("text", ["Non merci.", "Oui mais je n'ai pas le temps.", "C'est combien ?", "Je veux",
                                  "Arrêtez de m'appeler.", "C'est vrai ?  Combien ?", "Pas du tout.",
                                  "Je vous vois venir."])
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


def _lowered(onset_ago: float) -> Interruptions:
    """A line lowered for a barge-in whose onset was ``onset_ago`` seconds back."""
    it = Interruptions()
    now = time.monotonic()
    it.barged("p0", sev.BargeInDetected(now - onset_ago, now, None), now, ducked=True)
    return it


async def test_acknowledgements_then_a_pause_bring_the_line_back_at_once():
    it = _lowered(0.5)
    it.heard(sev.PartialTranscript("d'accord", time.monotonic()))
    assert await it.judge_lowered(lambda now: 0.3)  # a streaming recogniser's words, then 300 ms quiet
    assert it.played_through == 1 and "d'accord" in it.why


async def test_words_that_carry_meaning_stop_the_lowered_line():
    it = _lowered(0.3)
    it.heard(sev.PartialTranscript("oui mais", time.monotonic()))
    assert not await it.judge_lowered(lambda now: 0.0)
    assert it.played_through == 0 and "oui mais" in it.why


async def test_speech_still_going_after_backchannel_max_stops_the_lowered_line():
    it = _lowered(InterruptionTiming().backchannel_max + 0.1)
    it.heard(sev.PartialTranscript("oui", time.monotonic()))
    assert not await it.judge_lowered(lambda now: 0.05)  # voiced 50 ms ago: still talking
    assert "still speaking" in it.why


async def test_a_short_utterance_waits_for_its_words():
    it = _lowered(0.4)
    judging = asyncio.ensure_future(it.judge_lowered(lambda now: None))  # their speech ended
    await asyncio.sleep(0.1)
    assert not judging.done()  # an offline recogniser (Whisper): the words come after the end
    it.heard(sev.FinalTranscript("Oui.", time.monotonic(), 0.4, 0.2))
    assert await judging


async def test_no_words_within_verdict_max_stops_the_lowered_line():
    it = _lowered(InterruptionTiming().verdict_max + 0.1)
    assert not await it.judge_lowered(lambda now: None)
    assert "no words" in it.why


@pytest.mark.parametrize(("duck_db", "volume"), [(-20.0, "-10"), (-26.0, "-20"), (-6.0, "-2")])
def test_the_lowering_as_func_volume_reads_it(duck_db, volume):
    # VOLUME(TX)=-10 divides each sample by 10 (ast_frame_adjust_volume): -20 dB
    assert InterruptionTiming(duck_db=duck_db).duck_volume == volume


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


def _heard_level(record, sim_call, started: float, since: str, until: str) -> tuple[float, float]:
    """The greeting's level as the callee heard it, relative to the file's own (1.0: as
    recorded), over the frames between two timeline entries, and over all the others."""
    line = sim_call.channel("caller").line
    prompt = Prompt.load(PROMPTS / "bonjour.wav16").audio.at_rate(16000).pcm
    x = np.frombuffer(prompt, dtype="<i2").astype(np.float32) / 32768
    own = np.sqrt(np.mean(x[: len(x) // 320 * 320].reshape(-1, 320) ** 2, axis=1))
    first = round((started - line.t0) / 0.02)
    heard = np.array(line.heard_rms[first: first + len(own)])
    own = own[: len(heard)]
    at = {what: record.timeline.started + t - started
          for t, what in record.timeline.entries for key in (since, until) if what.startswith(key)}
    lo, hi = (next(v for k, v in at.items() if k.startswith(key)) for key in (since, until))
    t = np.arange(len(heard)) * 0.02
    loud = own > 0.02  # words, not the pauses between them
    inside = loud & (t > lo + 0.06) & (t < hi - 0.02)
    outside = loud & ((t < lo - 0.1) | (t > hi + 0.1))
    return float(np.median(heard[inside] / own[inside])), float(np.median(heard[outside] / own[outside]))


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
async def test_a_backchannel_over_the_bot_never_stops_its_line(vosk):
    # "allô", then "d'accord" 2.2 s into the greeting: the line is lowered (-20 dB) within the
    # barge-in budget, then back to full voice once the words are only an acknowledgement.
    callee = Human(utterances=[Say("allo", at=0.3), Say("daccord", at=2.2, over_prompt=True)],
                   echo_db=-12, echo_delay_ms=80, hangup_when_idle=12.0)
    record, sim_call = await _place(vosk, callee)
    timeline = str(record.timeline)
    greetings = [p for p in sim_call.played if p.media.endswith("bonjour")]
    assert len(greetings) == 1 and not greetings[0].stopped_early, timeline
    assert record.backchannels == 1 and record.barge_ins == 0, timeline  # not an interruption
    assert "backchannel (" in timeline and "the line stops" not in timeline, timeline
    lowered, full = _heard_level(record, sim_call, greetings[0].started_at, "barge-in", "backchannel")
    assert 0.05 < lowered < 0.15, timeline  # -20 dB: still heard, clearly yielding
    assert full > 0.9, timeline


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
async def test_a_backchannel_as_the_greeting_starts_resumes_its_line(vosk):
    # "d'accord" 0.8 s into the greeting, where a callee's "allô" would cover its first words:
    # it stops at once, then plays on from the cut.
    callee = Human(utterances=[Say("allo", at=0.3), Say("daccord", at=0.8, over_prompt=True)],
                   echo_db=-12, echo_delay_ms=80, hangup_when_idle=12.0)
    record, sim_call = await _place(vosk, callee)
    greetings = [p for p in sim_call.played if p.media.endswith("bonjour")]
    assert len(greetings) == 2, str(record.timeline)
    assert greetings[0].stopped_early and not greetings[1].stopped_early, str(record.timeline)
    assert "false interruption" in str(record.timeline)
    # Played on from the cut, not from the start: the second part is shorter than the line.
    assert greetings[1].duration is None or greetings[1].played_seconds < greetings[1].duration - 0.3


@pytest.mark.slow
@pytest.mark.flaky(reruns=1)
async def test_words_over_the_bot_take_the_turn(vosk):
    callee = Human(utterances=[Say("allo", at=0.3), Say("non_merci", at=1.5, over_prompt=True)],
                   echo_db=-12, echo_delay_ms=80, hangup_when_idle=12.0)
    record, sim_call = await _place(vosk, callee)
    timeline = str(record.timeline)
    greetings = [p for p in sim_call.played if p.media.endswith("bonjour")]
    assert len(greetings) == 1 and greetings[0].stopped_early, timeline
    assert "the line is lowered" in timeline and "the line stops, the caller's turn" in timeline, timeline
    assert "false interruption" not in timeline and "backchannel (" not in timeline
