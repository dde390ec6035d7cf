"""`minibot scenario try NAME`: rehearse a scenario in text, playing the caller (bot.dialog.rehearsal).
Registered on `scenario_app` by cli/main.py."""

from __future__ import annotations

import asyncio
import sys

import typer
from rich.console import Console
from rich.markup import escape

from bot.dialog.nlu.sentiment import in_french

console = Console()
HELP = ("Tapez ce que dit l'appelant ; ligne vide : silence ; « /raccrocher » : l'appelant raccroche ; "
        "Ctrl-D : fin.")


def try_(
    name: str = typer.Argument(..., metavar="SCÉNARIO", help="le nom d'un scénario livré, ou un fichier YAML"),
    var: list[str] = typer.Option([], "--var", metavar="NOM=VALEUR",
                                  help="une variable du contact, par exemple first_name=Marie (répétable)"),
    embeddings: bool = typer.Option(True, "--embeddings/--no-embeddings",
                                    help="la compréhension par plongements (plus lente à charger)"),
) -> None:
    """Répéter un scénario par écrit : vous jouez l'appelant ; MiniBot dit ses phrases, ce qu'il a compris,
    l'étape où il en est, et le score à la fin. Personne n'est appelé."""
    from bot.dialog.brain import Brain
    from bot.dialog.rehearsal import Ended, Heard, Rehearsal, Said
    from bot.dialog.scenario.loader import ScenarioInvalid

    values = {}
    for item in var:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            console.print(f"[red]erreur :[/] --var : NOM=VALEUR attendu, pas {escape(item)!r}")
            raise typer.Exit(2)
        values[key.strip()] = value
    try:
        brain = Brain.build(name, embeddings=embeddings)
    except ScenarioInvalid as exc:
        console.print(f"[red]erreur :[/] scénario invalide : {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    except (OSError, ValueError) as exc:
        console.print(f"[red]erreur :[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    rehearsal = Rehearsal(brain, values)
    console.print(f"[dim]{HELP}[/]")

    def show(events) -> None:
        for e in events:
            if isinstance(e, Said):
                console.print(f"[bold cyan]bot[/] [dim]({escape(e.step)})[/] : {escape(e.text)}", soft_wrap=True)
            elif isinstance(e, Heard):
                what = e.intent + (f" / objection {e.objection}" if e.objection else "")
                mood = in_french(e.sentiment)
                console.print(f"  [dim]compris : {escape(what)} (score {e.score:.2f}, {escape(e.source)})"
                              + (f", ressenti : {mood}" if mood else "") + "[/]")
            elif isinstance(e, Ended):
                score = (f", qualification {e.qualification:.0%} ({e.points}/{e.max_points} points)"
                         if e.qualification is not None else "")
                console.print(f"[bold]Fin : {e.result}[/]{score}")
                console.print(f"Étapes : {' > '.join(e.steps)}", soft_wrap=True)

    async def main() -> None:
        show(rehearsal.start())
        while rehearsal.ended is None:
            line = await asyncio.to_thread(_read_line)
            if line is None:
                show(rehearsal.hang_up())
                break
            text = line.strip()
            if text in ("/raccrocher", "/hangup"):
                show(rehearsal.hang_up())
            elif not text:
                show(rehearsal.silence())
            else:
                show(await rehearsal.say(text))

    asyncio.run(main())


def _read_line() -> str | None:
    if sys.stdin.isatty():
        console.print("[bold green]vous[/] : ", end="")
    line = sys.stdin.readline()
    return line if line else None
