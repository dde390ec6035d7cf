"""The simulator against the real Asterisk: the same calls, through the same `CallController`, on
both; what MiniBot sees of the caller channel must match (outcome, hang-up cause, the order of the
channel's events). A divergence here means tests on the simulator prove less than they claim."""

from __future__ import annotations

import asyncio

import pytest

from ari import events as ev
from ari.client import AriConfig
from ari.simulator import SimulatedAsterisk
from audiosocket import AudioSocketServer
from bot.call.controller import CallController
from bot.call.runtime import demo_conversation
from tests.live.calls import call_config

pytestmark = [pytest.mark.slow]
PASSWORD = "conformance"
LIFECYCLE = (ev.StasisStart, ev.ChannelHangupRequest, ev.StasisEnd, ev.ChannelDestroyed)


async def _run(ari: AriConfig, recognizer, callee: str) -> tuple[str, int | None, list[str]]:
    """(outcome, cause, the caller channel's lifecycle events in order) of one call."""
    outcome, cause, seen, _ = await _call(ari, recognizer, callee)
    return outcome, cause, seen


async def _call(ari: AriConfig, recognizer, callee: str) -> tuple[str, int | None, list[str], float | None]:
    """`_run`'s figures and the seconds from answer to the caller channel's end."""
    seen: list[str] = []
    async with AudioSocketServer("127.0.0.1", 0) as server, \
            CallController(ari, call_config(server, ring_timeout=3), server, recognizer) as ctl:
        with ctl.stream.subscribe(everything=True) as sub:
            async def watch() -> None:
                while True:
                    event = await sub.get()
                    if isinstance(event, LIFECYCLE) and event.channel.id.startswith("mb-") \
                            and event.channel.id.count("-") == 1:  # the caller channel, not snoops/media
                        soft = " soft" if isinstance(event, ev.ChannelHangupRequest) and event.soft else ""
                        seen.append(type(event).__name__ + soft)

            watcher = asyncio.create_task(watch())
            try:
                record = await asyncio.wait_for(ctl.place_call(f"Local/{callee}@callee-sim", demo_conversation()), 60)
                # The channel's last event may come after the call's end on a loaded machine.
                for _ in range(60):
                    if "ChannelDestroyed" in seen:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.1)  # anything after it
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
    ended = None
    if record.answered_at is not None and record.ended_at is not None:
        gone = next((t for t, what in record.timeline.entries if what.startswith("caller channel destroyed")), None)
        answered = next((t for t, what in record.timeline.entries if what == "answered"), None)
        ended = None if gone is None or answered is None else gone - answered
    return record.outcome.value, record.cause, seen, ended


@pytest.mark.parametrize("callee", ["busy", "congestion", "reject", "unallocated", "noanswer", "hangup"])
async def test_simulator_and_asterisk_agree(live_asterisk, whisper, callee):
    real = await _run(live_asterisk.ari_config(), whisper, callee)
    async with SimulatedAsterisk(password=PASSWORD) as sim:
        simulated = await _run(AriConfig(url=sim.url, username="minibot", password=PASSWORD), whisper, callee)
    assert simulated == real, f"simulator {simulated} != Asterisk {real}"


async def _until_amd(call) -> None:
    """A conversation that only waits for the AMD verdict, then ends the call (the bot's own
    words play no part in AMD, which reads the callee's audio; the rest of a call is time lost)."""
    await call.amd_verdict(20)


async def _amd(ari: AriConfig, recognizer, callee: str) -> tuple[str | None, str | None, float | None]:
    """(AMDSTATUS, AMDCAUSE, seconds from answer to the verdict) of one call."""
    async with AudioSocketServer("127.0.0.1", 0) as server, \
            CallController(ari, call_config(server), server, recognizer) as ctl:
        record = await asyncio.wait_for(ctl.place_call(f"Local/{callee}@callee-sim", _until_amd), 60)
    at = next((t for t, what in record.timeline.entries if what.startswith("AMD ")), None)
    answered = next((t for t, what in record.timeline.entries if what == "answered"), None)
    return record.amd_status, record.amd_cause, None if at is None or answered is None else at - answered


@pytest.mark.parametrize("callee", ["human", "machine"])
async def test_simulated_amd_follows_the_projects_amd_conf(live_asterisk, whisper, callee):
    real = await _amd(live_asterisk.ari_config(), whisper, callee)
    async with SimulatedAsterisk(password=PASSWORD) as sim:
        simulated = await _amd(AriConfig(url=sim.url, username="minibot", password=PASSWORD), whisper, callee)
    assert simulated[:2] == real[:2], f"simulator {simulated} != Asterisk {real}"
    assert real[2] is not None and simulated[2] is not None
    assert abs(simulated[2] - real[2]) < 0.8, f"AMD after {simulated[2]:.2f} s simulated, {real[2]:.2f} s real"


async def test_simulated_local_callee_waits_for_media_like_asterisk(live_asterisk, whisper):
    """`hangup` (Answer, Wait(2), Hangup): a Local channel's ~500 ms media wait after Answer()
    delays every step of a callee's dialplan, on the real Asterisk and so on the simulator."""
    real = await _call(live_asterisk.ari_config(), whisper, "hangup")
    async with SimulatedAsterisk(password=PASSWORD) as sim:
        simulated = await _call(AriConfig(url=sim.url, username="minibot", password=PASSWORD), whisper, "hangup")
    assert real[3] is not None and simulated[3] is not None
    assert abs(simulated[3] - real[3]) < 0.35, f"hung up {simulated[3]:.2f} s simulated, {real[3]:.2f} s real"


