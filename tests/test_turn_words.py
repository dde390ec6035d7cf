"""A streaming recogniser's words end the caller's turn (bot.speech.turn, no model): over real TCP,
with the French vosk-server stand-in (tests/fake_vosk_server.py, alphacep's protocol) giving the
words as it hears them. A pause after a bare "d'accord" is held where the old fixed early end
(400 ms once the recogniser had caught up) cut the caller in two; a closed sentence still ends
after a short silence."""

from __future__ import annotations

import asyncio

import pytest

from bot.speech import events as ev
from bot.speech.asr.vosk_server import VoskServerRecognizer
from bot.speech.turn import TurnConfig
from bot.speech.vad import VadConfig
from tests.conftest import speech
from tests.fake_vosk_server import FakeVoskServer
from tests.listening import listened_call

RATE = 16000  # the peer's slin16, as the snoop path gives it
VAD = VadConfig(end_silence_ms=1800, early_end_ms=400)  # far from every verdict: which one ended it is clear


@pytest.fixture
async def vosk():
    async with FakeVoskServer() as server:
        yield server


async def _listen(server, turn: TurnConfig, parts: list[bytes], pause_s: float):
    """The caller says ``parts`` with ``pause_s`` of silence between them (silent frames keep
    coming, as on the snoop path), then stops. Returns the ends of speech, with the silence each
    came after, and the listener."""
    audiosocket, peer, listener = await listened_call(VoskServerRecognizer(server.url), vad=VAD, turn=turn)
    task = asyncio.ensure_future(listener.run())
    events = []
    try:
        await peer.silence(0.2, send_frames=True)
        for i, part in enumerate(parts):
            if i:
                await peer.silence(pause_s, send_frames=True)
            await peer.stream(part)
        await peer.silence(2.4, send_frames=True)
    finally:
        await peer.close()
        async with asyncio.timeout(10):
            while not isinstance(e := await listener.events.get(), ev.MediaClosed):
                events.append(e)
        await task
        await audiosocket.close()
    return [e for e in events if isinstance(e, ev.SpeechEnded)], listener


async def test_a_pause_after_a_bare_answer_is_held_where_the_fixed_early_end_cut_it(vosk):
    # "D'accord. | C'est combien ?" with 750 ms between the two.
    parts = [speech("daccord", RATE).pcm, speech("combien", RATE).pcm]
    cut, _ = await _listen(vosk, TurnConfig(words=False), parts, 0.75)
    assert len(cut) == 2  # the old rule: 400 ms after the recogniser caught up with "d'accord"
    held, listener = await _listen(vosk, TurnConfig(), parts, 0.75)
    assert len(held) == 1, listener.stats.turn_verdicts
    whys = [v.why for v in listener.stats.turn_verdicts]
    assert whys[0] == "short answer" and whys[-1] == "sentence closed", whys


async def test_a_closed_sentence_ends_after_the_short_silence(vosk):
    [ended], listener = await _listen(vosk, TurnConfig(), [speech("pas_le_temps", RATE).pcm], 0)
    assert listener.stats.turn_verdicts[-1].why == "sentence closed"
    # Ended by the words' verdict: not before its 450 ms of silence, not on the 1.8 s default.
    assert ended.detected_at - ended.at >= TurnConfig().words_end_ms / 1000
