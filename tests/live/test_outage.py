"""Asterisk stopped, killed, and a worker killed, mid-call, on the real Asterisk 22 (issues 14, 15):
a call cut by Asterisk is interrupted with one clear note; nothing is dialled while Asterisk
stops or before MiniBot's event socket has registered its Stasis app again; what a worker killed
with SIGKILL left in Asterisk is gone within 10 s (the sweeper's 3 looks 2 s apart, plus
margin for a loaded machine); a Stasis app taken over by a second worker is said, not silent."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from ari.errors import AriError, AriUnavailable
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.outcome import Outcome
from bot.call.readiness import NotDialled, note_for, refused
from bot.call.runtime import demo_conversation
from bot.campaign.dialer import Dialer, DialerConfig
from tests.dialing import Clock, phones, running_campaign, weekday_morning
from tests.live.asterisk import REPO

pytestmark = [pytest.mark.slow]

CLEANUP_DELAY = 10.0  # seconds: a dead worker's channels and bridges are gone by then


def _controller(asterisk, server, recognizer, app: str = "minibot") -> CallController:
    config = CallConfig(audiosocket_address=server.address, ring_timeout=10, caller_id="MiniBot <0162000000>")
    return CallController(asterisk.ari_config(app), config, server, recognizer)


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)


def _talking(ctl: CallController) -> bool:
    return any(call.listener is not None for call in ctl.calls.values())


async def test_core_stop_mid_call_interrupts_it_and_dials_wait_for_the_app(live_asterisk, whisper):
    async with AudioSocketServer("127.0.0.1", 0) as server, _controller(live_asterisk, server, whisper) as ctl:
        call = asyncio.ensure_future(ctl.place_call("Local/human@callee-sim", demo_conversation()))
        await _until(lambda: _talking(ctl), 15, "the callee answered")
        await asyncio.to_thread(live_asterisk.stop_now)
        record = await asyncio.wait_for(call, 20)
        assert record.interrupted and record.note == "Asterisk arrêté pendant l'appel", record.timeline
        assert not ctl.ready
        ctl.hold = 0.2
        with pytest.raises(NotDialled):  # Asterisk away: nothing is sent, nothing rings
            await ctl.place_call("Local/human@callee-sim", demo_conversation())

        # Asterisk is back (ARI answers) before MiniBot's event socket has reconnected (its backoff):
        # a dial now would ring and then be dropped ("Stasis app doesn't exist"). It waits instead.
        await asyncio.to_thread(live_asterisk.start)
        ctl.hold = 30
        again = await asyncio.wait_for(ctl.place_call("Local/hangup@callee-sim", demo_conversation()), 40)
    assert again.outcome is Outcome.ANSWERED and again.answered_at is not None, again.timeline
    assert not again.interrupted
    assert live_asterisk.channels() == [] and live_asterisk.bridges() == []


async def test_dials_while_asterisk_stops_are_refused_not_counted(live_asterisk, whisper):
    """While Asterisk stops, POST /channels answers 500 "Allocation failed", then a 503 page, then
    the connection is refused: every one of those is a refusal (NotDialled, given back by the
    dialer). MiniBot's own dials stop earlier still: at the first channel hung up for the shutdown."""
    refused_by_gate: list[str] = []
    placed = []
    answers: list[str] = []
    async with AudioSocketServer("127.0.0.1", 0) as server, _controller(live_asterisk, server, whisper) as ctl:
        ctl.hold = 0.0

        async def raw_originates() -> None:  # what Asterisk answers, without the gate
            while not stopping.done():
                try:
                    await ctl.client.originate("Local/hangup@callee-sim", app="minibot-raw")
                    answers.append("200")
                except AriUnavailable as exc:
                    # Refused (nothing sent), or reset as Asterisk exits: that one may have been read,
                    # so MiniBot counts it as a dial (interrupted), never as nothing.
                    answers.append("refused" if refused(exc) else "reset")
                except AriError as exc:
                    assert refused(exc), exc  # an error status while stopping: nothing rang
                    answers.append(note_for(exc))
                await asyncio.sleep(0.02)

        stopping = asyncio.ensure_future(asyncio.to_thread(live_asterisk.stop_now))
        raw = asyncio.ensure_future(raw_originates())
        while not stopping.done():
            try:
                placed.append(await asyncio.wait_for(ctl.place_call("Local/hangup@callee-sim",
                                                                    demo_conversation()), 20))
            except NotDialled as exc:
                refused_by_gate.append(str(exc))
                await asyncio.sleep(0.02)
        await stopping
        await raw
    live_asterisk.start()
    print(f"gate: {len(placed)} placed, {len(refused_by_gate)} held; raw originates: "
          f"{ {a: answers.count(a) for a in answers} }")
    # A dial that left before the stop began rang and was cut: interrupted, never a plain failure.
    assert all(r.interrupted or r.outcome is Outcome.ANSWERED for r in placed), [str(r.timeline) for r in placed]
    assert refused_by_gate and all("<" not in r and "\n" not in r for r in refused_by_gate)
    assert any("500" in a or "503" in a for a in answers), answers
    assert all("<" not in a for a in answers)  # one line, never an HTML page


