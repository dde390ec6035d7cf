"""Asterisk going away, on the simulator (CI without ../shared runs these; tests/live/test_outage.py
runs the same faults on the real Asterisk 22): a refused originate is NotDialled, nothing rings;
a dial waits until the event socket is back and the Stasis app registered; a Stasis app taken
over is said; an error page becomes one line; a port already taken is said at start-up."""

from __future__ import annotations

import asyncio
import base64
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from ari.client import AriConfig, _message
from ari.errors import AriHttpError
from ari.simulator import Human, Say, SimulatedAsterisk
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.readiness import NotDialled, StartupError, note_for
from bot.call.runtime import _audiosocket, demo_conversation
from bot.config import Settings
from bot.speech.asr.models import whisper_base_dir
from bot.speech.asr.whisper_engine import WhisperRecognizer

PASSWORD = "s3cret-test"
NUMBER = "+33612345678"


@pytest.fixture(scope="module")
def whisper():
    with ThreadPoolExecutor(1) as pool:
        yield WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)


def _controller(sim, server, whisper, app: str = "minibot") -> CallController:
    ari = AriConfig(url=sim.url, username="minibot", password=PASSWORD, app=app)
    calls = CallConfig(audiosocket_address=server.address, endpoint_template="PJSIP/{number}@trunk",
                       caller_id="Agence <+33162000000>", ring_timeout=10, media_timeout=2.0)
    return CallController(ari, calls, server, whisper)


async def test_a_refused_originate_is_not_dialled(whisper):
    async with SimulatedAsterisk(password=PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server, \
            _controller(sim, server, whisper) as ctl:
        sim.add_callee(f"PJSIP/{NUMBER}@trunk", Human(utterances=[Say("allo", at=0.3)]))
        sim.core.faults.originate_status = 500
        with pytest.raises(NotDialled, match=r"500 \(Allocation failed\) sur POST channels"):
            await ctl.place_call(NUMBER, demo_conversation())
        assert not sim.core.calls  # nothing rang
        assert not ctl.calls


@pytest.mark.slow
async def test_a_dial_waits_for_the_app_after_a_restart(whisper):
    async with SimulatedAsterisk(password=PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server, \
            _controller(sim, server, whisper) as ctl:
        assert ctl.ready
        await sim.bus.drop_all()  # the event socket drops: the stream reconnects after its backoff
        await asyncio.sleep(0.05)
        assert not ctl.ready
        ctl.hold = 0.01
        with pytest.raises(NotDialled, match="injoignable"):
            await ctl.place_call(NUMBER, demo_conversation())
        ctl.hold = 10
        sim.add_callee(f"PJSIP/{NUMBER}@trunk", Human(utterances=[Say("allo", at=0.3)], hangup_after=1.5))
        record = await asyncio.wait_for(ctl.place_call(NUMBER, demo_conversation()), 30)
        assert record.answered_at is not None and not record.interrupted


async def test_a_stasis_app_taken_over_is_said(whisper):
    async with SimulatedAsterisk(password=PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server, \
            _controller(sim, server, whisper) as first, _controller(sim, server, whisper) as second:
        for _ in range(100):
            if first.readiness.replaced:
                break
            await asyncio.sleep(0.02)
        assert not first.ready and second.ready
        assert "même nom d'application" in first.readiness.why_not


def test_an_error_page_becomes_one_line():
    page = ('<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n<html><head>\r\n<title>503 Service Unavailable'
            '</title>\r\n</head><body>\r\n<h1>Service Unavailable</h1>\r\n</body></html>')
    assert _message(page) == "503 Service Unavailable"
    assert _message('{"error":"Allocation failed"}') == "Allocation failed"  # a stopping Asterisk's 500
    note = note_for(AriHttpError("POST", "/channels/mb-1/play", 503, _message(page)))
    assert note == "erreur Asterisk 503 (503 Service Unavailable) sur POST channels/play"


async def test_a_port_already_taken_is_said_at_start_up():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(audiosocket_host="127.0.0.1", audiosocket_port=port)
        with pytest.raises(StartupError, match=f"port AudioSocket 127.0.0.1:{port} est déjà utilisé"):
            async with _audiosocket(settings):
                pass


@pytest.mark.slow
@pytest.mark.parametrize("media_first", [False, True], ids=["events_first", "audio_closes_first"])
async def test_core_stop_now_mid_call_on_the_simulator(whisper, media_first):
    """The simulator's `core stop now` (the real sequence, tests/live/test_conformance.py): the call
    is interrupted with one clear note, an originate while it stops is refused and never rang
    (500, then the 503 page, then a refused connection), and dials come back with Asterisk. The
    AudioSocket may close before the shutdown's events are read: the note still names the cause."""
    async with SimulatedAsterisk(password=PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server, \
            _controller(sim, server, whisper) as ctl:
        sim.add_callee(f"PJSIP/{NUMBER}@trunk", Human(utterances=[Say("allo", at=0.3)]))
        call = asyncio.ensure_future(ctl.place_call(NUMBER, demo_conversation()))
        for _ in range(300):
            if any(c.listener is not None for c in ctl.calls.values()):
                break
            await asyncio.sleep(0.02)
        stopping = asyncio.ensure_future(sim.stop_now(refusing=0.3, unavailable=0.5, media_first=media_first))
        record = await asyncio.wait_for(call, 10)
        assert record.interrupted and record.note == "Asterisk arrêté pendant l'appel", record.timeline
        assert not ctl.ready  # the shutdown seen on the channels holds every dial
        ctl.hold = 0.05
        with pytest.raises(NotDialled):
            await ctl.place_call(NUMBER, demo_conversation())
        await stopping
        calls_before = len(sim.calls)
        with pytest.raises(NotDialled):
            await ctl.place_call(NUMBER, demo_conversation())
        assert len(sim.calls) == calls_before  # nothing rang while it was down
        await sim.start()
        ctl.hold = 15
        sim.add_callee(f"PJSIP/{NUMBER}@trunk", Human(utterances=[Say("allo", at=0.3)], hangup_after=1.5))
        record = await asyncio.wait_for(ctl.place_call(NUMBER, demo_conversation()), 40)
        assert record.answered_at is not None and not record.interrupted


async def test_the_simulators_stop_answers_as_asterisk_does():
    """POST /channels while `core stop now` runs: 500 "Allocation failed", then Asterisk's 503 page
    (an HTML page, not JSON), then a refused connection; the events socket is closed."""
    import aiohttp

    async with SimulatedAsterisk(password=PASSWORD) as sim:
        auth = {"Authorization": "Basic " + base64.b64encode(f"minibot:{PASSWORD}".encode()).decode()}
        url = f"{sim.url}/channels?endpoint=Local/human@callee-sim&app=minibot"
        async with aiohttp.ClientSession(headers=auth) as http:
            ws = await http.ws_connect(sim.events_url())
            stopping = asyncio.ensure_future(sim.stop_now(refusing=0.3, unavailable=0.3))
            await asyncio.sleep(0.05)
            async with http.post(url) as r:
                assert r.status == 500 and (await r.json()) == {"error": "Allocation failed"}
            await asyncio.sleep(0.35)
            async with http.post(url) as r:
                assert r.status == 503 and "Shutdown in progress" in await r.text()
            await stopping
            assert (await ws.receive(1)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            with pytest.raises(aiohttp.ClientConnectionError):
                await http.post(url)
