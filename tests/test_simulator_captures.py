"""Replay the live Asterisk 22 captures against the simulator and compare the event streams.

Each capture's REST calls are issued in order, each after the event that preceded it in the
capture (plus the capture's own delay when it was deliberate, e.g. the barge-in DELETE 0.5 s
after PlaybackStarted), with a real AudioSocket server behind externalMedia. Then, for every
id MiniBot owns (C1, its Local ;2, S1, S2, E1, B1, P1): same event types in the same order,
same field sets, same values where they are not times or counters. Teardown orders across
channels are compared too.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ari.simulator import Human, Machine, Say, SimulatedAsterisk
from ari.simulator.probe import AriProbe, event_id
from audiosocket import AudioSocketServer

SHARED = Path(os.environ.get("MINIBOT_SHARED") or Path(__file__).resolve().parents[2] / "shared")
CAPTURES = SHARED / "asterisk-22-captures"
MEDIA_DIR = "/var/lib/asterisk/sounds/minibot/"
CAPTURED_HOST = "127.0.0.1:9095"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")

pytestmark = pytest.mark.skipif(not CAPTURES.is_dir(), reason=f"no captures at {CAPTURES}")

# Shorter scripts than the captured dialplans (same shape): AMD verdict, then the hang-up. The
# captures were taken with other AMD settings than asterisk/amd.conf; their verdicts are pinned here.
CALLEES = {
    "human": Human(utterances=[Say("allo", at=0.4)], hangup_after=2.2, amd=("HUMAN", "HUMAN-800-800"), amd_after=1.0),
    "machine": Machine(greeting="bonjour_oui", hangup_after=2.2, amd=("MACHINE", "MAXWORDS-3-2"), amd_after=1.0),
}
ANSWERED = {"human", "machine"}


def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CAPTURES / f"cap_{name}.jsonl").read_text().splitlines() if line.strip()]


def write_wav(path: Path, seconds: float, rate: int = 8000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.2 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


class Mapper:
    """Captured values -> this run's (media paths, AudioSocket address, channel counters)."""

    def __init__(self, sounds: Path, address: str) -> None:
        self.sounds = f"{sounds}/"
        self.address = address

    def value(self, v: Any) -> Any:
        if isinstance(v, str):
            return v.replace(MEDIA_DIR, self.sounds).replace(CAPTURED_HOST, self.address)
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x) for x in v]
        return v


def counters(text: str) -> str:
    """Channel names carry per-boot hex counters: Local/x@y-0000000e;1, Snoop/C1-00000007."""
    return re.sub(r"-[0-9a-f]{8}(?=;[12]$|$|,)", "-N", text)


def comparable(event: dict[str, Any], loose: bool) -> dict[str, Any]:
    """An event with times dropped and counters normalised; ``loose``: a Local ;2 whose
    dialplan steps depend on the callee's script."""
    out: dict[str, Any] = {"keys": sorted(event)}
    for key, value in event.items():
        if key == "timestamp":
            assert TIMESTAMP.match(value), value
        elif key in ("channel", "peer"):
            ch = dict(value)
            assert TIMESTAMP.match(ch.pop("creationtime"))
            ch["name"] = counters(ch["name"])
            ch["keys"] = sorted(value)
            if loose:
                ch["dialplan"] = {k: v for k, v in ch["dialplan"].items() if k in ("context", "exten")}
            out[key] = ch
        elif key == "bridge":
            br = dict(value)
            assert TIMESTAMP.match(br.pop("creationtime"))
            br["channels"] = sorted(br["channels"])
            br["keys"] = sorted(value)
            out[key] = br
        elif key == "value":
            out[key] = counters(value)
        elif key == "dialplan_app_data" and loose:
            continue
        else:
            out[key] = value
    return out


def script_dependent(event: dict[str, Any], loose_ids: set[str]) -> bool:
    """;2 events that follow the callee's own dialplan (Wait, Playback...), not the call."""
    if event_id(event) not in loose_ids:
        return False
    return event["type"] == "ChannelDialplan" or event.get("variable") == "PLAYBACKSTATUS"


def check_body(got: Any, want: Any) -> None:
    if not isinstance(want, dict):
        assert got == want
        return
    assert sorted(got) == sorted(want)
    for key in ("id", "state", "technology", "bridge_type", "bridge_class", "message", "media_uri", "target_uri",
                "language", "caller", "connected", "dialplan", "channelvars", "channels"):
        if key in want:
            assert got[key] == want[key], key
    if "name" in want:
        assert counters(got["name"]) == counters(want["name"])


