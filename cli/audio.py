"""`minibot audio`: turn recordings into files the phone plays.

Thin: resolve arguments, call `bot.voice.prepare`, print one line per file.
Exit codes: 0 every file prepared, 1 any file failed, 2 bad arguments.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from bot.voice.prepare import MAX_SECONDS, PEAK_DBFS, TARGET_LUFS, Failed, Prepared

audio_app = typer.Typer(help="Audio enregistré : préparer des enregistrements pour le téléphone.", no_args_is_help=True)
console = Console()


@audio_app.callback()
def _audio() -> None:
    """Recorded audio: prepare recordings for the phone."""
    # A callback keeps this a group with one command: `minibot audio prepare`, not `minibot audio`.


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _report(label: str, result: Prepared | Failed) -> bool:
    """Print one line for one file; True when it was prepared."""
    if isinstance(result, Failed):
        console.print(f"[red]FAIL[/] {escape(label)}: {escape(result.reason)}", highlight=False, soft_wrap=True)
        return False
    unit = "LUFS" if result.method == "lufs" else "dBFS RMS (short: no LUFS gating)"
    files = ", ".join(escape(_shown(f)) for f in result.files)
    kept = f" (original kept as {escape(_shown(result.kept))})" if result.kept else ""
    console.print(f"[green]ok[/]   {escape(label)}: {result.seconds_in:.2f} s → {result.seconds_out:.2f} s, "
                  f"{result.loudness_in:.1f} → {result.loudness_out:.1f} {unit}, peak {result.peak_out:.1f} dBFS "
                  f"→ {files}{kept}", highlight=False, soft_wrap=True)
    return True


@audio_app.command()
def prepare(
    inputs: list[Path] = typer.Argument(None, help="recordings: wav, mp3, ogg, flac (any rate, mono or stereo)"),
    out: Path = typer.Option(None, "--out", "-o", help="where <stem>.wav (8 kHz) and <stem>.sln16 (16 kHz) go"),
    scenario: str = typer.Option(
        None, "--scenario", help="prepare, in place, every audio: file of this scenario (name or YAML file)"),
    target: float = typer.Option(TARGET_LUFS, "--target-lufs", min=-40.0, max=-10.0, help="loudness to reach"),
) -> None:
    """Convert recordings into telephone prompts: mono, silence trimmed (100 ms kept), loudness
    normalised, peaks limited to -1 dBFS, written as <stem>.wav (8 kHz) and <stem>.sln16 (16 kHz).
    A bad file (unreadable, empty, silent, over 5 min) is reported and the others go on."""
    from bot.voice.prepare import prepare_many

    if scenario is not None:
        if inputs or out is not None:
            console.print("[red]error:[/] --scenario prepares the scenario's own files in place: "
                          "give no INPUT and no --out with it")
            raise typer.Exit(2)
        _prepare_scenario(scenario, target)
        return
    if not inputs:
        console.print("[red]error:[/] give recordings to prepare (or --scenario NAME)")
        raise typer.Exit(2)
    if out is None:
        console.print("[red]error:[/] --out DIR is required: where the prepared files go")
        raise typer.Exit(2)
    results = prepare_many(inputs, out, target=target)
    ok = sum(_report(_shown(r.source), r) for r in results)
    _summary(ok, len(results), target)


def _prepare_scenario(name: str, target: float) -> None:
    from pydantic import ValidationError

    from bot.dialog.scenario.authoring import resolve
    from bot.voice.prepare import prepare_scenario

    path = resolve(name)
    if not path.is_file():
        console.print(f"[red]error:[/] no scenario {escape(_shown(path))}")
        raise typer.Exit(2)
    try:
        results = prepare_scenario(path, target=target)
    except (OSError, ValueError, ValidationError) as exc:  # YAML and pydantic errors are ValueErrors
        console.print(f"[red]error:[/] {escape(_shown(path))} does not read as a scenario "
                      f"(minibot scenario validate {escape(name)}): {escape(str(exc).splitlines()[0])}",
                      soft_wrap=True)
        raise typer.Exit(1) from None
    if not results:
        console.print(f"{escape(_shown(path))} plays no recording (no audio: in its steps or voicemail)")
        return
    ok = sum(_report(f"{ref.where} ({ref.relative})", result) for ref, result in results)
    _summary(ok, len(results), target)


def _summary(ok: int, total: int, target: float) -> None:
    failed = total - ok
    console.print(f"prepared {ok} of {total} file(s) to {target:g} LUFS, peaks at {PEAK_DBFS:g} dBFS"
                  + (f"; [red]{failed} failed[/] (limit {MAX_SECONDS / 60:g} min each)" if failed else ""),
                  highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
