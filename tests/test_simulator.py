"""ari.simulator over real HTTP, WebSocket and AudioSocket TCP: call outcomes, playback,
media, recording, failures. No mocks: an ARI probe drives it as MiniBot's controller would."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from ari.simulator import (
    Agent,
    Busy,
    Call,
    Congestion,
    Human,
    Machine,
    NoAnswer,
    Rejected,
    Say,
    SimulatedAsterisk,
    Unallocated,
    default_callee,
)
from ari.simulator.probe import AriProbe
from audiosocket import AudioFrame, AudioSocketServer, Closed

APP = "minibot"


def write_wav(path: Path, seconds: float, rate: int = 8000, freq: float = 440.0, level: float = 0.3) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (level * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


@dataclass
class Rig:
    sim: SimulatedAsterisk
    media: AudioSocketServer
    probe: AriProbe
    sounds: Path

    def sound(self, name: str) -> str:
        return f"sound:{self.sounds / name}"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    write_wav(sounds / "prompt.wav", 1.5)
    write_wav(sounds / "long.wav", 6.0)
    write_wav(sounds / "short.wav", 0.3)
    write_wav(sounds / "wide.wav", 0.5, rate=16000)  # a 16 kHz file named .wav: fails
    write_wav(sounds / "wide16.wav16", 0.5, rate=16000)
    (sounds / "raw16.sln16").write_bytes(np.zeros(8000, "<i2").tobytes())  # 0.5 s at 16 kHz
    async with (
        AudioSocketServer("127.0.0.1", 0, accept_unknown=True) as media,
        SimulatedAsterisk(password="secret", sounds_dir=sounds, recordings_dir=tmp_path / "rec") as sim,
        AriProbe.for_sim(sim) as probe,
    ):
        yield Rig(sim, media, probe, sounds)


async def originate(rig: Rig, endpoint: str, cid: str = "C1", timeout: int = 30) -> dict:
    status, body = await rig.probe.rest("POST", "/channels", {
        "endpoint": endpoint, "app": APP, "appArgs": "outbound,call-1", "channelId": cid,
        "otherChannelId": f"{cid}-2", "timeout": str(timeout), "callerId": "MiniBot <0162000000>",
    })
    assert status == 200, body
    assert body["state"] == "Down"
    return body


@dataclass
class Path_:
    call_uuid: uuid.UUID
    frames: list[AudioFrame]
    task: asyncio.Task[None]


async def listen_path(rig: Rig, cid: str = "C1", amd: bool = True) -> Path_:
    """MiniBot's topology (DESIGN.md step 3): listen snoop + AMD snoop, mixing bridge,
    externalMedia AudioSocket, the snoop bridged with it."""
    p = rig.probe
    await p.wait_for("StasisStart", cid)
    assert (await p.rest("POST", f"/channels/{cid}/snoop", {"spy": "in", "app": APP, "appArgs": "listen",
                                                            "snoopId": f"{cid}-S1"}))[0] == 200
    if amd:
        assert (await p.rest("POST", f"/channels/{cid}/snoop", {"spy": "in", "app": APP, "appArgs": "amd-snoop",
                                                                "snoopId": f"{cid}-S2"}))[0] == 200
    assert (await p.rest("POST", "/bridges", {"type": "mixing", "bridgeId": f"{cid}-B1"}))[0] == 200
    call_uuid = uuid.uuid4()
    fut = rig.media.expect(call_uuid)
    status, body = await p.rest("POST", "/channels/externalMedia", {
        "app": APP, "external_host": rig.media.address, "encapsulation": "audiosocket", "transport": "tcp",
        "format": "slin16", "data": str(call_uuid), "channelId": f"{cid}-E1"})
    assert status == 200, body
    assert body["channelvars"] == {"AUDIOSOCKET_SERVICE": rig.media.address, "AUDIOSOCKET_UUID": str(call_uuid)}
    if amd:
        await p.wait_for("StasisStart", f"{cid}-S2")
        assert (await p.rest("POST", f"/channels/{cid}-S2/continue",
                             {"context": "minibot-amd", "extension": "s", "priority": "1"}))[0] == 204
    await p.wait_for("StasisStart", f"{cid}-E1")
    status, body = await p.rest("POST", f"/bridges/{cid}-B1/addChannel", {"channel": f"{cid}-S1,{cid}-E1"})
    assert status == 204, body
    session = await asyncio.wait_for(fut, 2)
    frames: list[AudioFrame] = []
    sub = session.subscribe(maxsize=2000)

    async def collect() -> None:
        async for item in sub:
            if isinstance(item, AudioFrame):
                frames.append(item)

    return Path_(call_uuid, frames, asyncio.get_running_loop().create_task(collect()))


def rms(frames: list[AudioFrame]) -> float:
    if not frames:
        return 0.0
    pcm = np.concatenate([np.frombuffer(f.pcm, "<i2").astype(np.float32) for f in frames])
    return float(np.sqrt(np.mean(pcm**2)))


def between(frames: list[AudioFrame], t0: float, t1: float) -> list[AudioFrame]:
    return [f for f in frames if t0 <= f.arrived < t1]


# -- outcomes -------------------------------------------------------------------------------


async def test_human_answers_amd_says_human_and_media_flows(rig: Rig) -> None:
    rig.sim.add_callee("Local/human@callee-sim", Human(utterances=[Say("allo", at=0.3)], amd_after=0.8,
                                                       echo_db=None))
    await originate(rig, "Local/human@callee-sim")
    start = await rig.probe.wait_for("StasisStart", "C1")
    assert start["args"] == ["outbound", "call-1"] and start["channel"]["state"] == "Up"
    assert [e["dialstatus"] for e in rig.probe.find("Dial", "C1")] == ["", "ANSWER"]
    media = await listen_path(rig)
    verdict = await rig.probe.wait_for("StasisStart", "C1-S2", count=2, timeout=3)
    assert verdict["args"] == ["amd", "HUMAN", "HUMAN-1000-1000"]
    assert verdict["channel"]["dialplan"]["context"] == "minibot-amd"
    await asyncio.sleep(1.0)
    frames = list(media.frames)
    assert len(frames) > 30
    assert {len(f.pcm) for f in frames} == {640} and {f.sample_rate for f in frames} == {16000}
    gaps = np.diff([f.arrived for f in frames])
    assert 0.018 < float(np.mean(gaps)) < 0.022  # real time, silent frames included
    said = rig.sim.call("C1").said[0]
    assert said.clip == "allo"
    assert rms(between(frames, said.started_at + 0.05, said.ended_at)) > 300  # the caller is heard
    silent = between(frames, said.ended_at + 0.1, time.monotonic())
    assert silent and rms(silent) == 0.0  # digital silence, still 50 frames/s
    status, _ = await rig.probe.rest("DELETE", "/channels/C1")
    assert status == 204
    destroyed = await rig.probe.wait_for("ChannelDestroyed", "C1")
    assert destroyed["cause"] == 16
    hangup = rig.probe.find("ChannelHangupRequest", "C1")[0]
    assert hangup["cause"] == 32 and hangup["soft"] is True
    assert rig.probe.types("C1-S1")[-3:] == ["ChannelVarset", "ChannelLeftBridge", "StasisEnd"]
    assert [c.id for c in rig.sim.live_channels()] == ["C1-E1"]  # E1 stays until deleted (facts §1.5)
    await rig.probe.rest("DELETE", "/channels/C1-E1")
    await rig.probe.rest("DELETE", "/bridges/C1-B1")
    await asyncio.wait_for(media.task, 2)  # Asterisk closed the TCP connection
    assert not rig.sim.live_channels() and not rig.sim.live_bridges()


async def test_machine_amd_verdict(rig: Rig) -> None:
    rig.sim.add_callee("Local/machine@callee-sim",
                       Machine(greeting="bonjour_oui", amd_after=0.5, hangup_after=3.0))
    await originate(rig, "Local/machine@callee-sim")
    await listen_path(rig)
    verdict = await rig.probe.wait_for("StasisStart", "C1-S2", count=2, timeout=3)
    assert verdict["args"] == ["amd", "MACHINE", "MAXWORDS-6-5"]
    assert rig.sim.call("C1").amd == ("MACHINE", "MAXWORDS-6-5")
    # the snoop left Stasis for AMD(): its AMDSTATUS varsets are not the app's to see (capture)
    assert not rig.probe.find("ChannelVarset", "C1-S2")
    await rig.probe.rest("DELETE", "/channels/C1")


@pytest.mark.parametrize(
    ("kind", "cause", "status", "txt"),
    [
        ("busy", 17, "BUSY", "User busy"),
        ("congestion", 34, "CONGESTION", "Circuit/channel congestion"),
        ("reject", 21, "NOANSWER", "Call Rejected"),
        ("unallocated", 1, "NOANSWER", "Unallocated (unassigned) number"),
    ],
)
async def test_refused_calls(rig: Rig, kind: str, cause: int, status: str, txt: str) -> None:
    await originate(rig, f"Local/{kind}@callee-sim")
    destroyed = await rig.probe.wait_for("ChannelDestroyed", "C1")
    assert (destroyed["cause"], destroyed["cause_txt"]) == (cause, txt)
    assert rig.probe.types("C1") == ["Dial", "ChannelHangupRequest", "Dial", "ChannelDestroyed"]
    assert rig.probe.find("Dial", "C1")[-1]["dialstatus"] == status
    assert not rig.probe.find("StasisStart")
    assert rig.sim.call("C1").outcome == {"reject": "rejected"}.get(kind, kind)
    assert (await rig.probe.rest("DELETE", "/channels/C1"))[0] == 404


@pytest.mark.parametrize("callee", [Busy(), Congestion(), Rejected(ring=0.2), Unallocated()])
async def test_refused_on_a_trunk_endpoint(rig: Rig, callee: Busy) -> None:
    rig.sim.add_callee("PJSIP/+33612345678@trunk", callee)
    body = await originate(rig, "PJSIP/+33612345678@trunk")
    assert body["name"].startswith("PJSIP/trunk-")
    destroyed = await rig.probe.wait_for("ChannelDestroyed", "C1")
    assert destroyed["cause"] == callee.cause
    assert not rig.probe.find(id_="C1-2")  # no Local peer on a trunk
    ringing = rig.probe.find("Dial", "C1", where=lambda e: e["dialstatus"] == "RINGING")
    assert bool(ringing) == (callee.ring > 0)


async def test_no_answer_times_out_with_cause_19(rig: Rig) -> None:
    t0 = time.monotonic()
    await originate(rig, "Local/noanswer@callee-sim", timeout=1)
    destroyed = await rig.probe.wait_for("ChannelDestroyed", "C1", timeout=3)
    assert 0.9 < time.monotonic() - t0 < 1.6
    assert destroyed["cause"] == 19 and destroyed["cause_txt"] == "User alerting, no answer"
    assert destroyed["channel"]["state"] == "Ringing"
    assert [e["dialstatus"] for e in rig.probe.find("Dial", "C1")] == ["", "RINGING"]  # no terminal Dial
    assert rig.probe.types("C1-2")[-3:] == ["ChannelHangupRequest", "ChannelHangupRequest", "ChannelDestroyed"]


async def test_nonexistent_local_extension_and_unknown_tech(rig: Rig) -> None:
    await originate(rig, "Local/nobody@callee-sim")
    await rig.probe.wait_for("ChannelDestroyed", "C1")
    assert rig.probe.types("C1") == ["ChannelDestroyed"] and rig.probe.types("C1-2") == ["ChannelDestroyed"]
    assert rig.probe.find("ChannelDestroyed", "C1")[0]["cause"] == 0
    status, body = await rig.probe.rest("POST", "/channels", {"endpoint": "Foo/bar", "app": APP})
    assert (status, body) == (500, {"error": "Allocation failed"})
    status, body = await rig.probe.rest("POST", "/channels", {"endpoint": "nothing", "app": APP})
    assert (status, body) == (400, {"message": "Invalid endpoint specified"})
    await originate(rig, "Local/human@callee-sim", cid="C2")
    status, body = await rig.probe.rest("POST", "/channels/C2", {"endpoint": "Local/human@callee-sim", "app": APP})
    assert (status, body["message"]) == (409, "Channel with given unique ID already exists")


async def test_delete_with_reason_and_ringing_cancel(rig: Rig) -> None:
    rig.sim.add_callee("PJSIP/100@trunk", Human(ring=5.0))
    await originate(rig, "PJSIP/100@trunk")
    await rig.probe.wait_for("Dial", "C1", where=lambda e: e["dialstatus"] == "RINGING")
    status, body = await rig.probe.rest("POST", "/channels/C1/play", {"media": "sound:x"})
    assert (status, body) == (409, {"message": "Channel not in Stasis application"})
    assert (await rig.probe.rest("DELETE", "/channels/C1", {"reason": "nope"}))[0] == 400
    assert (await rig.probe.rest("DELETE", "/channels/C1", {"reason": "busy", "reason_code": "17"}))[0] == 400
    assert (await rig.probe.rest("DELETE", "/channels/C1", {"reason": "no_answer"}))[0] == 204
    destroyed = await rig.probe.wait_for("ChannelDestroyed", "C1")
    assert destroyed["cause"] == 19
    assert not rig.sim.live_channels()


# -- playback ---------------------------------------------------------------------------------


async def answered(rig: Rig, callee: Human | None = None, cid: str = "C1") -> None:
    rig.sim.add_callee("PJSIP/200@trunk", callee or Human(echo_db=None))
    await originate(rig, "PJSIP/200@trunk", cid=cid)
    await rig.probe.wait_for("StasisStart", cid)


async def test_barge_in_delete_and_queued_playback_cancelled(rig: Rig) -> None:
    await answered(rig)
    p = rig.probe
    status, body = await p.rest("POST", "/channels/C1/play", {"media": rig.sound("long"), "playbackId": "P1"})
    assert status == 201
    assert body == {"id": "P1", "media_uri": rig.sound("long"), "target_uri": "channel:C1", "language": "en",
                    "state": "queued"}
    assert (await p.rest("POST", "/channels/C1/play/P2", {"media": rig.sound("prompt")}))[0] == 201
    await p.wait_for("PlaybackStarted", "P1")
    await asyncio.sleep(0.3)
    assert (await p.rest("GET", "/playbacks/P2"))[1]["state"] == "queued"
    t_delete = time.monotonic()
    assert (await p.rest("DELETE", "/playbacks/P2"))[0] == 204  # queued: canceled
    assert (await p.rest("DELETE", "/playbacks/P1"))[0] == 204  # playing: stopped
    finished = await p.wait_for("PlaybackFinished", "P1")
    # Stopped at once, not when its 6 s end: well under the 5.7 s it had left, on a loaded machine too.
    assert finished["playback"]["state"] == "done" and time.monotonic() - t_delete < 2.0
    cancelled = await p.wait_for("PlaybackFinished", "P2")
    assert cancelled["playback"]["state"] == "done"
    assert p.types("P2") == ["PlaybackFinished"]  # never started
    assert (await p.rest("DELETE", "/playbacks/P1"))[0] == 404
    played = {x.playback_id: x for x in rig.sim.call("C1").played}
    assert played["P1"].state == "stopped" and played["P1"].stopped_early
    assert 0.25 < played["P1"].played_seconds < 0.5 and played["P1"].duration == pytest.approx(6.0)
    assert played["P2"].state == "canceled" and played["P2"].started_at is None


async def test_media_list_and_queue_order(rig: Rig) -> None:
    await answered(rig)
    p = rig.probe
    media = f"{rig.sound('short')},{rig.sound('short')}"
    await p.rest("POST", "/channels/C1/play", {"media": media, "playbackId": "P1"})
    await p.rest("POST", "/channels/C1/play", {"media": rig.sound("short"), "playbackId": "P2"})
    await p.wait_for("PlaybackFinished", "P2", timeout=3)
    seq = [(e["type"], e["playback"]["id"], e["playback"]["state"], "next_media_uri" in e["playback"])
           for e in p.events if e["type"].startswith("Playback")]
    assert seq == [
        ("PlaybackStarted", "P1", "playing", True),
        ("PlaybackContinuing", "P1", "continuing", True),
        ("PlaybackStarted", "P1", "playing", False),
        ("PlaybackFinished", "P1", "done", False),
        ("PlaybackStarted", "P2", "playing", False),
        ("PlaybackFinished", "P2", "done", False),
    ]
    played = rig.sim.call("C1").played
    assert [x.state for x in played] == ["done", "done", "done"]
    assert all(0.25 < x.played_seconds < 0.45 for x in played)


@pytest.mark.parametrize(("name", "state"), [("missing", "failed"), ("wide", "failed"), ("wide16", "done"),
                                             ("raw16", "done"), ("prompt.wav", "failed")])
async def test_sound_formats(rig: Rig, name: str, state: str) -> None:
    await answered(rig)
    await rig.probe.rest("POST", "/channels/C1/play", {"media": rig.sound(name), "playbackId": "P1"})
    finished = await rig.probe.wait_for("PlaybackFinished", "P1", timeout=3)
    assert finished["playback"]["state"] == state
    assert rig.probe.types("P1") == ["PlaybackStarted", "PlaybackFinished"]  # a failure still "starts"


async def test_playback_errors(rig: Rig) -> None:
    await answered(rig)
    p = rig.probe
    assert await p.rest("POST", "/channels/nope/play", {"media": "sound:x"}) == (404, {"message": "Channel not found"})
    assert (await p.rest("POST", "/channels/C1-2/play", {"media": "sound:x"}))[0] == 404  # no ;2 on a trunk
    assert (await p.rest("POST", "/channels/C1/play", {}))[0] == 500
    assert (await p.rest("POST", "/channels/C1/play", {"media": "sound:x", "skipms": "-1"}))[0] == 400
    assert await p.rest("DELETE", "/playbacks/nope") == (404, {"message": "Playback not found"})
    await p.rest("POST", "/channels/C1/play", {"media": "digits:1234", "playbackId": "D1"})
    await p.wait_for("PlaybackStarted", "D1")
    assert await p.rest("DELETE", "/playbacks/D1") == (500, {"message": "Could not stop playback"})


async def test_prompt_echo_reaches_the_listen_path_and_stops_with_the_playback(rig: Rig) -> None:
    await answered(rig, Human(echo_db=-10.0, echo_delay_ms=100.0))
    media = await listen_path(rig, amd=False)
    await asyncio.sleep(0.3)
    await rig.probe.rest("POST", "/channels/C1/play", {"media": rig.sound("long"), "playbackId": "P1"})
    await rig.probe.wait_for("PlaybackStarted", "P1")
    t_play = time.monotonic()
    await asyncio.sleep(0.8)
    await rig.probe.rest("DELETE", "/playbacks/P1")
    t_stop = time.monotonic()
    await asyncio.sleep(0.5)
    before = rms(between(media.frames, t_play - 0.3, t_play))
    during = rms(between(media.frames, t_play + 0.2, t_stop))
    after = rms(between(media.frames, t_stop + 0.2, t_stop + 0.5))
    prompt_rms = 0.3 * 32767 / np.sqrt(2)
    assert before == 0.0 and after == 0.0
    assert 20 * np.log10(during / prompt_rms) == pytest.approx(-10.0, abs=1.0)
    await rig.probe.rest("DELETE", "/channels/C1")


async def test_caller_talks_after_and_over_the_prompt(rig: Rig) -> None:
    callee = Human(echo_db=None, utterances=[Say("allo", at=0.1), Say("combien", after_prompt=True, at=0.2),
                                             Say("non_merci", over_prompt=True, at=0.3)])
    await answered(rig, callee)
    call = rig.sim.call("C1")
    await said(call, 1)
    await asyncio.sleep(call.said[0].ended_at - time.monotonic() + 0.05)
    await rig.probe.rest("POST", "/channels/C1/play", {"media": rig.sound("short"), "playbackId": "P1"})
    await rig.probe.wait_for("PlaybackFinished", "P1", timeout=3)
    p1_end = time.monotonic()
    await said(call, 2)
    assert call.said[1].started_at - p1_end == pytest.approx(0.2, abs=0.1)
    assert not call.said[1].over_prompt
    await asyncio.sleep(call.said[1].ended_at - time.monotonic() + 0.1)
    await rig.probe.rest("POST", "/channels/C1/play", {"media": rig.sound("long"), "playbackId": "P2"})
    started = time.monotonic()
    await said(call, 3)
    assert call.said[2].over_prompt and call.said[2].started_at - started == pytest.approx(0.3, abs=0.1)
    await rig.probe.rest("DELETE", "/channels/C1")


async def test_a_caller_who_waits_for_the_end_of_the_bots_turn(rig: Rig) -> None:
    # Two sounds queued as one reply: `after_prompt` would answer the first (over the second);
    # `after_turn` waits until the bot has said both.
    callee = Human(echo_db=None, utterances=[Say("allo", at=0.1), Say("combien", after_turn=True, at=0.2)])
    await answered(rig, callee)
    call = rig.sim.call("C1")
    await said(call, 1)
    await asyncio.sleep(call.said[0].ended_at - time.monotonic() + 0.05)
    await rig.probe.rest("POST", "/channels/C1/play", {"media": rig.sound("short"), "playbackId": "P1"})
    await rig.probe.rest("POST", "/channels/C1/play", {"media": rig.sound("short"), "playbackId": "P2"})
    await rig.probe.wait_for("PlaybackFinished", "P2", timeout=5)
    p2_end = time.monotonic()
    await said(call, 2)
    assert call.said[1].started_at - p2_end == pytest.approx(0.2, abs=0.1)
    assert not call.said[1].over_prompt
    await rig.probe.rest("DELETE", "/channels/C1")


async def said(call: Call, n: int, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if len(call.said) >= n:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"the party said {len(call.said)} things, not {n}")


def test_default_parties() -> None:
    assert isinstance(default_callee("agent"), Agent)
    assert isinstance(default_callee("noanswer"), NoAnswer)
    assert default_callee("nobody") is None
    with pytest.raises(ValueError):
        Say("x", after_prompt=True, over_prompt=True)
    with pytest.raises(ValueError):
        Say("x", after_prompt=True, after_turn=True)


# -- hang-ups and failures ------------------------------------------------------------------------


async def test_caller_hangs_up_mid_prompt(rig: Rig) -> None:
    await answered(rig, Human(echo_db=None, hangup_after=0.8))
    await listen_path(rig)
    await rig.probe.rest("POST", "/channels/C1/play", {"media": rig.sound("long"), "playbackId": "P1"})
    destroyed = await rig.probe.wait_for("ChannelDestroyed", "C1", timeout=3)
    assert destroyed["cause"] == 16
    types = [(e["type"], e.get("channel", e.get("playback", {})).get("id")) for e in rig.probe.events]
    tail = types[types.index(("ChannelHangupRequest", "C1")):]
    assert tail[:3] == [("ChannelHangupRequest", "C1"), ("PlaybackFinished", "P1"), ("StasisEnd", "C1")]
    assert rig.probe.find("PlaybackFinished", "P1")[0]["playback"]["state"] == "failed"
    assert ("StasisEnd", "C1-S1") in tail  # the listen snoop ends with its target
    assert ("StasisEnd", "C1-S2") not in tail  # the AMD snoop was in AMD(), out of Stasis: silent
    assert rig.probe.find("ChannelHangupRequest", "C1")[0].get("soft") is None
    assert rig.sim.call("C1").played[0].state == "hangup"
    assert await rig.probe.rest("DELETE", "/channels/C1-S1") == (404, {"message": "Channel not found"})
    assert [c.id for c in rig.sim.live_channels()] == ["C1-E1"]
    assert (await rig.probe.rest("DELETE", "/channels/C1-E1"))[0] == 204


async def test_audiosocket_server_closing_destroys_the_external_channel(rig: Rig) -> None:
    await answered(rig)
    media = await listen_path(rig, amd=False)
    session = rig.media.session(media.call_uuid)
    assert session is not None
    await session.close()
    destroyed = await rig.probe.wait_for("ChannelDestroyed", "C1-E1")
    assert destroyed["cause"] == 0 and destroyed["cause_txt"] == "Unknown"
    assert rig.probe.types("C1-E1")[-5:] == ["ChannelVarset", "ChannelLeftBridge", "StasisEnd", "ChannelVarset",
                                             "ChannelDestroyed"]
    assert not rig.probe.find("ChannelHangupRequest", "C1-E1")
    assert rig.sim.core.channel("C1") is not None  # the caller stays, alone
    await rig.probe.rest("DELETE", "/channels/C1")


async def test_external_media_errors(rig: Rig) -> None:
    await answered(rig)
    p = rig.probe
    params = {"app": APP, "external_host": "127.0.0.1:1", "encapsulation": "audiosocket", "transport": "tcp",
              "format": "slin16", "data": str(uuid.uuid4())}
    assert await p.rest("POST", "/channels/externalMedia", params) == (
        500, {"message": "An internal error prevented this request from being handled"})
    assert await p.rest("POST", "/channels/externalMedia", {**params, "transport": "udp"}) == (
        400, {"message": "transport must be 'tcp' for audiosocket encapsulation"})
    assert (await p.rest("POST", "/channels/externalMedia", {**params, "data": ""}))[0] == 400
    good = {**params, "external_host": rig.media.address}
    assert (await p.rest("POST", "/channels/externalMedia", {**good, "data": "not-a-uuid"}))[0] == 500
    rig.sim.faults.external_media_status = 500
    assert (await p.rest("POST", "/channels/externalMedia", good))[0] == 500
    rig.sim.faults.external_media_status = None
    rig.sim.faults.audiosocket_never_connects = True
    status, body = await p.rest("POST", "/channels/externalMedia", {**good, "channelId": "E9"})
    assert status == 200
    await p.wait_for("StasisStart", "E9")
    await asyncio.sleep(0.2)
    assert not rig.media.sessions  # it never connected
    assert not rig.sim.live_channels() or (await p.rest("DELETE", "/channels/E9"))[0] == 204
    await p.rest("DELETE", "/channels/C1")


async def test_add_channel_before_stasis_start_is_422(rig: Rig) -> None:
    await answered(rig)
    p = rig.probe
    await p.rest("POST", "/bridges", {"type": "mixing", "bridgeId": "B1"})
    rig.sim.faults.audiosocket_uuid_delay = 0.5
    status, _ = await p.rest("POST", "/channels/externalMedia", {
        "app": APP, "external_host": rig.media.address, "encapsulation": "audiosocket", "transport": "tcp",
        "format": "slin16", "data": str(uuid.uuid4()), "channelId": "E1"})
    assert status == 200
    assert await p.rest("POST", "/bridges/B1/addChannel", {"channel": "C1,E1"}) == (
        422, {"message": "Channel not in Stasis application"})
    assert await p.rest("POST", "/bridges/B1/addChannel", {"channel": "C1,ghost"}) == (
        400, {"message": "Channel not found"})
    assert await p.rest("POST", "/bridges/B9/addChannel", {"channel": "C1"}) == (404, {"message": "Bridge not found"})
    await p.wait_for("StasisStart", "E1")
    assert (await p.rest("POST", "/bridges/B1/addChannel", {"channel": "C1,E1"}))[0] == 204
    assert (await p.rest("GET", "/bridges/B1"))[1]["technology"] == "simple_bridge"
    for cid in ("E1", "C1"):
        await p.rest("DELETE", f"/channels/{cid}")
    assert (await p.rest("DELETE", "/bridges/B1"))[0] == 204
    assert (await p.rest("DELETE", "/bridges/B1"))[0] == 404


# -- recording ------------------------------------------------------------------------------------


async def test_recording_a_both_ways_snoop_writes_a_wav(rig: Rig) -> None:
    await answered(rig, Human(echo_db=None, utterances=[Say("allo", at=0.1)]))
    p = rig.probe
    await p.rest("POST", "/channels/C1/snoop", {"spy": "both", "app": APP, "appArgs": "record", "snoopId": "R1"})
    await p.wait_for("StasisStart", "R1")
    status, body = await p.rest("POST", "/channels/R1/record", {"name": "calls/c1", "format": "wav"})
    assert status == 201
    assert body == {"name": "calls/c1", "format": "wav", "state": "queued", "target_uri": "channel:R1"}
    await p.wait_for("RecordingStarted", "calls/c1")
    await p.rest("POST", "/channels/C1/play", {"media": rig.sound("prompt"), "playbackId": "P1"})
    await p.wait_for("PlaybackFinished", "P1", timeout=3)
    assert (await p.rest("GET", "/recordings/live/calls%2Fc1"))[1]["state"] == "recording"
    assert (await p.rest("GET", "/recordings/live/nope"))[0] == 404
    await p.rest("DELETE", "/channels/C1")  # the snoop dies with it: the recording completes
    finished = await p.wait_for("RecordingFinished", "calls/c1")
    assert finished["recording"]["state"] == "done" and finished["recording"]["duration"] >= 1
    path = rig.sim.recordings_dir / "calls" / "c1.wav"
    assert rig.sim.call("C1").recordings == [path]
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        audio = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32)
    assert len(audio) / 8000 > 1.3
    spectrum = np.abs(np.fft.rfft(audio))
    freqs = np.fft.rfftfreq(len(audio), 1 / 8000)
    assert spectrum[np.argmin(np.abs(freqs - 440))] > 10 * np.median(spectrum)  # the bot's prompt is in it
    listed = (await p.rest("GET", "/recordings/stored"))[1]
    assert {"name": "calls/c1", "format": "wav"} in listed


async def test_recording_stop_and_bridged_failure(rig: Rig) -> None:
    await answered(rig)
    p = rig.probe
    await p.rest("POST", "/channels/C1/record", {"name": "r1", "format": "wav16"})
    await p.wait_for("RecordingStarted", "r1")
    await asyncio.sleep(1.3)
    assert (await p.rest("POST", "/recordings/live/r1/stop"))[0] == 204
    finished = await p.wait_for("RecordingFinished", "r1")
    assert finished["recording"]["duration"] == 1
    with wave.open(str(rig.sim.recordings_dir / "r1.wav16")) as w:
        assert w.getframerate() == 16000
    assert (await p.rest("POST", "/channels/C1/record", {"name": "r1", "format": "wav16"}))[0] == 409
    assert (await p.rest("POST", "/channels/C1/record", {"name": "r2", "format": "mp9"}))[0] == 422
    await p.rest("POST", "/bridges", {"bridgeId": "B1"})
    await p.rest("POST", "/bridges/B1/addChannel", {"channel": "C1"})
    assert (await p.rest("POST", "/channels/C1/record", {"name": "r3", "format": "wav"}))[0] == 201
    failed = await p.wait_for("RecordingFailed", "r3")
    assert failed["recording"]["cause"] == "Cannot record channel while in bridge"
    await p.rest("DELETE", "/channels/C1")
    await p.rest("DELETE", "/bridges/B1")


# -- transfer, inbound, AMD on the channel ---------------------------------------------------------


async def test_transfer_to_an_agent(rig: Rig) -> None:
    await answered(rig)
    p = rig.probe
    await p.rest("POST", "/channels", {"endpoint": "Local/agent@callee-sim", "app": APP, "appArgs": "agent,C1",
                                       "channelId": "A1"})
    start = await p.wait_for("StasisStart", "A1", timeout=3)
    assert start["args"] == ["agent", "C1"]
    await p.rest("POST", "/bridges", {"type": "mixing", "bridgeId": "XFER"})
    assert (await p.rest("POST", "/bridges/XFER/addChannel", {"channel": "C1,A1"}))[0] == 204
    varsets = p.find("ChannelVarset", where=lambda e: e["variable"] == "BRIDGEPEER")
    peers = {e["channel"]["id"]: e["value"] for e in varsets}
    assert peers["C1"].startswith("Local/agent@callee-sim-") and peers["A1"].startswith("PJSIP/trunk-")
    # a playback on a bridged channel suspends it from the bridge (facts §5.4), then it returns
    await p.rest("POST", "/channels/C1/play", {"media": rig.sound("short"), "playbackId": "P1"})
    await p.wait_for("PlaybackStarted", "P1")
    assert rig.sim.core.channel("C1").suspended
    await p.wait_for("PlaybackFinished", "P1")
    assert not rig.sim.core.channel("C1").suspended
    await p.rest("DELETE", "/channels/A1")
    await p.rest("DELETE", "/channels/C1")
    await p.rest("DELETE", "/bridges/XFER")
    assert not rig.sim.live_channels() and not rig.sim.live_bridges()


async def test_inbound_call(rig: Rig) -> None:
    call = rig.sim.inbound("0612345678", "0180000000", Human(echo_db=None, utterances=[Say("allo", at=0.1)],
                                                             hangup_after=1.0))
    start = await rig.probe.wait_for("StasisStart", call.channel_id)
    assert start["args"] == ["inbound", "0612345678", "0180000000"]
    assert start["channel"]["state"] == "Ring"
    assert start["channel"]["caller"] == {"name": "", "number": "0612345678"}
    assert (await rig.probe.rest("POST", f"/channels/{call.channel_id}/answer"))[0] == 204
    change = await rig.probe.wait_for("ChannelStateChange", call.channel_id)
    assert change["channel"]["state"] == "Up"
    await call.wait_ended(3)
    await rig.probe.wait_for("StasisEnd", call.channel_id)
    assert call.said and call.said[0].clip == "allo"
    # only subscribed while in Stasis: no ChannelDestroyed after StasisEnd
    assert rig.probe.types(call.channel_id)[-2:] == ["ChannelHangupRequest", "StasisEnd"]


async def test_amd_on_the_caller_channel_itself(rig: Rig) -> None:
    await answered(rig, Human(echo_db=None, amd_direct=("NOTSURE", "TOOLONG-5003"), amd_direct_after=0.3))
    p = rig.probe
    assert (await p.rest("POST", "/channels/C1/continue", {"context": "minibot-amd"}))[0] == 204
    verdict = await p.wait_for("StasisStart", "C1", count=2, timeout=3)
    assert verdict["args"] == ["amd", "NOTSURE", "TOOLONG-5003"]
    types = p.types("C1")
    tail = types[types.index("StasisEnd"):]
    assert tail == ["StasisEnd", "ChannelVarset", "ChannelDialplan", "ChannelVarset", "ChannelVarset",
                    "ChannelDialplan", "ChannelVarset", "StasisStart"]
    assert (await p.rest("GET", "/channels/C1/variable", {"variable": "AMDSTATUS"}))[1] == {"value": "NOTSURE"}
    await p.rest("DELETE", "/channels/C1")


# -- the server ------------------------------------------------------------------------------------


async def test_auth_routes_and_errors(rig: Rig) -> None:
    sim = rig.sim
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sim.url}/channels") as r:
            assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
        async with http.get(f"{sim.url}/channels", params={"api_key": "minibot:wrong"}) as r:
            assert r.status == 401
        async with http.get(f"{sim.url}/asterisk/info", params={"api_key": "minibot:secret"}) as r:
            assert r.status == 200 and (await r.json())["system"]["version"].startswith("22")
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await http.ws_connect(f"{sim.ws_url}?app={APP}&api_key=minibot:wrong")
        assert err.value.status == 401
        ws = await http.ws_connect(sim.events_url(api_key=True))
        await ws.close()
    p = rig.probe
    assert await p.rest("GET", "/nothing/here") == (404, {"message": "Resource not found"})
    assert await p.rest("GET", "/channels/nope") == (404, {"message": "Channel not found"})
    assert (await p.rest("PUT", "/channels"))[0] == 405
    assert (await p.rest("GET", "/channels/"))[0] == 404
    assert (await p.rest("POST", "/channels/nope/dtmf"))[0] == 501
    assert await p.rest("GET", "/channels") == (200, [])


async def test_drop_websockets_and_reconnect(rig: Rig) -> None:
    await answered(rig)
    await rig.sim.drop_websockets()
    await rig.probe.wait_closed()
    await rig.probe.rest("POST", "/channels/C1/variable", {"variable": "LOST", "value": "1"})  # nobody hears it
    assert rig.sim.core.channel("C1") is not None  # channels survive a websocket drop
    async with AriProbe.for_sim(rig.sim) as again:
        await asyncio.sleep(0.05)
        await again.rest("POST", "/channels/C1/variable", {"variable": "SEEN", "value": "1"})
        event = await again.wait_for("ChannelVarset", "C1")
        assert event["variable"] == "SEEN"
        await again.rest("DELETE", "/channels/C1")
        await again.wait_for("ChannelDestroyed", "C1")
    assert not rig.probe.find("ChannelVarset", "C1", where=lambda e: e["variable"] in ("LOST", "SEEN"))


async def test_restart_drops_everything_and_comes_back_on_the_same_port(rig: Rig) -> None:
    await answered(rig)
    media = await listen_path(rig, amd=False)
    await asyncio.sleep(0.2)
    port = rig.sim.port
    await rig.sim.restart(downtime=0.1)
    await rig.probe.wait_closed()
    assert rig.sim.port == port
    await asyncio.wait_for(media.task, 2)  # the AudioSocket connection was closed
    assert media.frames
    async with AriProbe.for_sim(rig.sim) as again:
        assert await again.rest("GET", "/channels") == (200, [])
        assert await again.rest("GET", "/bridges") == (200, [])
    assert rig.sim.calls[0].ended.is_set()


async def test_events_are_json_text_frames_like_asterisk(rig: Rig) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(rig.sim.events_url(api_key=True))
        await rig.probe.rest("POST", "/channels", {"endpoint": "Local/busy@callee-sim", "app": APP})
        msg = await ws.receive(timeout=2)
        assert msg.type == aiohttp.WSMsgType.TEXT
        event = json.loads(msg.data)
        assert event["application"] == APP and event["asterisk_id"]
        await ws.close()
    # a second websocket for the same app took it over: the probe got ApplicationReplaced
    assert rig.probe.find("ApplicationReplaced")


async def test_closed_session_items(rig: Rig) -> None:
    """The AudioSocket side sees what Asterisk does on DELETE: TCP closed, no 0x00 message."""
    await answered(rig)
    media = await listen_path(rig, amd=False)
    session = rig.media.session(media.call_uuid)
    assert session is not None
    sub = session.subscribe()
    await rig.probe.rest("DELETE", "/channels/C1-E1")
    while True:
        item = await asyncio.wait_for(sub.get(), 2)
        if isinstance(item, Closed):
            break
    assert item.reason == "peer closed the connection"
    await rig.probe.rest("DELETE", "/channels/C1")


async def test_time_scale_speeds_up_scripted_waits_not_audio(tmp_path: Path) -> None:
    async with SimulatedAsterisk(password="secret", time_scale=0.1, recordings_dir=tmp_path) as sim, \
            AriProbe.for_sim(sim) as p:
        sim.add_callee("PJSIP/1@trunk", Human(ring=5.0, echo_db=None, utterances=[Say("allo", at=2.0)]))
        t0 = time.monotonic()
        await p.rest("POST", "/channels", {"endpoint": "PJSIP/1@trunk", "app": APP, "channelId": "C1",
                                           "timeout": "10"})  # a 10 s timeout is 1 s here: the ring wins
        await p.wait_for("StasisStart", "C1", timeout=3)
        assert 0.45 < time.monotonic() - t0 < 0.8
        call = sim.call("C1")
        await said(call, 1)
        assert call.said[0].started_at - call.answered_at == pytest.approx(0.2, abs=0.08)
        assert call.said[0].ended_at - call.said[0].started_at == pytest.approx(0.811, abs=0.01)  # real time
        await p.rest("POST", "/channels", {"endpoint": "Local/noanswer@callee-sim", "app": APP, "channelId": "C2",
                                           "timeout": "10"})
        t1 = time.monotonic()
        assert (await p.wait_for("ChannelDestroyed", "C2", timeout=3))["cause"] == 19
        assert 0.9 < time.monotonic() - t1 < 1.4
        await p.rest("DELETE", "/channels/C1")


async def test_originate_with_a_json_body(rig: Rig) -> None:
    status, body = await rig.probe.rest("POST", "/channels", body={
        "endpoint": "Local/human@callee-sim", "app": APP, "appArgs": "outbound,x", "channelId": "C1",
        "variables": {"CAMPAIGN": "c42", "LEAD": {"value": "7", "report_events": True}}})
    assert status == 200 and body["id"] == "C1"
    await rig.probe.wait_for("StasisStart", "C1")
    assert await rig.probe.rest("GET", "/channels/C1/variable", {"variable": "CAMPAIGN"}) == (200, {"value": "c42"})
    assert await rig.probe.rest("GET", "/channels/C1/variable", {"variable": "LEAD"}) == (200, {"value": "7"})
    assert (await rig.probe.rest("GET", "/channels/C1/variable", {"variable": "NOPE"}))[0] == 404
    assert (await rig.probe.rest("POST", "/channels/C1/variable", {"variable": "X", "value": "1"}))[0] == 204
    assert (await rig.probe.wait_for("ChannelVarset", "C1", where=lambda e: e["variable"] == "X"))["value"] == "1"
    listed = (await rig.probe.rest("GET", "/channels"))[1]
    assert len(listed) == 2 and "C1" in {c["id"] for c in listed}  # and its Local ;2
    await rig.probe.rest("DELETE", "/channels/C1")


async def test_a_bridge_playback_is_heard_and_volume_tx_lowers_it_at_once(rig: Rig) -> None:
    # MiniBot's prompts play on a bridge holding the caller alone: the caller channel's command
    # queue stays free, so VOLUME(TX) takes effect at once (on a channel playback it waits for
    # the playback's end, like every channel command: facts §5.3). func_volume divides by a
    # negative value: -10 is -20 dB, heard in the echo on the listen path too.
    await answered(rig, Human(echo_db=-10.0, echo_delay_ms=100.0))
    media = await listen_path(rig, amd=False)
    p = rig.probe
    assert (await p.rest("POST", "/bridges", {"type": "mixing", "bridgeId": "C1-talk"}))[0] == 200
    assert (await p.rest("POST", "/bridges/C1-talk/addChannel", {"channel": "C1"}))[0] == 204
    status, body = await p.rest("POST", "/bridges/C1-talk/play/P1", {"media": rig.sound("long")})
    assert status == 201 and body["target_uri"] == "bridge:C1-talk", body
    started = await p.wait_for("PlaybackStarted", "P1")
    assert started["playback"]["target_uri"] == "bridge:C1-talk"
    t_play = time.monotonic()
    await asyncio.sleep(0.8)
    asked = time.monotonic()
    assert (await p.rest("POST", "/channels/C1/variable", {"variable": "VOLUME(TX)", "value": "-10"}))[0] == 204
    t_low = time.monotonic()
    assert t_low - asked < 0.5  # not held until the 6 s prompt ends
    await asyncio.sleep(0.8)
    assert (await p.rest("POST", "/channels/C1/variable", {"variable": "VOLUME(TX)", "value": "0"}))[0] == 204
    t_back = time.monotonic()
    await asyncio.sleep(0.8)
    full = rms(between(media.frames, t_play + 0.2, t_low))
    low = rms(between(media.frames, t_low + 0.2, t_back))
    back = rms(between(media.frames, t_back + 0.2, t_back + 0.8))
    assert 20 * np.log10(low / full) == pytest.approx(-20.0, abs=1.5)
    assert 20 * np.log10(back / full) == pytest.approx(0.0, abs=1.0)
    assert (await p.rest("DELETE", "/playbacks/P1"))[0] == 204
    assert (await p.wait_for("PlaybackFinished", "P1"))["playback"]["state"] == "done"
    played = {x.playback_id: x for x in rig.sim.call("C1").played}
    assert played["P1"].stopped_early
    await p.rest("DELETE", "/channels/C1")


async def test_a_channel_command_waits_for_a_channel_playback(rig: Rig) -> None:
    await answered(rig)
    p = rig.probe
    await p.rest("POST", "/channels/C1/play", {"media": rig.sound("prompt"), "playbackId": "P1"})
    await p.wait_for("PlaybackStarted", "P1")
    asked = time.monotonic()
    assert (await p.rest("POST", "/channels/C1/variable", {"variable": "VOLUME(TX)", "value": "-10"}))[0] == 204
    finished = [e for e in p.events if e["type"] == "PlaybackFinished"]
    assert finished and time.monotonic() - asked > 1.0  # answered once the 1.5 s prompt had ended
    await p.rest("DELETE", "/channels/C1")
