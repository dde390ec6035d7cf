"""Call control end to end: MiniBot's ARI client, AudioSocket server, listen path and
recogniser against the simulated Asterisk, over real HTTP, WebSocket and TCP.

Every outcome of the issue, the failure paths, and after each call: no channel or bridge
left behind in Asterisk.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from ari.client import AriConfig
from ari.simulator import Agent, Busy, Congestion, Human, Machine, NoAnswer, Rejected, Say, SimulatedAsterisk
from ari.simulator import Unallocated as UnallocatedCallee
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.outcome import Outcome
from bot.call.runtime import demo_conversation
from bot.config import Settings
from bot.speech.asr.models import whisper_base_dir
from bot.speech.asr.whisper_engine import WhisperRecognizer

pytestmark = pytest.mark.slow

PASSWORD = "s3cret-test"


@pytest.fixture(scope="module")
def whisper():
    with ThreadPoolExecutor(2) as pool:
        yield WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)


@pytest.fixture
async def sim():
    async with SimulatedAsterisk(password=PASSWORD) as sim:
        yield sim


def _controller(sim, server, whisper, *, ring_timeout=10, inbound=None, give_up_after=30.0) -> CallController:
    ari = AriConfig(url=sim.url, username="minibot", password=PASSWORD)
    calls = CallConfig(audiosocket_address=server.address, endpoint_template="PJSIP/{number}@trunk",
                       caller_id="Agence <+33162000000>", ring_timeout=ring_timeout, media_timeout=2.0)
    return CallController(ari, calls, server, whisper, inbound=inbound, give_up_after=give_up_after)


async def _place(sim, whisper, callee, *, conversation=None, ring_timeout=10, during=None):
    sim.add_callee("PJSIP/+33612345678@trunk", callee)
    async with AudioSocketServer("127.0.0.1", 0) as server, _controller(sim, server, whisper,
                                                                         ring_timeout=ring_timeout) as ctl:
        task = asyncio.ensure_future(ctl.place_call("+33612345678", conversation or demo_conversation()))
        if during is not None:
            await during(sim, server)
        record = await asyncio.wait_for(task, 60)
    return record


async def _no_orphans(sim):
    # Asterisk side: every channel and bridge the call created is gone.
    for _ in range(50):
        if not sim.live_channels() and not sim.live_bridges():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"left in Asterisk: {sim.live_channels()} {sim.live_bridges()}")


async def test_a_person_who_says_allo_hears_the_bot_within_1_5_s(sim, whisper):
    callee = Human(utterances=[Say("allo", at=0.3), Say("interesse", after_prompt=True)], hangup_when_idle=6.0)
    record = await _place(sim, whisper, callee)
    assert record.outcome is Outcome.ANSWERED
    assert record.answer_to_first_audio is not None and record.answer_to_first_audio <= 1.5
    assert record.amd_status == "HUMAN"
    assert record.played[:2] == ["bonjour.wav16", "offre.wav16"]
    assert record.transcripts, "the caller's answer was heard"
    sim_call = sim.calls[-1]
    assert [p.media.rsplit("/", 1)[-1] for p in sim_call.played][:2] == ["sound:bonjour", "offre"] or sim_call.played
    assert sim_call.recordings and sim_call.recordings[0].stat().st_size > 44
    await _no_orphans(sim)


async def test_answering_machine_is_hung_up_on(sim, whisper):
    record = await _place(sim, whisper, Machine())
    assert record.outcome is Outcome.ANSWERED
    assert record.amd_status == "MACHINE"
    assert "machine" in record.note
    await _no_orphans(sim)


@pytest.mark.parametrize(("callee", "outcome", "cause"), [
    (Busy(), Outcome.BUSY, 17),
    (Congestion(), Outcome.CONGESTION, 34),
    (Rejected(), Outcome.REJECTED, 21),
    (UnallocatedCallee(), Outcome.UNALLOCATED, 1),
])
async def test_unanswered_outcomes_come_from_the_hangup_cause(sim, whisper, callee, outcome, cause):
    record = await _place(sim, whisper, callee)
    assert (record.outcome, record.cause) == (outcome, cause)
    assert record.answered_at is None
    await _no_orphans(sim)


async def test_no_answer_after_the_ring_timeout(sim, whisper):
    record = await _place(sim, whisper, NoAnswer(), ring_timeout=2)
    assert (record.outcome, record.cause) == (Outcome.NO_ANSWER, 19)
    await _no_orphans(sim)


async def test_barge_in_stops_the_prompt(sim, whisper):
    callee = Human(utterances=[Say("allo", at=0.3), Say("non_merci", at=1.5, over_prompt=True)],
                   echo_db=-10, echo_delay_ms=80, hangup_when_idle=5.0)
    record = await _place(sim, whisper, callee)
    assert record.barge_ins >= 1
    stopped = [p for p in sim.calls[-1].played if p.stopped_early]
    assert stopped, "the playback was stopped on barge-in"
    await _no_orphans(sim)


async def test_caller_hangs_up_mid_prompt(sim, whisper):
    record = await _place(sim, whisper, Human(utterances=[Say("allo", at=0.3)], hangup_after=2.5))
    assert record.outcome is Outcome.ANSWERED and record.cause == 16
    await _no_orphans(sim)


async def test_transfer_to_an_agent(sim, whisper):
    sim.add_callee("PJSIP/agent1", Agent())
    callee = Human(utterances=[Say("allo", at=0.3), Say("interesse", after_prompt=True)], hangup_after=19.0)
    record = await _place(sim, whisper, callee, conversation=demo_conversation(transfer_to="PJSIP/agent1"))
    assert record.outcome is Outcome.TRANSFERRED
    assert record.barge_ins == 0  # nobody talked over the bot: the prompts' echo never barged in
    # The caller stayed with the agent until they hung up (19 s after answer), and the bot
    # then removed the agent leg and the bridge.
    assert record.ended_at - record.answered_at > 18
    agent = sim.call("mb-" + record.call_id + "-agent")
    assert agent.ended_at is not None
    await _no_orphans(sim)


async def test_failed_transfer_keeps_the_call(sim, whisper):
    sim.add_callee("PJSIP/agent1", Busy())
    callee = Human(utterances=[Say("allo", at=0.3), Say("interesse", after_prompt=True)], hangup_when_idle=6.0)
    record = await _place(sim, whisper, callee, conversation=demo_conversation(transfer_to="PJSIP/agent1"))
    assert record.outcome is Outcome.ANSWERED
    assert any("transfer failed" in what for _, what in record.timeline.entries)
    await _no_orphans(sim)


async def test_audiosocket_never_connecting_ends_the_call_cleanly(sim, whisper):
    sim.faults.audiosocket_never_connects = True
    record = await _place(sim, whisper, Human(utterances=[Say("allo", at=0.3)]))
    assert record.outcome is Outcome.ANSWERED
    assert record.first_audio_at is None  # never spoke to a caller it could not hear
    await _no_orphans(sim)


async def test_external_media_refused_ends_the_call_cleanly(sim, whisper):
    sim.faults.external_media_status = 500
    record = await _place(sim, whisper, Human(utterances=[Say("allo", at=0.3)]))
    assert record.outcome is Outcome.ANSWERED and "500" in record.note
    await _no_orphans(sim)


async def test_ari_drop_mid_call_reconnects_and_cleans_up(sim, whisper):
    async def drop(sim, server):
        await asyncio.sleep(2.0)
        await sim.drop_websockets()

    callee = Human(utterances=[Say("allo", at=0.3), Say("interesse", after_prompt=True)], hangup_when_idle=5.0)
    record = await _place(sim, whisper, callee, during=drop)
    assert record.outcome is Outcome.ANSWERED
    assert any("ARI reconnected" in what for _, what in record.timeline.entries)
    await _no_orphans(sim)


async def test_audiosocket_dropping_mid_call_hangs_up_and_cleans_up(sim, whisper):
    async def cut(sim, server):
        await asyncio.sleep(2.5)
        for session in list(server.sessions.values()):
            await session.close()  # MiniBot's side of the media TCP goes away

    callee = Human(utterances=[Say("allo", at=0.3), Say("interesse", after_prompt=True)], hangup_when_idle=8.0)
    record = await _place(sim, whisper, callee, during=cut)
    assert record.outcome is Outcome.ANSWERED
    # Cut by a fault, not by anyone: interrupted (the dialer stores and retries it as such), one clear note.
    assert record.interrupted and record.note.startswith("chemin audio perdu")
    assert record.ended_at - record.answered_at < 5  # hung up at once, not after the script
    await _no_orphans(sim)


async def test_asterisk_restart_mid_call_resolves_the_call(sim, whisper):
    async def restart(sim, server):
        await asyncio.sleep(2.0)
        await sim.restart(downtime=0.5)  # every channel gone, no events for them

    callee = Human(utterances=[Say("allo", at=0.3), Say("interesse", after_prompt=True)], hangup_when_idle=8.0)
    record = await _place(sim, whisper, callee, during=restart)
    assert record.outcome is Outcome.ANSWERED
    assert any("gone during the outage" in what for _, what in record.timeline.entries)
    await _no_orphans(sim)


async def test_asterisk_gone_for_good_resolves_the_call(whisper):
    async with SimulatedAsterisk(password=PASSWORD) as sim:
        sim.add_callee("PJSIP/+33612345678@trunk", Human(utterances=[Say("allo", at=0.3)]))
        async with AudioSocketServer("127.0.0.1", 0) as server, _controller(sim, server, whisper,
                                                                             give_up_after=1.0) as ctl:
            task = asyncio.ensure_future(ctl.place_call("+33612345678", demo_conversation()))
            await asyncio.sleep(1.5)
            await sim.close()  # Asterisk stops and does not come back
            record = await asyncio.wait_for(task, 20)
    assert record.outcome is Outcome.ANSWERED
    # Interrupted, with one clear line: whichever Asterisk closed first, its event socket or the media path.
    assert record.interrupted and record.note in ("liaison ARI perdue pendant l'appel (Asterisk arrêté ou injoignable)",
                                                  "chemin audio perdu (connexion AudioSocket fermée)"), record.note


async def test_inbound_call_runs_the_same_conversation(sim, whisper):
    async with AudioSocketServer("127.0.0.1", 0) as server, _controller(
            sim, server, whisper, inbound=lambda number: demo_conversation()) as ctl:
        sim.inbound("+33612345678", "0162000000",
                    Human(utterances=[Say("allo", at=0.3), Say("interesse", after_prompt=True)], hangup_when_idle=5))
        for _ in range(400):
            if ctl.records:
                break
            await asyncio.sleep(0.05)
    [record] = ctl.records
    assert record.direction == "inbound" and record.outcome is Outcome.ANSWERED
    assert record.played and record.played[0] == "bonjour.wav16"
    await _no_orphans(sim)


async def test_inbound_caller_hanging_up_ends_the_call_at_once(sim, whisper):
    async with AudioSocketServer("127.0.0.1", 0) as server, _controller(
            sim, server, whisper, inbound=lambda number: demo_conversation()) as ctl:
        sim.inbound("+33612345678", "0162000000", Human(utterances=[Say("allo", at=0.3)], hangup_after=2.5))
        for _ in range(300):
            if ctl.records:
                break
            await asyncio.sleep(0.05)
    [record] = ctl.records
    assert record.outcome is Outcome.ANSWERED
    assert record.ended_at - record.answered_at < 4  # not left talking to nobody
    await _no_orphans(sim)
