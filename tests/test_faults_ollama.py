"""Fault: Ollama down (nothing listens) or silent (it accepts and never answers) while a campaign
runs for real on the simulated Asterisk with Whisper and espeak-ng. The calls go on with the offline
classifier; the invariants are counted from the database. Ollama is the one part that cannot run
here: tests/fake_ollama.py speaks its HTTP API (its figures are never quoted as Ollama's)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil

import pytest

from ari.client import AriConfig
from ari.simulator import Human, Say, SimulatedAsterisk
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.campaign.conversations import CampaignConversations
from bot.campaign.dialer import Dialer, DialerConfig
from bot.config import LlmSettings
from bot.speech.tts import load_engine
from bot.voice.cache import AudioCache
from bot.voice.voice import CachedVoice
from tests.dialing import Clock, running_campaign, weekday_morning
from tests.fake_ollama import FakeOllama, free_port
from tests.test_campaign_calls import PASSWORD, whisper  # noqa: F401 - the recogniser fixture, shared

pytestmark = [
    pytest.mark.slow,
    pytest.mark.flaky(reruns=1),  # real-time speech on a loaded 2-core machine, as test_campaign_calls
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed"),
]
OPT_OUT, OBJECTION = "+33612000011", "+33612000012"


@pytest.mark.parametrize("fault", ["down", "silent"])
async def test_calls_go_on_when_ollama_is_down_or_silent(db, whisper, tmp_path, fault):  # noqa: F811
    # One call at a time: two real-time Whisper conversations at once on this loaded 2-core machine
    # mishear each other's turns (the suite's campaign test has a single conversation as well).
    async with contextlib.AsyncExitStack() as stack:
        if fault == "down":
            url = f"http://127.0.0.1:{free_port()}"
        else:
            ollama = await stack.enter_async_context(FakeOllama())
            ollama.delay = 600  # accepts, never answers in a call's lifetime
            url = ollama.url
        llm = LlmSettings(enabled=True, ollama_url=url, timeout=1.0, freestyle_timeout=2.0)
        # Down refuses at once: the calls are those of the offline classifier (tests/test_campaign_calls),
        # so the opt-out alone is checked; silent costs each call its timeouts, so both are.
        phones = [OPT_OUT] if fault == "down" else [OPT_OUT, OBJECTION]
        cid = await running_campaign(db, phones, max_concurrent_calls=1, calls_per_second=50)
        conversations = CampaignConversations(CachedVoice(load_engine("espeak"), AudioCache(tmp_path / "audio")),
                                              llm)
        sim = await stack.enter_async_context(SimulatedAsterisk(password=PASSWORD))
        server = await stack.enter_async_context(AudioSocketServer("127.0.0.1", 0))
        # "Oui" confirms the opt-out when the words came through the line too garbled to be sure (Whisper
        # at 8 kHz: "N'amappeler plus jamais."), and the bot asks, as a person unsure would.
        sim.add_callee(f"PJSIP/{OPT_OUT}@trunk", Human(
            utterances=[Say("allo", at=0.3), Say("ne_plus_appeler", after_prompt=True),
                        Say("oui_daccord", after_prompt=True)], hangup_when_idle=6))
        sim.add_callee(f"PJSIP/{OBJECTION}@trunk", Human(
            utterances=[Say("allo", at=0.3), Say("combien", after_prompt=True), Say("non_merci", after_prompt=True)],
            hangup_when_idle=6))
        ari = AriConfig(url=sim.url, username="minibot", password=PASSWORD)
        calls = CallConfig(audiosocket_address=server.address, ring_timeout=5, media_timeout=2.0)
        async with CallController(ari, calls, server, whisper) as ctl:
            dialer = Dialer(db, ctl.place_call, conversations,
                            DialerConfig(poll_interval=0.05, journal_dir=tmp_path / "journal"),
                            clock=Clock(weekday_morning()))
            worker = asyncio.create_task(dialer.run())
            async with asyncio.timeout(150):
                while await db.pool.fetchval(  # noqa: ASYNC110 - the state is in the database
                        "SELECT count(*) FROM calls WHERE campaign_id = $1 AND status = 'ENDED'", cid) < len(phones):
                    await asyncio.sleep(0.2)
            await dialer.drain(10)
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            dialer.close_journal()
        await conversations.aclose()
        assert not sim.live_channels() and not sim.live_bridges()

    rows = {r["phone"]: r for r in await db.pool.fetch(
        "SELECT phone, status, result, outcome, transcript, note FROM calls WHERE campaign_id = $1", cid)}
    assert set(rows) == set(phones) and {r["status"] for r in rows.values()} == {"ENDED"}
    assert rows[OPT_OUT]["result"] == "OPTED_OUT", (rows[OPT_OUT]["transcript"], rows[OPT_OUT]["note"])
    if OBJECTION in rows:
        assert rows[OBJECTION]["outcome"] == "answered"  # talked to the end (the caller's hang-up), not failed
    assert await db.pool.fetchval("SELECT count(*) FROM opt_outs WHERE phone = $1", OPT_OUT) == 1
    assert await db.pool.fetchval(
        "SELECT count(*) FROM attempts WHERE campaign_id = $1 AND status IN ('CLAIMED', 'DIALING')", cid) == 0
