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

from bot.i18n import _

tts_app = typer.Typer(help="Synthèse vocale : dire une phrase dans un fichier.", no_args_is_help=True)
console = Console()

@tts_app.callback()
def _tts() -> None:
    """Synthèse vocale : dire une phrase dans un fichier."""
    # A callback keeps this a group with one command: `minibot tts say`, not `minibot tts`.


# What Asterisk plays, by extension (facts §5.2, bot/call/prompt.py): .wav is 8 kHz only.
FORMATS = {".wav": 8000, ".wav16": 16000, ".sln16": 16000}


def _fail(message: str, code: int) -> typer.Exit:
    console.print(f"[red]{_('erreur :')}[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


@tts_app.command()
def say(
    text: str = typer.Argument(..., metavar="TEXTE", help="la phrase, en français"),
    out: Path = typer.Option(..., "--out", "-o", metavar="FICHIER",
                             help="FICHIER.wav (8 kHz), FICHIER.wav16 ou FICHIER.sln16 (16 kHz)"),
    voice: str = typer.Option(None, "--voice", help="la voix du moteur (par défaut : MINIBOT_TTS__VOICE ou celle "
                              "du moteur)"),
    engine: str = typer.Option(None, "--engine", help="espeak, piper, kokoro ou xtts (par défaut : "
                               "MINIBOT_TTS__ENGINE)"),
    ambience: str = typer.Option(
        None, "--ambience", help="ambiance sonore sous la phrase : un nom dans audio/ambience ou un WAV ; 'none' "
                                 "pour aucune (par défaut : MINIBOT_TTS__AMBIENCE)"),
    ambience_db: float = typer.Option(None, "--ambience-db", help="le niveau de l'ambiance par rapport à la voix, "
                                      "en dB"),
) -> None:
    """Synthétiser TEXTE dans FICHIER ; son extension choisit le format. Affiche la durée et le temps de
    synthèse."""
    from bot.config import Settings
    from bot.speech.pcm import Audio
    from bot.speech.tts import ENGINES, TtsError, load_engine
    from bot.voice.ambience import load_ambience, mix_ambience
    from bot.voice.cache import write_audio

    if not text.strip():
        raise _fail(_("rien à dire : TEXTE est vide"), 2)
    rate = FORMATS.get(out.suffix)
    if rate is None:
        raise _fail(_("{out} : extension non prise en charge {ext!r} ; Asterisk joue {formats} (.wav en 8 kHz, "
                      ".wav16 et .sln16 en 16 kHz)").format(out=out, ext=out.suffix or _("(aucune)"),
                                                           formats=", ".join(FORMATS)), 2)
    full = Settings()
    settings = full.tts
    name = engine or settings.engine
    if name == "auto":  # Piper when a French Piper voice is pulled, else espeak-ng
        from bot.speech.tts.registry import default_engine

        name = default_engine(full.models_path)
    if name not in ENGINES:
        raise _fail(_("moteur de synthèse inconnu {name!r} ; connus : {known}").format(
            name=name, known=", ".join(ENGINES)), 2)
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
        raise _fail(_("{engine} : voix inconnue {voice!r} ; voix : {voices}").format(
            engine=name, voice=chosen, voices=", ".join(voices) or _("aucune")), 2)

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
    under = _(", sur {room} à {level} dB").format(room=escape(room_name), level=f"{level:g}") \
        if room is not None else ""
    console.print(_("écrit {out} : {duration} s à {rate} Hz ({engine}, {voice}{under}), synthétisé en {took} s "
                    "({speed}x le temps réel)").format(
                      out=escape(str(out)), duration=f"{audio.duration:.2f}", rate=rate, engine=name,
                      voice=escape(chosen), under=under, took=f"{took:.2f}",
                      speed=f"{audio.duration / took if took else 0:.0f}"),
                  highlight=False, soft_wrap=True)
