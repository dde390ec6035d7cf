"""`minibot audio`: turn recordings into files the phone plays.

Thin: resolve arguments, call `bot.voice.prepare`, print one line per file.
Exit codes: 0 every file prepared, 1 any file failed, 2 bad arguments.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from bot.i18n import _
from bot.voice.prepare import MAX_SECONDS, PEAK_DBFS, TARGET_LUFS, Failed, Prepared

audio_app = typer.Typer(help="Audio enregistré : préparer des enregistrements pour le téléphone.", no_args_is_help=True)
console = Console()


@audio_app.callback()
def _audio() -> None:
    """Audio enregistré : préparer des enregistrements pour le téléphone."""
    # A callback keeps this a group with one command: `minibot audio prepare`, not `minibot audio`.


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _report(label: str, result: Prepared | Failed) -> bool:
    """Print one line for one file; True when it was prepared."""
    if isinstance(result, Failed):
        console.print(f"[red]{_('ÉCHEC')}[/] {escape(label)} : {escape(result.reason)}",
                      highlight=False, soft_wrap=True)
        return False
    unit = "LUFS" if result.method == "lufs" else _("dBFS RMS (trop court pour le LUFS)")
    files = ", ".join(escape(_shown(f)) for f in result.files)
    kept = _(" (original gardé sous {path})").format(path=escape(_shown(result.kept))) if result.kept else ""
    console.print(f"[green]ok[/]   {escape(label)} : {result.seconds_in:.2f} s → {result.seconds_out:.2f} s, "
                  f"{result.loudness_in:.1f} → {result.loudness_out:.1f} {unit}, "
                  + _("crête {peak} dBFS").format(peak=f"{result.peak_out:.1f}")
                  + f" → {files}{kept}", highlight=False, soft_wrap=True)
    return True


@audio_app.command()
def prepare(
    inputs: list[Path] = typer.Argument(None, metavar="[ENREGISTREMENT]...", help="enregistrements : wav, mp3, ogg, "
                                                                                  "flac (toute fréquence, mono ou "
                                                   "stéréo)"),
    out: Path = typer.Option(None, "--out", "-o", help="où écrire <nom>.wav (8 kHz) et <nom>.sln16 (16 kHz)"),
    scenario: str = typer.Option(
        None, "--scenario", help="préparer sur place chaque fichier audio: de ce scénario (nom ou fichier YAML)"),
    target: float = typer.Option(TARGET_LUFS, "--target-lufs", min=-40.0, max=-10.0, help="sonie à atteindre"),
) -> None:
    """Convertir des enregistrements en messages téléphoniques : mono, silences coupés (100 ms gardées),
    sonie normalisée, crêtes limitées à -1 dBFS, écrits en <nom>.wav (8 kHz) et <nom>.sln16 (16 kHz).
    Un fichier mauvais (illisible, vide, silencieux, plus de 5 min) est signalé et les autres continuent."""
    from bot.voice.prepare import prepare_many

    if scenario is not None:
        if inputs or out is not None:
            console.print(f"[red]{_('erreur :')}[/] " + _("--scenario prépare sur place les fichiers du scénario : "
                                                          "ne donner ni ENREGISTREMENT ni --out avec"))
            raise typer.Exit(2)
        _prepare_scenario(scenario, target)
        return
    if not inputs:
        console.print(f"[red]{_('erreur :')}[/] " + _("donner les enregistrements à préparer (ou --scenario NOM)"))
        raise typer.Exit(2)
    if out is None:
        console.print(f"[red]{_('erreur :')}[/] " + _("--out DOSSIER est obligatoire : "
                                                       "où écrire les fichiers préparés"))
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
        console.print(f"[red]{_('erreur :')}[/] " + _("pas de scénario {path}").format(path=escape(_shown(path))))
        raise typer.Exit(2)
    try:
        results = prepare_scenario(path, target=target)
    except (OSError, ValueError, ValidationError) as exc:  # YAML and pydantic errors are ValueErrors
        console.print(f"[red]{_('erreur :')}[/] " + _("{path} ne se lit pas comme un scénario "
                                                      "(minibot scenario validate {name}) : {error}").format(
            path=escape(_shown(path)), name=escape(name), error=escape(str(exc).splitlines()[0])), soft_wrap=True)
        raise typer.Exit(1) from None
    if not results:
        console.print(_("{path} ne joue aucun enregistrement (pas d'audio: dans ses étapes ni sa messagerie)").format(
            path=escape(_shown(path))))
        return
    ok = sum(_report(f"{ref.where} ({ref.relative})", result) for ref, result in results)
    _summary(ok, len(results), target)


def _summary(ok: int, total: int, target: float) -> None:
    failed = total - ok
    console.print(_("{ok} fichier(s) sur {total} préparé(s) à {target} LUFS, crêtes à {peak} dBFS").format(
                      ok=ok, total=total, target=f"{target:g}", peak=f"{PEAK_DBFS:g}")
                  + (_(" ; [red]{failed} en échec[/] (limite {limit} min chacun)").format(
                      failed=failed, limit=f"{MAX_SECONDS / 60:g}") if failed else ""),
                  highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
