"""`minibot scenario try NAME`: rehearse a scenario in text, playing the caller (bot.dialog.rehearsal).
Registered on `scenario_app` by cli/main.py."""

from __future__ import annotations

import asyncio
import sys

import typer
from rich.console import Console
from rich.markup import escape

from bot.dialog.nlu.sentiment import in_french
from bot.i18n import _

console = Console()
HELP = ("Tapez ce que dit l'appelant ; ligne vide : silence ; « /raccrocher » : l'appelant raccroche ; "
        "Ctrl-D : fin.")
AUDIO_HELP = ("Tapez d'abord les phrases de l'appelant, une par ligne, dans l'ordre ; ligne vide ou Ctrl-D : l'appel "
              "commence. L'appelant décroche en disant « Allô ? », puis dit chaque phrase quand le bot a fini la "
              "sienne, avec la voix hors ligne ; MiniBot l'entend par sa vraie reconnaissance, dans l'Asterisk simulé.")


def try_(
    name: str = typer.Argument(..., metavar="SCÉNARIO", help="le nom d'un scénario livré, ou un fichier YAML"),
    var: list[str] = typer.Option([], "--var", metavar="NOM=VALEUR",
                                  help="une variable du contact, par exemple first_name=Marie (répétable)"),
    embeddings: bool = typer.Option(True, "--embeddings/--no-embeddings",
                                    help="la compréhension par plongements (plus lente à charger)"),
    audio: bool = typer.Option(False, "--audio", help="jouer l'appel dans l'Asterisk simulé : vos phrases dites par "
                               "la voix hors ligne, entendues par la vraie reconnaissance"),
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
            console.print(f"[red]{_('erreur :')}[/] " + _("--var : NOM=VALEUR attendu, pas {item!r}").format(
                item=escape(item)))
            raise typer.Exit(2)
        values[key.strip()] = value
    try:
        brain = Brain.build(name, embeddings=embeddings)
    except ScenarioInvalid as exc:
        console.print(f"[red]{_('erreur :')}[/] " + _("scénario invalide : {error}").format(error=escape(str(exc))),
                      soft_wrap=True)
        raise typer.Exit(1) from None
    except (OSError, ValueError) as exc:
        console.print(f"[red]{_('erreur :')}[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    if audio:
        _aloud(name, values)
        return
    rehearsal = Rehearsal(brain, values)
    console.print(f"[dim]{_(HELP)}[/]")

    def show(events) -> None:
        for e in events:
            if isinstance(e, Said):
                console.print(f"[bold cyan]bot[/] [dim]({escape(e.step)})[/] : {escape(e.text)}", soft_wrap=True)
            elif isinstance(e, Heard):
                what = e.intent + (f" / objection {e.objection}" if e.objection else "")
                mood = in_french(e.sentiment)
                console.print("  [dim]" + _("compris : {what} (score {score}, {source})").format(
                    what=escape(what), score=f"{e.score:.2f}", source=escape(e.source))
                              + (_(", ressenti : {mood}").format(mood=mood) if mood else "") + "[/]")
            elif isinstance(e, Ended):
                score = (f", qualification {e.qualification:.0%} ({e.points}/{e.max_points} points)"
                         if e.qualification is not None else "")
                console.print(_("[bold]Fin : {result}[/]").format(result=e.result) + score)
                console.print(_("Étapes : {steps}").format(steps=" > ".join(e.steps)), soft_wrap=True)

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


def _aloud(name: str, values: dict[str, str]) -> None:
    """The same rehearsal as a simulated call (bot.demo.aloud): lines first, then the call."""
    from bot.call.transcript_view import transcript_lines
    from bot.config import Settings
    from bot.demo.aloud import rehearse_aloud
    from bot.speech.asr import AsrUnavailable
    from bot.speech.tts import TtsError

    console.print(f"[dim]{_(AUDIO_HELP)}[/]")
    lines = []
    while (line := _read_line()) is not None and line.strip():
        lines.append(line.strip())
    if not lines:
        console.print(f"[red]{_('erreur :')}[/] " + _("aucune phrase : l'appelant n'aurait rien à dire"))
        raise typer.Exit(2)
    with console.status(_("préparation...")) as status:
        try:
            record = asyncio.run(rehearse_aloud(Settings(), name, values, lines,
                                                on_status=lambda text: status.update(f"{text}...")))
        except (AsrUnavailable, TtsError) as exc:
            console.print(f"[red]{_('erreur :')}[/] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(1) from None
        except TimeoutError:
            console.print(f"[red]{_('erreur :')}[/] " + _("l'appel simulé n'a pas fini en 5 minutes"))
            raise typer.Exit(1) from None
    for text in transcript_lines(record):
        console.print(escape(text), highlight=False, soft_wrap=True)
    outcome = record.outcome.value if record.outcome else "?"
    score = f", qualification {record.qualification:.0%}" if record.qualification is not None else ""
    console.print(_("[bold]Fin : {result}[/] (issue {outcome})").format(
        result=record.result or _("sans résultat"), outcome=outcome) + score)
    console.print(_("Étapes : {steps}").format(steps=" > ".join(record.steps)), soft_wrap=True)


def _read_line() -> str | None:
    if sys.stdin.isatty():
        console.print("[bold green]" + _("vous") + "[/] : ", end="")
    line = sys.stdin.readline()
    return line if line else None
