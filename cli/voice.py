"""`minibot voice`: cloned voices for XTTS, from a reference recording.

    minibot voice clone julie.flac --name julie     # check, clean, store <voices dir>/julie.wav + .json
    minibot voice list

The voices directory is MINIBOT_TTS__XTTS_VOICES_DIR, or <cache_dir>/voices when unset. A refused
recording exits 1 with every reason, each naming the measured value and the limit.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

voice_app = typer.Typer(help="Voix clonées (XTTS) : vérifier, nettoyer et ranger les enregistrements de référence.",
                        no_args_is_help=True)
console = Console(soft_wrap=True)  # paths and reasons stay on one line, whatever the terminal width


def _measured(m, limits) -> str:
    pitch = f"{m.pitch_hz:.0f} Hz" if m.pitch_hz else "no pitch found"
    return (f"speech {m.speech_s:.1f} s ({limits.min_speech_s:.0f}–{limits.max_speech_s:.0f}), "
            f"clipping {m.clipped_ratio:.3%} (max {limits.max_clipped_ratio:.1%}), "
            f"SNR {m.snr_db:.1f} dB (min {limits.min_snr_db:.0f}, noise from {m.noise_estimate.replace('_', ' ')}), "
            f"speech level {m.speech_dbfs:.1f} dBFS (min {limits.min_speech_dbfs:.0f}), "
            f"pitch {pitch}, segment spread {m.pitch_spread_st:.1f} st (max {limits.max_pitch_spread_st:.0f})")


def _step(step: dict) -> str:
    kind = step["step"]
    if kind == "mono_mix":
        return f"mixed {step['channels']} channels to mono"
    if kind == "resample":
        return f"resampled {step['from_hz']} → {step['to_hz']} Hz"
    if kind == "noise_reduction":
        return f"noise reduction ({step['method']}, strength {step['prop_decrease']}, profile: {step['noise_profile']})"
    if kind == "trim":
        return f"trimmed {step['start_s']:.2f} s at the start, {step['end_s']:.2f} s at the end"
    if kind == "shorten_pauses":
        return f"{step['pauses']} pause(s) over {step['longer_than_s']} s shortened (−{step['removed_s']:.2f} s)"
    if kind == "loudness":
        start = "?" if step["from_lufs"] is None else f"{step['from_lufs']:.1f}"
        return f"loudness {start} → {step['to_lufs']:.1f} LUFS"
    if kind == "peak_limit":
        return f"peaks limited to {step['ceiling_dbfs']:.0f} dBFS ({step['samples_over']} samples)"
    return kind


@voice_app.command()
def clone(
    ref: Path = typer.Argument(..., help="reference recording: wav, flac, ogg or mp3; 6 to 30 s of one clean voice"),
    name: str = typer.Option(..., "--name", help="the voice's name: lowercase letters, digits, _ or -"),
    force: bool = typer.Option(False, "--force", help="replace a voice of that name"),
) -> None:
    """Check a reference recording, clean it and store it as a voice XTTS can clone."""
    from bot.config import Settings
    from bot.voice.reference import (
        ReferenceLimits,
        ReferenceRejected,
        VoiceReferenceError,
        check_with_xtts,
        clone_voice,
        voices_dir,
    )

    settings = Settings()
    directory = voices_dir(settings)
    limits = ReferenceLimits()
    try:
        voice = clone_voice(ref, name, directory, force=force, limits=limits)
    except ReferenceRejected as exc:
        console.print(f"measured: {escape(_measured(exc.measurements, limits))}")
        console.print(f"[red]refused:[/] {escape(ref.name)} cannot be a voice reference")
        for problem in exc.problems:
            console.print(f"  - {escape(problem.message)}")
        raise typer.Exit(1) from None
    except VoiceReferenceError as exc:
        console.print(f"[red]refused:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(f"measured: {escape(_measured(voice.measurements, limits))}")
    console.print(f"cleaned: {escape('; '.join(_step(s) for s in voice.processing))}")
    out = voice.output
    console.print(f"stored: {escape(str(voice.wav))} ({out['duration_s']:.1f} s, 24 kHz mono 16-bit, "
                  f"{out['loudness_lufs']:.1f} LUFS, peak {out['peak_dbfs']:.1f} dBFS) and {escape(voice.meta.name)}")
    engine = check_with_xtts(name, directory, settings)
    console.print(f"xtts: {escape(engine.message)}")
    if engine.status == "failed":
        console.print(f"[red]the files are kept[/]: fix the engine and run again with --force, or remove {voice.wav}")
        raise typer.Exit(1)


@voice_app.command("list")
def list_() -> None:
    """The stored voices: name, duration, signal-to-noise ratio, when it was made."""
    from bot.config import Settings
    from bot.voice.reference import list_voices, voices_dir

    directory = voices_dir(Settings())
    voices = list_voices(directory)
    if not voices:
        console.print(f"no voices in {escape(str(directory))} (minibot voice clone REF.wav --name NAME)")
        return
    table = Table(title=f"voices in {escape(str(directory))}")
    table.add_column("name")
    table.add_column("duration", justify="right")
    table.add_column("SNR", justify="right")
    table.add_column("created")
    for v in voices:
        table.add_row(
            v.name,
            "?" if v.duration_s is None else f"{v.duration_s:.1f} s",
            "?" if v.snr_db is None else f"{v.snr_db:.1f} dB",
            v.created or "? (no metadata)",
        )
    console.print(table)
