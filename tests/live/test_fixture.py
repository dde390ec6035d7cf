"""The live Asterisk fixture itself: the project's configuration runs, on private ports, and the
instance can be stopped, killed and started again on the same ports."""

from __future__ import annotations

from ari.client import AriClient


async def test_asterisk_runs_the_projects_configuration(live_asterisk):
    async with AriClient(live_asterisk.ari_config()) as client:
        info = await client.info()
    assert info
    dialplan = live_asterisk.rx("dialplan show callee-sim")
    for callee in ("human", "machine", "busy", "dtmf", "scripted"):
        assert f"'{callee}'" in dialplan
    assert str(live_asterisk.sounds) in live_asterisk.rx("dialplan show globals")
    assert live_asterisk.channels() == [] and live_asterisk.bridges() == []


def test_asterisk_stops_and_starts_again_on_the_same_port(live_asterisk):
    port = live_asterisk.http_port
    live_asterisk.stop_now()
    assert not live_asterisk.running
    live_asterisk.start()
    assert live_asterisk.http_port == port and "Channel" in live_asterisk.rx("core show channels")
    live_asterisk.kill()
    assert not live_asterisk.running
    live_asterisk.start()
    assert live_asterisk.running
