"""Everything a process needs to place and take calls, built from Settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from ari.client import AriConfig
from audiosocket import AudioSocketServer

from ..config import Settings
from ..speech.asr import load_recognizer
from ..speech.asr.executor import recognition_executor
from .call import CallRecord
from .config import CallConfig
from .controller import CallController, InboundFactory
from .conversation import ScriptedConversation
from .prompt import Prompt
from .readiness import port_in_use

PROMPTS = Path(__file__).resolve().parents[2] / "audio" / "prompts"


def demo_conversation(prompts: Path = PROMPTS, *, transfer_to: str | None = None) -> ScriptedConversation:
    """Greeting, one offer, goodbye (or a transfer): the bundled bot prompts."""
    p = {name: Prompt.load(prompts / f"{name}.wav16") for name in ("bonjour", "offre", "transfert", "au_revoir")}
    return ScriptedConversation(greeting=p["bonjour"], replies=[p["offre"]],
                                goodbye=p["transfert"] if transfer_to else p["au_revoir"], transfer_to=transfer_to)


def call_config(settings: Settings, audiosocket_address: str) -> CallConfig:
    d = settings.dial
    return CallConfig(audiosocket_address=settings.audiosocket_address or audiosocket_address,
                      endpoint_template=d.endpoint_template, caller_id=d.caller_id, ring_timeout=d.ring_timeout,
                      amd_context=d.amd_context, record=d.record, vad=settings.vad, barge_in=settings.barge_in,
                      turn=settings.turn)


def ari_config(settings: Settings) -> AriConfig:
    a = settings.ari
    return AriConfig(url=a.url, username=a.username, password=a.password.get_secret_value(), app=a.app)


@asynccontextmanager
async def _audio_http(settings: Settings) -> AsyncIterator[None]:
    """The audio cache over HTTP, when Asterisk runs elsewhere (MINIBOT_TTS__HTTP_PORT)."""
    if settings.tts.http_port is None:
        yield
        return
    from aiohttp import web

    from ..voice.cache import AudioCache
    from ..voice.server import audio_app

    runner = web.AppRunner(audio_app(AudioCache(settings.audio_path)))
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, settings.tts.http_host, settings.tts.http_port).start()
        except OSError as exc:
            clash = port_in_use(exc, "audio HTTP", f"{settings.tts.http_host}:{settings.tts.http_port}")
            if clash is None:
                raise
            raise clash from exc
        yield
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _audiosocket(settings: Settings) -> AsyncIterator[AudioSocketServer]:
    """The AudioSocket server; a port already taken is said as such (it used to read "cannot reach
    Asterisk", sending operators to the wrong machine)."""
    server = AudioSocketServer(settings.audiosocket_host, settings.audiosocket_port)
    try:
        await server.start()
    except OSError as exc:
        clash = port_in_use(exc, "AudioSocket", f"{settings.audiosocket_host}:{settings.audiosocket_port}")
        if clash is None:
            raise
        raise clash from exc
    try:
        yield server
    finally:
        await server.close()


@asynccontextmanager
async def call_runtime(settings: Settings, *, inbound: InboundFactory | None = None,
                       give_up_after: float = 30.0,
                       on_inbound_end: Callable[[CallRecord], Awaitable[None]] | None = None,
                       ) -> AsyncIterator[CallController]:
    with recognition_executor(settings.asr_threads, settings.asr_nice) as pool:
        recognizer = load_recognizer(settings.asr, cache_dir=settings.cache_dir, models_dir=settings.models_path,
                                     vosk_model=settings.vosk_model, executor=pool,
                                     workers=settings.asr_threads, nice=settings.asr_nice, vosk_url=settings.vosk_url,
                                     whisper=settings.whisper, wyoming_asr=settings.wyoming_asr)
        async with _audiosocket(settings) as server, _audio_http(settings):
            config = call_config(settings, server.address)
            async with CallController(ari_config(settings), config, server, recognizer, inbound=inbound,
                                      give_up_after=give_up_after, on_inbound_end=on_inbound_end) as controller:
                yield controller
