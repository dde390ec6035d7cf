"""`minibot tts`: render one line to a file, to hear a voice before a campaign uses it.

Thin: pick the engine and voice, synthesise, write in the format the file name asks for.
Exit codes: 0 written, 1 the engine cannot run or failed, 2 bad arguments.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

tts_app = typer.Typer(help="Synthèse vocale : dire une phrase dans un fichier.", no_args_is_help=True)
console = Console()

@tts_app.callback()
def _tts() -> None:
    """Text to speech: render a line to a file."""
    # A callback keeps this a group with one command: `minibot tts say`, not `minibot tts`.


# What Asterisk plays, by extension (facts §5.2, bot/call/prompt.py): .wav is 8 kHz only.
FORMATS = {".wav": 8000, ".wav16": 16000, ".sln16": 16000}


def _fail(message: str, code: int) -> typer.Exit:
    console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


@tts_app.command()
def say(
    text: str = typer.Argument(..., help="the line, in French"),
    out: Path = typer.Option(..., "--out", "-o", help="FILE.wav (8 kHz), FILE.wav16 or FILE.sln16 (16 kHz)"),
    voice: str = typer.Option(None, "--voice", help="the engine's voice (default: MINIBOT_TTS__VOICE or the engine's)"),
    engine: str = typer.Option(None, "--engine", help="espeak, kokoro or xtts (default: MINIBOT_TTS__ENGINE)"),
    ambience: str = typer.Option(
        None, "--ambience", help="room loop under the line: a name in audio/ambience or a WAV; 'none' for none "
                                 "(default: MINIBOT_TTS__AMBIENCE)"),
    ambience_db: float = typer.Option(None, "--ambience-db", help="the loop's level relative to the speech, dB"),
) -> None:
    """Synthesise TEXT into FILE; its extension picks the format. Prints duration and render time."""
    from bot.config import Settings
    from bot.speech.pcm import Audio
    from bot.speech.tts import ENGINES, TtsError, load_engine
    from bot.voice.ambience import load_ambience, mix_ambience
    from bot.voice.cache import write_audio

    if not text.strip():
        raise _fail("nothing to say: TEXT is empty", 2)
    rate = FORMATS.get(out.suffix)
    if rate is None:
        raise _fail(f"{out}: unsupported extension {out.suffix or '(none)'!r}; Asterisk plays "
                    f"{', '.join(FORMATS)} (.wav is 8 kHz, .wav16 and .sln16 are 16 kHz)", 2)
    full = Settings()
    settings = full.tts
    name = engine or settings.engine
    if name == "auto":  # Piper when a French Piper voice is pulled, else espeak-ng
        from bot.speech.tts.registry import default_engine

        name = default_engine(full.models_path)
    if name not in ENGINES:
        raise _fail(f"unknown TTS engine {name!r}; known: {', '.join(ENGINES)}", 2)
    room_name = ambience if ambience is not None else settings.ambience
    room: Audio | None = None
    if room_name and room_name.lower() != "none":
        try:
            room = load_ambience(room_name)
        except ValueError as exc:
            raise _fail(str(exc), 2) from None
    try:
        tts = load_engine(name, xtts_model_dir=settings.xtts_model_dir, xtts_voices_dir=settings.xtts_voices_dir,
                          models_dir=full.models_path, wyoming_tts=full.wyoming_tts)
    except TtsError as exc:
        raise _fail(str(exc), 1) from None
    voices = tts.voices()
    mine = name == settings.engine or (settings.engine == "auto" and settings.voice in voices)
    chosen = voice or (settings.voice if mine else None) or tts.default_voice
    if chosen not in voices:
        raise _fail(f"{name}: unknown voice {chosen!r}; voices: {', '.join(voices) or 'none'}", 2)

    started = time.perf_counter()
    try:
        audio = tts.synthesize(text, chosen)
    except TtsError as exc:
        raise _fail(str(exc), 1) from None
    took = time.perf_counter() - started
    level = ambience_db if ambience_db is not None else settings.ambience_db
    if room is not None:
        audio = mix_ambience(audio, room, level)
    if audio.sample_rate != rate:
        audio = audio.at_rate(rate)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_audio(out, audio.pcm, rate, wav=out.suffix != ".sln16")
    under = f", over {escape(room_name)} at {level:g} dB" if room is not None else ""
    console.print(f"wrote {escape(str(out))}: {audio.duration:.2f} s at {rate} Hz ({name}, {escape(chosen)}{under}), "
                  f"rendered in {took:.2f} s ({audio.duration / took if took else 0:.0f}x real time)",
                  highlight=False, soft_wrap=True)
