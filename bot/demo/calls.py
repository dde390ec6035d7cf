"""`minibot demo`: calls against the simulated Asterisk, the whole way through MiniBot's call
control (ARI over HTTP/WebSocket, AudioSocket over TCP, VAD, barge-in, recogniser), printed
as an outcome and a timeline per call."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.table import Table

from ari.client import AriConfig
from ari.simulator import Agent, Busy, Human, Machine, NoAnswer, Rejected, Say, SimulatedAsterisk
from audiosocket import AudioSocketServer

from ..call.call import CallRecord
from ..call.config import CallConfig
from ..call.controller import CallController
from ..call.runtime import demo_conversation
from ..config import Settings
from ..speech.asr import AsrUnavailable, load_recognizer
from ..speech.asr.executor import recognition_executor

_PASSWORD = "demo-only"
_AGENT = "PJSIP/agent-1"

# (what the callee does, their number, who answers, transfer to an agent?)
CALLEES = [
    ("says allô, then is interested", "+33612000001",
     Human(utterances=[Say("allo", at=0.3), Say("interesse", after_prompt=True)], hangup_when_idle=5)),
    ("interrupts the greeting", "+33612000002",
     Human(utterances=[Say("allo", at=0.4), Say("non_merci", at=1.2, over_prompt=True)],
           echo_db=-10, echo_delay_ms=150, hangup_when_idle=4)),
    ("wants a human: transferred", "+33612000003",
     Human(utterances=[Say("bonjour_oui", at=0.3), Say("oui_daccord", after_prompt=True)], hangup_after=20)),
    ("voicemail", "+33612000004", Machine()),
    ("busy", "+33612000005", Busy(ring=0.5)),
    ("no answer", "+33612000006", NoAnswer()),
    ("rejects the call", "+33612000007", Rejected(ring=1.0)),
]


def _summary(record: CallRecord) -> str:
    first = record.answer_to_first_audio
    parts = [f"[bold]{record.outcome.value}[/] (cause {record.cause} {record.cause_txt})"]
    if record.amd_status:
        parts.append(f"AMD {record.amd_status}")
    if first is not None:
        parts.append(f"answer → first bot audio {first * 1000:.0f} ms")
    if record.barge_ins:
        parts.append(f"{record.barge_ins} barge-in(s)")
    return ", ".join(parts)


async def run_call_demo(settings: Settings, console: Console) -> int:
    console.print(f"[bold]MiniBot call demo[/]: {len(CALLEES)} calls at once against the simulated Asterisk "
                  f"(ASR: {settings.asr})")
    with recognition_executor(settings.asr_threads, settings.asr_nice) as pool:
        try:
            with console.status("loading the speech recogniser..."):
                recognizer = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: load_recognizer(settings.asr, cache_dir=settings.cache_dir,
                                                  models_dir=settings.models_path, vosk_model=settings.vosk_model,
                                                  executor=pool))
        except AsrUnavailable as exc:
            console.print(f"[red]error:[/] {exc}")
            return 1
        async with SimulatedAsterisk(password=_PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server:
            for _, number, callee in CALLEES:
                sim.add_callee(f"PJSIP/{number}@trunk", callee)
            sim.add_callee(_AGENT, Agent())
            ari = AriConfig(url=sim.url, username="minibot", password=_PASSWORD)
            config = CallConfig(audiosocket_address=server.address, caller_id="Horizon <+33162000000>",
                                ring_timeout=6, vad=settings.vad, barge_in=settings.barge_in)
            async with CallController(ari, config, server, recognizer) as controller:
                console.print(f"simulated Asterisk at {sim.url}, AudioSocket server on {server.address}\n")
                records = await asyncio.gather(*(
                    controller.place_call(number, demo_conversation(transfer_to=_AGENT if "transfer" in what else None))
                    for what, number, _ in CALLEES))
            leftovers = len(sim.live_channels()) + len(sim.live_bridges())
    for (what, _, _), record in zip(CALLEES, records, strict=True):
        table = Table(title=f"{record.number}: {what}\n{_summary(record)}", show_header=False, title_justify="left")
        table.add_column(justify="right", style="cyan")
        table.add_column()
        for t, entry in record.timeline.entries:
            table.add_row(f"{t:6.2f} s", entry)
        console.print(table)
    console.print(f"channels or bridges left in Asterisk: {leftovers}")
    return 0 if leftovers == 0 else 1
