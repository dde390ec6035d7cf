"""`minibot demo` (listen path): simulated calls over real AudioSocket TCP into the real
server, VAD, echo-aware barge-in and recogniser, printed as a timeline per call."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from audiosocket import AudioSocketServer
from audiosocket.peer import AsteriskPeer

from ..config import Settings
from ..speech import events as ev
from ..speech.asr import AsrUnavailable, load_recognizer
from ..speech.asr.executor import recognition_executor
from ..speech.listener import CallListener
from ..speech.pcm import read_wav
from .caller import CallerScript, run_caller

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "speech"


@dataclass
class DemoCall:
    name: str
    script: CallerScript
    timeline: list[tuple[float, str]] = field(default_factory=list)


def _fixture(name: str):
    return read_wav(FIXTURES / f"{name}_16k.wav")


def _calls() -> list[DemoCall]:
    prompt = _fixture("prompt_bot")
    return [
        DemoCall("caller answers", CallerScript(_fixture("robot"), voice_at=0.3)),
        DemoCall("caller interrupts the prompt (echo -10 dB, 150 ms)",
                 CallerScript(_fixture("non_merci"), voice_at=3.0, prompt=prompt, echo_db=-10, echo_delay_ms=150)),
        DemoCall("caller listens to the prompt (echo -6 dB, 60 ms)",
                 CallerScript(None, prompt=prompt, echo_db=-6, echo_delay_ms=60, tail_s=0.5)),
        DemoCall("caller asks a question", CallerScript(_fixture("combien"), voice_at=0.5)),
    ]


async def _one(server: AudioSocketServer, recognizer, settings: Settings, call: DemoCall) -> None:
    call_uuid = uuid.uuid4()
    server.expect(call_uuid)
    peer = AsteriskPeer(server.host, server.port, call_uuid)
    await peer.connect()
    session = await server.wait_session(call_uuid, timeout=2.0)
    listener = CallListener(session.subscribe(), recognizer, vad=settings.vad, barge_in=settings.barge_in)
    stopped: list[float] = []
    t0 = time.monotonic()

    def on_start(at: float) -> None:
        if call.script.prompt is not None:
            listener.prompt_started(call.script.prompt.pcm, call.script.prompt.sample_rate, at)
            call.timeline.append((at - t0, f"bot plays its prompt ({call.script.prompt.duration:.1f} s)"))

    async def watch() -> None:
        while True:
            e = await listener.events.get()
            t = time.monotonic() - t0
            if isinstance(e, ev.BargeInDetected):
                listener.prompt_stopped(time.monotonic())
                stopped.append(time.monotonic())
                delay = f", echo delay {e.echo_delay_ms:.0f} ms" if e.echo_delay_ms is not None else ""
                call.timeline.append((t, f"barge-in: prompt stopped{delay}"))
            elif isinstance(e, ev.SpeechStarted):
                call.timeline.append((t, "caller speaks"))
            elif isinstance(e, ev.SpeechEnded):
                call.timeline.append((t, f"caller stops ({e.duration:.2f} s of speech)"))
            elif isinstance(e, ev.FinalTranscript):
                call.timeline.append((t, f'heard: "{e.text}" (ASR {e.asr_latency * 1000:.0f} ms)'))
            elif isinstance(e, ev.MediaClosed):
                call.timeline.append((t, "hang-up"))
                return

    async with asyncio.TaskGroup() as tg:
        tg.create_task(listener.run())
        watcher = tg.create_task(watch())
        await run_caller(peer, call.script, on_start=on_start, echo_stop=lambda: stopped[0] if stopped else None)
        await peer.close()
        await watcher
    if call.script.prompt is not None and not stopped:
        call.timeline.append((time.monotonic() - t0, "prompt played to the end: its echo was never taken for speech"))
    call.timeline.sort()


async def run_listen_demo(settings: Settings, console: Console) -> int:
    console.print(f"[bold]MiniBot listen-path demo[/] (ASR: {settings.asr})")
    with recognition_executor(settings.asr_threads, settings.asr_nice) as pool:
        try:
            with console.status("loading the speech recogniser..."):
                recognizer = await asyncio.get_running_loop().run_in_executor(
                    None,
                    lambda: load_recognizer(settings.asr, cache_dir=settings.cache_dir, models_dir=settings.models_path,
                                            vosk_model=settings.vosk_model, executor=pool,
                                            workers=settings.asr_threads, nice=settings.asr_nice,
                                            vosk_url=settings.vosk_url),
                )
        except AsrUnavailable as exc:
            console.print(f"[red]error:[/] {exc}")
            return 1
        async with AudioSocketServer(settings.audiosocket_host, 0) as server:
            calls = _calls()
            console.print(f"AudioSocket server on {server.address}; {len(calls)} simulated calls at once\n")
            await asyncio.gather(*(_one(server, recognizer, settings, c) for c in calls))
    for call in calls:
        table = Table(title=call.name, show_header=False, title_justify="left")
        table.add_column(justify="right", style="cyan")
        table.add_column()
        for t, what in call.timeline:
            table.add_row(f"{t:6.2f} s", what)
        console.print(table)
    return 0