async def test_asterisk_killed_mid_call_interrupts_it_with_one_clear_note(live_asterisk, whisper):
    async with AudioSocketServer("127.0.0.1", 0) as server, _controller(live_asterisk, server, whisper) as ctl:
        ctl.stream.give_up_after = 3.0
        call = asyncio.ensure_future(ctl.place_call("Local/human@callee-sim", demo_conversation()))
        await _until(lambda: _talking(ctl), 15, "the callee answered")
        live_asterisk.kill()
        record = await asyncio.wait_for(call, 30)
        ctl.hold = 0.2
        with pytest.raises(NotDialled):
            await ctl.place_call("Local/human@callee-sim", demo_conversation())
    live_asterisk.start()
    assert record.interrupted, record.timeline
    assert "\n" not in record.note and "<" not in record.note and len(record.note) < 120  # no raw error page
    print(record.note)


async def test_a_worker_killed_mid_call_leaves_nothing_in_asterisk(live_asterisk, whisper):
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.live.dying_worker", live_asterisk.url, live_asterisk.password, "minibot-dying",
        "Local/agent@callee-sim",  # the agent callee stays on the line 30 s, silent
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        line = (await asyncio.wait_for(worker.stdout.readline(), 60)).decode()
        assert line.startswith("answered "), line
        call_id = line.split()[1]
        # The surviving worker (its own Stasis app), already running when the other dies.
        async with AudioSocketServer("127.0.0.1", 0) as server, \
                _controller(live_asterisk, server, whisper, app="minibot-rescue") as rescuer:
            left = live_asterisk.channels()
            assert len(left) >= 4, left  # caller, its Local peer, snoops, AudioSocket: the call is up
            worker.kill()  # SIGKILL: no goodbye on any socket
            await asyncio.wait_for(worker.wait(), 10)
            killed = time.monotonic()
            await _until(lambda: not live_asterisk.channels() and not live_asterisk.bridges(), CLEANUP_DELAY,
                         f"call {call_id}'s channels and bridges removed: {live_asterisk.rx('core show channels')}"
                         f"{live_asterisk.rx('bridge show all')}")
            print(f"dead worker's call removed {time.monotonic() - killed:.1f} s after SIGKILL")
            assert rescuer.sweeper.removed_calls == 1
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()


async def test_a_second_worker_on_the_same_stasis_app_is_said(live_asterisk, whisper, caplog):
    async with AudioSocketServer("127.0.0.1", 0) as s1, _controller(live_asterisk, s1, whisper) as first:
        assert first.ready
        async with AudioSocketServer("127.0.0.1", 0) as s2, _controller(live_asterisk, s2, whisper) as second:
            await _until(lambda: first.readiness.replaced, 5, "the first worker noticed the takeover")
            assert not first.ready and second.ready
            assert "même nom d'application" in first.readiness.why_not
            first.hold = 0.1
            with pytest.raises(NotDialled, match="même nom d'application"):
                await first.place_call("Local/human@callee-sim", demo_conversation())
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "déjà enregistrée" in said  # the second one warned as it started
    assert "reprise par une autre connexion" in said  # the first one said why it stopped dialling


