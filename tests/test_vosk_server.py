"""The vosk-server recogniser over a real WebSocket, against the French stand-in server
(tests/fake_vosk_server.py, alphacep's protocol), and the listen path it feeds over real TCP."""

import asyncio
import json
import socket
import uuid

import pytest

from audiosocket import AudioSocketServer
from audiosocket.peer import AsteriskPeer
from bot.ops import health
from bot.speech import events as ev
from bot.speech.asr import AsrUnavailable, load_recognizer
from bot.speech.asr.vosk_server import VoskServerError, VoskServerRecognizer
from bot.speech.listener import CallListener
from bot.speech.vad import VadConfig
from tests.conftest import speech
from tests.fake_vosk_server import EOF, FakeVoskServer


@pytest.fixture
async def server():
    async with FakeVoskServer() as s:
        yield s


def _chunks(pcm: bytes, rate: int, ms: int = 20) -> list[bytes]:
    n = rate * ms // 1000 * 2
    return [pcm[i:i + n] for i in range(0, len(pcm), n)]


async def _transcribe(recognizer, pcm: bytes, rate: int) -> tuple[list[str], str]:
    stream = recognizer.open(rate)
    partials = []
    for chunk in _chunks(pcm, rate):
        if (t := await stream.feed(chunk)) is not None:
            partials.append(t.text)
    return partials, (await stream.finish()).text


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_words_come_while_the_caller_speaks_and_the_final_is_vosk_text(server, rate):
    recognizer = VoskServerRecognizer(server.url)
    partials, final = await _transcribe(recognizer, speech("non_merci", rate).pcm + bytes(rate // 5), rate)
    assert final == "non merci je ne suis pas intéressé"
    assert partials[0] != final and partials[-1] == final  # growing partials, as a streaming decoder gives
    [wire] = server.messages
    assert json.loads(wire[0]) == {"config": {"sample_rate": rate}}
    assert wire[-1] == EOF and all(isinstance(m, int) for m in wire[1:-1])


async def test_segments_the_server_closes_are_kept_in_the_utterance(server):
    # Two answers with more than the server's endpoint silence between them: its first segment
    # comes back as a {"text": ...} answer and must not be lost from the utterance.
    gap = bytes(8000 * 2)
    _, final = await _transcribe(VoskServerRecognizer(server.url),
                                 speech("allo", 8000).pcm + gap + speech("pas_le_temps", 8000).pcm, 8000)
    assert final == "allô je n'ai pas le temps"


async def test_audio_that_is_no_speech_gives_no_words(server):
    partials, final = await _transcribe(VoskServerRecognizer(server.url), bytes(8000 * 2), 8000)
    assert partials == [] and final == ""


async def test_an_utterance_without_audio_never_connects(server):
    assert (await VoskServerRecognizer(server.url).open(8000).finish()).text == ""
    assert server.messages == []


async def test_unreachable_server_is_a_clear_error_without_credentials():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    stream = VoskServerRecognizer(f"ws://user:secret@127.0.0.1:{port}/asr").open(8000)
    with pytest.raises(VoskServerError) as caught:
        await stream.feed(bytes(320))
    assert f"127.0.0.1:{port}/asr" in str(caught.value) and "secret" not in str(caught.value)


async def test_a_server_that_stops_answering_times_out_and_closes_the_socket(server):
    server.hold = 5.0
    stream = VoskServerRecognizer(server.url, answer_timeout=0.3).open(8000)
    with pytest.raises(VoskServerError, match="no answer within 0.3 s"):
        await stream.feed(bytes(320))
    assert stream._ws is None and stream._session is None


async def test_garbage_from_the_server_is_a_clear_error():
    from aiohttp import web

    async def garbage(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            await ws.send_str("<html>not vosk</html>")
        return ws

    app = web.Application()
    app.router.add_get("/", garbage)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(VoskServerError, match="not a JSON object"):
            await VoskServerRecognizer(f"ws://127.0.0.1:{port}/").open(8000).feed(bytes(320))
    finally:
        await runner.cleanup()


def test_configuration_errors_say_what_to_set(tmp_path):
    with pytest.raises(AsrUnavailable, match="MINIBOT_VOSK_URL"):
        load_recognizer("vosk-server", cache_dir=tmp_path, models_dir=tmp_path, vosk_model=None, executor=None)
    with pytest.raises(AsrUnavailable, match="ws://"):
        VoskServerRecognizer("http://asr:2700")


async def test_health_asks_the_server(server):
    up = await health.asr(VoskServerRecognizer(server.url)).fn()
    assert up.status == "ok" and server.url.removeprefix("ws://") in up.detail
    await server.close()
    down = await health.asr(VoskServerRecognizer(server.url)).fn()
    assert down.status != "ok" and "vosk-server" in down.detail


async def test_listen_path_ends_the_turn_early_once_the_words_are_known(server):
    """Over real TCP: the caller's answer, then silence. With the recogniser caught up the
    utterance ends after early_end_ms of silence, and the turn's text is the whole answer."""
    audiosocket = AudioSocketServer("127.0.0.1", 0)
    await audiosocket.start()
    call = uuid.uuid4()
    audiosocket.expect(call)
    peer = AsteriskPeer("127.0.0.1", audiosocket.port, call, sample_rate=8000)
    await peer.connect()
    session = await audiosocket.wait_session(call, 1)
    vad = VadConfig(end_silence_ms=1500, early_end_ms=400)  # far apart: which one ended it is clear
    listener = CallListener(session.subscribe(), VoskServerRecognizer(server.url), vad=vad)
    task = asyncio.ensure_future(listener.run())
    try:
        await peer.silence(0.2, send_frames=True)
        await peer.stream(speech("oui_daccord", 8000).pcm)
        await peer.silence(2.0)  # nothing sent in silence (facts §1.3): the listener's own timer must end it
        async with asyncio.timeout(5):
            while not isinstance(final := await listener.events.get(), ev.FinalTranscript):
                pass
        assert final.text == "oui d'accord pourquoi pas"
        assert listener.stats.early_ends == 1
    finally:
        await peer.close()
        await asyncio.wait_for(task, 5)
        await audiosocket.close()