@pytest.mark.parametrize("name", ["human", "machine", "busy", "congestion", "reject", "noanswer"])
async def test_capture_replay(name: str, tmp_path: Path) -> None:
    lines = load(name)
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    for line in lines:
        media = line.get("rest", {}).get("params", {}).get("media", "")
        if media.startswith("sound:"):
            write_wav(sounds / f"{Path(media[6:]).name}.wav", 2.0)
    async with (
        AudioSocketServer("127.0.0.1", 0, accept_unknown=True) as media_server,
        SimulatedAsterisk(password="secret", sounds_dir=sounds, recordings_dir=tmp_path / "rec") as sim,
        AriProbe.for_sim(sim) as probe,
    ):
        if name in CALLEES:
            sim.add_callee(f"Local/{name}@callee-sim", CALLEES[name])
        mapper = Mapper(sounds, media_server.address)
        await replay(lines, probe, mapper)
        expected = [mapper.value(line["event"]) for line in lines if "event" in line]
        loose = {"C1-2"} if name in ANSWERED else set()
        await wait_for_all(probe, [e for e in expected if not script_dependent(e, loose)], loose)
        compare_streams(probe.events, expected, name, loose)
        assert not sim.live_channels() and not sim.live_bridges()


async def replay(lines: list[dict[str, Any]], probe: AriProbe, mapper: Mapper) -> None:
    seen: dict[tuple[str, str | None], int] = {}
    trigger: tuple[tuple[str, str | None], int, float] | None = None
    for line in lines:
        if "event" in line:
            key = (line["event"]["type"], event_id(line["event"]))
            seen[key] = seen.get(key, 0) + 1
            trigger = (key, seen[key], line["t_ms"])
            continue
        rest = line["rest"]
        if trigger is not None:
            (type_, id_), count, t_ms = trigger
            await probe.wait_for(type_, id_, count=count, timeout=10)
            delay = (line["t_ms"] - t_ms) / 1000
            if delay > 0.05:  # deliberate (the barge-in DELETE), not the capture client's lag
                await asyncio.sleep(min(delay, 1.0))
        params = mapper.value(rest["params"])
        if params.get("timeout"):
            params["timeout"] = "1"  # the no-answer capture used 6 s; the sequence is the same
        status, body = await probe.rest(rest["method"], rest["path"], params)
        assert status == rest["status"], (rest["method"], rest["path"], body)
        check_body(body, mapper.value(rest["body"]))


async def wait_for_all(probe: AriProbe, expected: list[dict[str, Any]], loose: set[str]) -> None:
    want: dict[str | None, int] = {}
    for e in expected:
        want[event_id(e)] = want.get(event_id(e), 0) + 1
    for id_, count in want.items():
        await probe.wait_for(None, id_, count=count, where=lambda e: not script_dependent(e, loose), timeout=10)
    await asyncio.sleep(0.2)  # nothing more should come


def compare_streams(got_all: list[dict[str, Any]], expected: list[dict[str, Any]], name: str, loose: set[str]) -> None:
    got = [e for e in got_all if not script_dependent(e, loose)]
    want = [e for e in expected if not script_dependent(e, loose)]
    ids = {event_id(e) for e in want}
    assert {event_id(e) for e in got} == ids
    for id_ in ids:
        mine = [comparable(e, id_ in loose) for e in got if event_id(e) == id_]
        theirs = [comparable(e, id_ in loose) for e in want if event_id(e) == id_]
        assert [e["type"] for e in mine] == [e["type"] for e in theirs], id_
        for a, b in zip(mine, theirs, strict=True):
            assert a == b, (id_, a["type"])
    if name in ANSWERED:
        # the teardown after the callee hangs up, across channels
        def tail(events: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
            start = next(i for i, e in enumerate(events) if e["type"] == "ChannelHangupRequest")
            end = next(i for i, e in enumerate(events) if e["type"] == "ChannelDestroyed" and event_id(e) == "C1")
            return [(e["type"], event_id(e)) for e in events[start : end + 1]]

        assert tail(got) == tail(want)
    else:
        # no concurrency before the call fails: the whole order must match
        assert [(e["type"], event_id(e)) for e in got] == [(e["type"], event_id(e)) for e in want]