async def _keys(ari: AriConfig, recognizer) -> tuple[list[str], float | None, int | None]:
    async with AudioSocketServer("127.0.0.1", 0) as server, \
            CallController(ari, call_config(server), server, recognizer) as ctl:
        record = await asyncio.wait_for(ctl.place_call("Local/dtmf@callee-sim", demo_conversation()), 60)
    first = record.dtmf[0][0] - record.answered_at if record.dtmf and record.answered_at else None
    return [d for _, d in record.dtmf], first, record.cause


async def test_simulated_keys_arrive_like_asterisks(live_asterisk, whisper):
    """`dtmf` (Wait(1), SendDTMF(12#)): the same keys, at about the same time, on both."""
    real = await _keys(live_asterisk.ari_config(), whisper)
    async with SimulatedAsterisk(password=PASSWORD) as sim:
        simulated = await _keys(AriConfig(url=sim.url, username="minibot", password=PASSWORD), whisper)
    assert real[0] == simulated[0] == ["1", "2", "#"] and real[2] == simulated[2]
    assert abs(simulated[1] - real[1]) < 0.35, f"first key {simulated[1]:.2f} s simulated, {real[1]:.2f} s real"


async def _stop_now(ari: AriConfig, stop) -> tuple[list[str], list[object]]:
    """`core stop now` with a call in Stasis: (the caller channel's events, the answers to
    originates sent while it stops, one per kind in order: status codes, then "refused")."""
    import base64
    import json

    import aiohttp

    auth = {"Authorization": "Basic " + base64.b64encode(f"{ari.username}:{ari.password}".encode()).decode()}
    seen: list[str] = []
    answers: list[object] = []
    async with aiohttp.ClientSession(headers=auth) as http:
        ws = await http.ws_connect(ari.url.replace("http", "ws", 1) + f"/events?app={ari.app}")

        async def read() -> None:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    event = json.loads(msg.data)
                    if (event.get("channel") or {}).get("id") == "conf-stop" and event["type"] in (
                            "StasisStart", "ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"):
                        detail = f" {event.get('cause')}{' soft' if event.get('soft') else ''}" \
                            if "cause" in event else ""
                        seen.append(event["type"] + detail)

        reader = asyncio.create_task(read())
        originate = f"{ari.url}/channels?endpoint=Local/human@callee-sim&app={ari.app}"
        async with http.post(originate + "&channelId=conf-stop") as r:
            assert r.status == 200, await r.text()
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.05)
        stopping = asyncio.ensure_future(stop())
        while len(answers) < 12:
            try:
                async with http.post(originate, timeout=aiohttp.ClientTimeout(total=3)) as r:
                    answer: object = r.status
            except aiohttp.ClientConnectionError:
                answer = "refused"
            if not answers or answers[-1] != answer:
                answers.append(answer)
            if answer == "refused":
                break
            await asyncio.sleep(0.03)
        await stopping
        await asyncio.wait_for(reader, 5)  # the event socket is closed by the stop
    return seen, answers


async def test_simulated_core_stop_is_asterisks(live_asterisk):
    """The order MiniBot relies on to say "Asterisk arrêté pendant l'appel" and to give back dials
    (bot/call/readiness.py): the shutdown soft hang-up (cause 4) first, then StasisEnd and
    ChannelDestroyed (cause 0); originates refused 500, then the 503 page, then the connection."""
    real = await _stop_now(live_asterisk.ari_config(), lambda: asyncio.to_thread(live_asterisk.stop_now))
    live_asterisk.start()
    async with SimulatedAsterisk(password=PASSWORD) as sim:
        simulated = await _stop_now(AriConfig(url=sim.url, username="minibot", password=PASSWORD), sim.stop_now)
    # The real one adds a non-soft ChannelHangupRequest (cause 0) after StasisEnd; MiniBot reads none of it.
    real_events = [e for e in real[0] if e != "ChannelHangupRequest 0"]
    assert simulated[0] == real_events, f"simulator {simulated[0]} != Asterisk {real[0]}"
    assert real_events[:2] == ["StasisStart", "ChannelHangupRequest 4 soft"]
    # The first originate may still get through on either (sent before the stop took hold).
    assert [a for a in simulated[1] if a != 200] == [a for a in real[1] if a != 200] == [500, 503, "refused"], \
        f"simulator {simulated[1]} != Asterisk {real[1]}"


async def _to_absent_app(ari: AriConfig) -> tuple[int, float | None]:
    """Originate into a Stasis app no event socket holds: (POST status, seconds until the channel
    is gone; None if it stayed 5 s)."""
    import base64

    import aiohttp

    auth = {"Authorization": "Basic " + base64.b64encode(f"{ari.username}:{ari.password}".encode()).decode()}
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.post(f"{ari.url}/channels?endpoint=Local/human@callee-sim&app=nobody-listens"
                             "&channelId=conf-absent") as r:
            status = r.status
        began = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - began < 5:
            async with http.get(f"{ari.url}/channels") as r:
                if not any(c["id"].startswith("conf-absent") for c in await r.json()):
                    return status, asyncio.get_running_loop().time() - began
            await asyncio.sleep(0.1)
    return status, None


async def test_an_originate_to_an_app_nobody_holds_is_taken_then_dropped_on_both(live_asterisk):
    """Why dials wait for the app's registration (bot/call/readiness.py): Asterisk accepts the
    originate (200), the callee answers, and the channel is dropped ("Stasis app ... doesn't exist")."""
    real = await _to_absent_app(live_asterisk.ari_config())
    async with SimulatedAsterisk(password=PASSWORD) as sim:
        simulated = await _to_absent_app(AriConfig(url=sim.url, username="minibot", password=PASSWORD))
        assert [c.outcome for c in sim.calls] == ["answered"]  # it rang and was picked up
    assert real[0] == simulated[0] == 200
    assert real[1] is not None and simulated[1] is not None, f"simulator {simulated}, Asterisk {real}"