@pytest.mark.parametrize("fault", ["stop", "kill"])
async def test_asterisk_lost_mid_campaign_burns_no_contact(live_asterisk, whisper, db, fault):
    """A campaign through the real dialer; Asterisk stops (`core stop now`) or is killed (SIGKILL)
    with 3 calls up, then comes back."""
    numbers = phones(6)
    cid = await running_campaign(db, numbers, max_concurrent_calls=3, calls_per_second=1000)
    clock = Clock(weekday_morning())

    async def conversation_for(due):
        return demo_conversation()

    async with AudioSocketServer("127.0.0.1", 0) as server:
        config = CallConfig(audiosocket_address=server.address, ring_timeout=10, caller_id="MiniBot <0162000000>",
                            endpoint_template="Local/human@callee-sim")  # every number: a person who talks
        async with CallController(live_asterisk.ari_config(), config, server, whisper) as ctl:
            dialer = Dialer(db, ctl.place_call, conversation_for, DialerConfig(poll_interval=0.05), clock=clock,
                            ready=lambda: ctl.ready, clean_up=ctl.remove_leftovers)
            worker = asyncio.create_task(dialer.run())
            try:
                await _until(lambda: sum(c.listener is not None for c in ctl.calls.values()) == 3, 30,
                             "3 calls talking")
                await asyncio.to_thread(live_asterisk.stop_now if fault == "stop" else live_asterisk.kill)
                stopped_rows = await db.pool.fetchval("SELECT count(*) FROM calls")
                await asyncio.sleep(3)  # Asterisk away: the dialer must not claim, dial, or store anything
                assert await db.pool.fetchval("SELECT count(*) FROM calls") == stopped_rows == 3
                assert await db.pool.fetchval("SELECT count(*) FROM attempts WHERE status = 'CLAIMED'") == 0
                await asyncio.to_thread(live_asterisk.start)

                async def first_round_done():
                    return await db.pool.fetchval("SELECT count(*) FROM calls WHERE status IN ('ENDED', 'INTERRUPTED')"
                                                  ) == 6

                deadline = time.monotonic() + 90
                while not await first_round_done():
                    assert time.monotonic() < deadline, await db.pool.fetch("SELECT status, note FROM calls")
                    await asyncio.sleep(0.2)
            finally:
                await dialer.drain(30)
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
    calls = await db.pool.fetch("SELECT phone, status, outcome, note FROM calls ORDER BY id")
    # The 3 cut calls are interrupted, each with one clear note and an interrupted retry planned...
    cut = [c for c in calls if c["status"] == "INTERRUPTED"]
    assert len(cut) == 3, calls
    if fault == "stop":
        assert all(c["note"] == "Asterisk arrêté pendant l'appel" for c in cut), calls
    else:  # killed: the AudioSocket connections close first (or ARI refuses): one line either way
        assert all(c["note"].startswith(("chemin audio perdu", "Asterisk injoignable")) for c in cut), calls
    retries = await db.pool.fetch("SELECT reason FROM attempts WHERE campaign_id = $1 AND status = 'SCHEDULED'", cid)
    assert sorted(r["reason"] for r in retries) == ["retry:interrupted"] * 3
    # ...the 3 others were dialled once Asterisk was back, answered; nobody was dialled twice.
    rest = [c for c in calls if c["status"] == "ENDED"]
    assert len(rest) == 3 and all(c["outcome"] == "answered" for c in rest), calls
    assert sorted(c["phone"] for c in calls) == sorted(numbers)
    assert dialer.given_back == 0
    assert live_asterisk.channels() == [] and live_asterisk.bridges() == []
