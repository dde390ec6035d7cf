"""`minibot demo`: calls against the simulated Asterisk, the whole way through MiniBot (ARI over
HTTP/WebSocket, AudioSocket over TCP, VAD, barge-in, recogniser, the scenario brain, the voice),
printed as an outcome, a result and a timeline per call."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.table import Table

from ari.client import AriConfig
from ari.simulator import Busy, Human, Machine, NoAnswer, Rejected, Say, SimulatedAsterisk
from audiosocket import AudioSocketServer

from ..call.call import CallRecord
from ..call.config import CallConfig
from ..call.controller import CallController
from ..call.scenario_conversation import ScenarioConversation
from ..config import Settings
from ..dialog.brain import Brain
from ..speech.asr import AsrUnavailable, load_recognizer
from ..speech.asr.executor import recognition_executor
from ..speech.tts import TtsError
from ..voice.voice import voice_from_settings

_PASSWORD = "demo-only"
_GOLD = {"slot_1": "jeudi à dix heures", "slot_2": "vendredi à quatorze heures"}

# (what the callee does, their number, who answers, scenario, contact variables)
CALLEES = [
    ("says allô, yes, then is interested", "+33612000001",
     Human(utterances=[Say("allo", at=0.3), Say("oui_daccord", after_prompt=True),
                       Say("interesse", after_prompt=True)], hangup_when_idle=5), "demo", {"first_name": "Marie"}),
    ("asks if it is a robot, then declines", "+33612000002",
     Human(utterances=[Say("bonjour_oui", at=0.3), Say("robot", after_prompt=True),
                       Say("oui_daccord", after_prompt=True), Say("non_merci", after_prompt=True),
                       Say("non_merci", after_prompt=True)], hangup_when_idle=5),
     "demo", {"first_name": "Paul"}),
    ("interrupts the greeting", "+33612000003",
     Human(utterances=[Say("allo", at=0.4), Say("non_merci", at=1.2, over_prompt=True)],
           echo_db=-10, echo_delay_ms=150, hangup_when_idle=6), "demo", {"first_name": "Luc"}),
    ("asks not to be called again", "+33612000004",
     Human(utterances=[Say("allo", at=0.3), Say("ne_plus_appeler", after_prompt=True)], hangup_when_idle=5),
     "demo", {"first_name": "Anne"}),
    ("voicemail: the gold scenario leaves its message", "+33612000005", Machine(), "or_rendez_vous",
     {"first_name": "Jean", **_GOLD}),
    ("busy", "+33612000006", Busy(ring=0.5), "demo", {}),
    ("no answer", "+33612000007", NoAnswer(), "demo", {}),
    ("rejects the call", "+33612000008", Rejected(ring=1.0), "demo", {}),
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
    if record.result:
        parts.append(f"result [bold]{record.result}[/]")
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
                                                  executor=pool, workers=settings.asr_threads, nice=settings.asr_nice))
            with console.status("loading the scenarios and the voice..."):
                brains = {name: Brain.build(name, embeddings=True) for name in {c[3] for c in CALLEES}}
                voice = voice_from_settings(settings)
        except (AsrUnavailable, TtsError) as exc:
            console.print(f"[red]error:[/] {exc}")
            return 1
        async with SimulatedAsterisk(password=_PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server:
            for _, number, callee, _, _ in CALLEES:
                sim.add_callee(f"PJSIP/{number}@trunk", callee)
            ari = AriConfig(url=sim.url, username="minibot", password=_PASSWORD)
            config = CallConfig(audiosocket_address=server.address, caller_id="Horizon <+33162000000>",
                                ring_timeout=6, vad=settings.vad, barge_in=settings.barge_in)
            async with CallController(ari, config, server, recognizer) as controller:
                console.print(f"simulated Asterisk at {sim.url}, AudioSocket server on {server.address}\n")
                records = await asyncio.gather(*(
                    controller.place_call(number, ScenarioConversation(brains[scenario], voice, values))
                    for _, number, _, scenario, values in CALLEES))
            leftovers = len(sim.live_channels()) + len(sim.live_bridges())
    for (what, _, _, scenario, _), record in zip(CALLEES, records, strict=True):
        title = f"{record.number} ({scenario}): {what}\n{_summary(record)}"
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column(justify="right", style="cyan")
        table.add_column()
        for t, entry in record.timeline.entries:
            table.add_row(f"{t:6.2f} s", entry)
        console.print(table)
    console.print(f"channels or bridges left in Asterisk: {leftovers}")
    return 0 if leftovers == 0 else 1
