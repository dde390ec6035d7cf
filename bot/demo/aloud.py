"""`minibot scenario try NAME --audio`: the rehearsal played as a real call, offline.

The operator's lines (typed first, in order) are spoken by the offline voice into WAV clips; a
simulated person on the simulated Asterisk (ari.simulator) answers with « Allô ? » and then says each
clip once the bot's current phrase has ended, as a person answering the bot does. MiniBot takes the
call through its real path: ARI call control, AMD, AudioSocket, the voice activity detector, the
recogniser (MINIBOT_ASR: Whisper by default, from its packaged model), the brain and the bot's voice.
What comes back is the call's record: what each side said (the caller as the recogniser heard it),
the steps reached, the outcome and the result.

Nobody is dialled: the number exists only inside the simulator.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ari.client import AriConfig
from ari.simulator import Human, Say, SimulatedAsterisk
from audiosocket import AudioSocketServer

from ..call.call import CallRecord
from ..call.config import CallConfig
from ..call.controller import CallController
from ..call.scenario_conversation import ScenarioConversation
from ..config import Settings
from ..dialog.brain import Brain
from ..i18n import _
from ..speech.asr import load_recognizer
from ..speech.asr.executor import recognition_executor
from ..voice.cache import write_audio
from ..voice.voice import CachedVoice, voice_from_settings

GREETING = "Allô ?"  # said 0.3 s after answering: a person speaks first (AMD hears a human)
NUMBER = "+33612345678"  # inside the simulator only
CALLER_ID = "MiniBot <+33162000000>"
CLIP_RATE = 16000
IDLE_HANGUP_S = 6.0  # after their last line, the person hangs up once nobody has spoken for this long
CALL_LIMIT_S = 300.0


def render_lines(voice: CachedVoice, lines: Sequence[str], folder: Path) -> list[Path]:
    """Each line spoken by the offline voice into a 16 kHz mono WAV (what the simulator plays)."""
    # The bot's own voice: espeak's male variants are heard worse by Whisper (« Allô ? » came back as
    # « Ah non ! » with fr+m3, tried here), and the transcript names each side anyway.
    speaker = voice.voice
    clips = []
    for index, text in enumerate(lines):
        audio = voice.engine.synthesize(text, speaker).at_rate(CLIP_RATE)
        path = folder / f"caller-{index:02d}.wav"
        write_audio(path, audio.pcm, CLIP_RATE, wav=True)
        clips.append(path)
    return clips


def person(clips: Sequence[Path]) -> Human:
    greeting, *answers = clips
    return Human(utterances=[Say(greeting, at=0.3), *(Say(clip, after_prompt=True) for clip in answers)],
                 hangup_when_idle=IDLE_HANGUP_S)


async def rehearse_aloud(settings: Settings, scenario: str, values: dict[str, str], lines: Sequence[str],
                         *, on_status: Callable[[str], None] = lambda _text: None) -> CallRecord:
    """One simulated call running `scenario`, the caller saying `lines`; its record once it has ended."""
    password = secrets.token_hex(8)
    with tempfile.TemporaryDirectory(prefix="minibot-try-") as tmp, \
            recognition_executor(settings.asr_threads, settings.asr_nice) as pool:
        folder = Path(tmp)
        on_status(_("voix et reconnaissance"))
        voice = await asyncio.to_thread(voice_from_settings, settings)
        clips = await asyncio.to_thread(render_lines, voice, [GREETING, *lines], folder)
        recognizer = await asyncio.to_thread(
            load_recognizer, settings.asr, cache_dir=settings.cache_dir, models_dir=settings.models_path,
            vosk_model=settings.vosk_model, executor=pool, workers=settings.asr_threads, nice=settings.asr_nice,
            vosk_url=settings.vosk_url)
        brain = await asyncio.to_thread(Brain.build, scenario, settings.llm)
        conversation = ScenarioConversation(brain, voice, values, agent_endpoint=None)
        async with SimulatedAsterisk(password=password, recordings_dir=folder) as sim, \
                AudioSocketServer("127.0.0.1", 0) as server:
            sim.add_callee(f"PJSIP/{NUMBER}@trunk", person(clips))
            ari = AriConfig(url=sim.url, username="minibot", password=password)
            config = CallConfig(audiosocket_address=server.address, caller_id=CALLER_ID, ring_timeout=6,
                                vad=settings.vad, barge_in=settings.barge_in)
            on_status(_("appel en cours"))
            async with CallController(ari, config, server, recognizer) as controller:
                async with asyncio.timeout(CALL_LIMIT_S):
                    return await controller.place_call(NUMBER, conversation)
