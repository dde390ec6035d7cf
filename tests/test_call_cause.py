"""The hang-up cause survives Asterisk's teardown order: an answered caller channel's
ChannelDestroyed (which carries the cause) comes after its StasisEnd, ~11 ms later on Asterisk 22.11
and later still on a loaded one. The call keeps reading until it comes (bounded)."""

from __future__ import annotations

import asyncio

import pytest

import ari.simulator.core as sim_core
from ari.client import AriConfig
from ari.simulator import Human, SimulatedAsterisk
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.outcome import Outcome

PASSWORD = "cause-test"


class _Deaf:
    """A recogniser never used: the callee is silent (this test is about teardown, not words)."""

    name, streaming = "deaf", False

    def open(self, sample_rate: int):
        raise AssertionError("no recognition expected: the callee says nothing")


async def _quiet(call) -> None:
    """A conversation that says nothing and waits for the callee to hang up (CallEnded then)."""
    while True:
        await call.next_listen_event(timeout=1.0)


@pytest.mark.parametrize("late", [0.011, 0.4])
async def test_cause_kept_when_channel_destroyed_comes_after_stasis_end(monkeypatch, late):
    monkeypatch.setattr(sim_core, "DESTROY_AFTER_STASIS_END", late)
    async with SimulatedAsterisk(password=PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server:
        sim.add_callee("PJSIP/+33612345678@trunk", Human(hangup_after=1.0, echo_db=None))
        ari = AriConfig(url=sim.url, username="minibot", password=PASSWORD)
        config = CallConfig(audiosocket_address=server.address, ring_timeout=5, media_timeout=2.0, record=False)
        async with CallController(ari, config, server, _Deaf()) as ctl:
            record = await asyncio.wait_for(ctl.place_call("+33612345678", _quiet), 20)
    assert record.outcome is Outcome.ANSWERED
    assert (record.cause, record.cause_txt) == (16, "Normal Clearing")
