"""`minibot doctor`: check the installation, one line per part, OK or what to do (bot.ops.doctor)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.markup import escape

from bot.config import Settings

from .common import JSON_OPTION, emit

console = Console()
MARKS = {"ok": "[green]OK[/]", "warn": "[yellow]ATTENTION[/]", "fail": "[red]ÉCHEC[/]", "skip": "[dim]—[/]"}


def doctor(as_json: bool = JSON_OPTION) -> None:
    """Vérifier l'installation : Asterisk (ARI, modules, AudioSocket, audio, contextes AMD et entrant), la base,
    la voix, la reconnaissance, Ollama et le numéro présenté ; chaque ligne dit OK ou quoi faire."""
    from bot.ops.doctor import run_doctor

    findings = asyncio.run(run_doctor(Settings()))
    failed = any(f.status == "fail" for f in findings)
    if as_json:
        emit({"ok": not failed, "checks": [f.to_json() for f in findings]})
    else:
        for f in findings:
            console.print(f"{MARKS[f.status]} [bold]{escape(f.name)}[/] : {escape(f.detail)}", highlight=False)
            if f.fix and f.status in ("fail", "warn"):
                console.print(f"    → {escape(f.fix)}", highlight=False)
        console.print("Tout est prêt." if not failed else "[red]À corriger avant d'appeler.[/]")
    raise typer.Exit(1 if failed else 0)
