"""`minibot scenario`: validate, list, show and write conversation scenarios.

Thin: resolve arguments, call `bot.dialog.scenario` (loader, authoring), print with rich.
Exit codes: 0 fine, 1 a scenario is invalid (or would be overwritten), 2 bad arguments.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.dialog.objections.library import BASE_THEMES, DEFAULT_DIR, Library, LibraryError, load_library
from bot.dialog.scenario.authoring import (
    NAME,
    OBJECTIVES,
    SCENARIOS_DIR,
    Answers,
    build_scenario,
    default_topic,
    dump_scenario,
    resolve,
    shipped,
)
from bot.dialog.scenario.loader import Problem, ScenarioInvalid, load_scenario, read_scenario_text
from bot.dialog.scenario.model import DEFAULT_KEY, PERSONALITIES, Scenario
from bot.i18n import _, format_percent

from .prompts import Question, oui_non, slug

scenario_app = typer.Typer(help="Scénarios de conversation : vérifier, lister, afficher, écrire, répéter.",
                           no_args_is_help=True)
console = Console()

_OBJECTIONS = typer.Option(None, "--objections", help="dossier de la bibliothèque d'objections "
                           "(par défaut : scenarios/objections)")


def _library(directory: Path | None, level: str = "[yellow]attention :[/]") -> Library | None:
    """The objection library, or None after saying why (themes then go unchecked)."""
    try:
        return load_library(directory or DEFAULT_DIR)
    except LibraryError as exc:
        console.print(f"{_(level)} " + _("bibliothèque d'objections non chargée, thèmes non vérifiés : {error}").format(
            error=escape(str(exc))), soft_wrap=True)
        return None


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        # markup off: messages quote YAML (brackets, braces) that rich would read as style tags
        console.print(f"{_shown(p.file)}:{p.line}: {p.message}", markup=False, highlight=False, soft_wrap=True)


@scenario_app.command()
def validate(
    scenarios: list[str] = typer.Argument(
        None, metavar="[SCÉNARIO]...", help="fichiers ou noms (un nom est scenarios/<nom>.yaml) ; par défaut : "
        "tous les scenarios/*.yaml"),
    objections: Path = _OBJECTIONS,
) -> None:
    """Vérifier des scénarios : chaque problème en fichier:ligne: message ; code de sortie 1 si l'un est
    invalide."""
    files = [resolve(s) for s in scenarios] if scenarios else shipped()
    if not files:
        console.print(f"[red]{_('erreur :')}[/] " + _("aucun scénario dans {path}").format(
            path=escape(str(SCENARIOS_DIR))))
        raise typer.Exit(1)
    library = _library(objections, "[red]erreur :[/]")
    invalid = 0
    for path in files:
        try:
            scenario = load_scenario(path, library=library)
        except ScenarioInvalid as exc:
            invalid += 1
            _print_problems(exc.problems)
            continue
        console.print(f"[green]OK[/] {scenario.name} " + _("({n} étapes)").format(n=len(scenario.steps)),
                      highlight=False)
    if invalid:
        console.print("[red]" + _("{invalid} scénario(s) invalide(s) sur {total}").format(
            invalid=invalid, total=len(files)) + "[/]")
    if invalid or library is None:
        raise typer.Exit(1)


@scenario_app.command("list")
def list_(objections: Path = _OBJECTIONS) -> None:
    """Les scénarios livrés, un par ligne, et s'ils sont valides."""
    library = _library(objections)
    table = Table(_("nom"), _("titre"), _("objectif"), _("personnalité"), _("thèmes"), _("étapes"), _("valide"))
    table.columns[0].no_wrap = True
    for path in shipped():
        raw = _raw(path)
        try:
            load_scenario(path, library=library)
            valid = f"[green]{_('oui')}[/]"
        except ScenarioInvalid as exc:
            valid = "[red]" + _("non ({n} problème(s))").format(n=len(exc.problems)) + "[/]"
        steps = raw.get("steps")
        themes = raw.get("themes")
        table.add_row(
            escape(str(raw.get("name") or path.stem)),
            escape(str(raw.get("title", ""))),
            escape(str(raw.get("objective", ""))),
            escape(str(raw.get("personality", "professionnel"))),
            escape(", ".join(map(str, themes)) if isinstance(themes, list) else ""),
            str(len(steps)) if isinstance(steps, dict) else "?",
            valid,
        )
    console.print(table)


def _raw(path: Path) -> dict[str, Any]:
    """The file's top-level mapping, best effort: list shows what it can of a broken file."""
    try:
        raw = yaml.safe_load(read_scenario_text(path))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return raw if isinstance(raw, dict) else {}


@scenario_app.command()
def show(
    name: str = typer.Argument(..., metavar="NOM", help="un nom (scenarios/<nom>.yaml) ou un fichier"),
    objections: Path = _OBJECTIONS,
) -> None:
    """Le rail, puis chaque étape : sa phrase, où mène chaque réponse, son score et son résultat."""
    library = _library(objections)
    try:
        scenario = load_scenario(resolve(name), library=library)
    except ScenarioInvalid as exc:
        _print_problems(exc.problems)
        raise typer.Exit(1) from None
    _print_scenario(scenario)


def _print_scenario(s: Scenario) -> None:
    out = console.print
    out(f"[bold]{escape(s.name)}[/] : {escape(s.title)}")
    themes = ", ".join([*BASE_THEMES, *s.themes])
    out(_("{agent} pour {company}, personnalité {personality}, objectif {objective}, objections {themes}, "
          "{recorded}").format(agent=escape(s.agent_name), company=escape(s.company_name), personality=s.personality,
                              objective=s.objective, themes=escape(themes),
                              recorded=_("enregistré") if s.recorded else _("non enregistré")), highlight=False)
    st = s.settings
    out(_("qualifié à partir de {threshold} des points ; au plus {turns} tours, {autonomous} réponses aux objections "
          "d'affilée, {silences} silences de {timeout} s").format(
              threshold=format_percent(st.qualification_threshold), turns=st.max_turns,
              autonomous=st.max_autonomous_turns, silences=st.max_silences, timeout=f"{st.silence_timeout:g}"),
        highlight=False)
    if s.variables:
        out(_("variables : {names}").format(names=escape(', '.join(s.variables))))
    if s.voicemail:
        audio = f" (audio {escape(s.voicemail.audio)})" if s.voicemail.audio else ""
        out(_("messagerie : {say}").format(say=escape(s.voicemail.say or '')) + audio, highlight=False)
    else:
        out(_("messagerie : aucune (raccroche sur les répondeurs)"))
    out(f"\n[bold]rail[/] : {' → '.join(escape(r) for r in s.rail)}\n")
    for name, step in s.steps.items():
        tags = []
        if name in s.rail:
            tags.append(f"rail {s.rail.index(name) + 1}")
        if step.disclosure:
            tags.append(_("annonce de l'IA"))
        out(f"[bold cyan]{escape(name)}[/]" + (f"  ({', '.join(tags)})" if tags else ""))
        if step.say:
            out(_("  dit : {text}").format(text=escape(step.say)), highlight=False)
        if step.audio:
            out(_("  joue : {audio}").format(audio=escape(step.audio)))
        if step.check:
            out(_("  vérifie la qualification : qualifié → {yes}, sinon → {no}").format(
                yes=escape(step.qualified or ''), no=escape(step.not_qualified or '')))
        for intent, target in step.intent_mapping.items():
            if intent != DEFAULT_KEY:
                out(f"  {intent} → {escape(target)}")
        if not step.is_end and not step.check:
            otherwise = step.intent_mapping.get(DEFAULT_KEY)
            following = otherwise or s.next_on_rail(name)
            out(_("  sinon → {step}").format(step=escape(following or '?'))
                + ("" if otherwise else _(" (suivante sur le rail)")))
        if step.score:
            out("  score : " + ", ".join(f"{intent} {points}" for intent, points in step.score.items()),
                highlight=False)
        if step.freestyle:
            out(_("  réponse libre : {text}").format(text=escape(step.freestyle)), highlight=False)
        if step.transfer:
            out(_("  [bold]transfère[/] l'appelé à un conseiller (TRANSFERRED)"))
        if step.result:
            out(_("  [bold]fin[/] : {result}").format(result=step.result.value))


@scenario_app.command()
def new(
    interactive: bool = typer.Option(False, "--interactive", "-i",
                                     help="demander chaque réponse non donnée en option"),
    name: str = typer.Option(None, help="nom du scénario (minuscules, chiffres, _) : scenarios/<nom>.yaml"),
    theme: str = typer.Option(None, help="thème de la bibliothèque d'objections (or, energie, assurance...) ; "
                              "'général' pour aucun"),
    objective: str = typer.Option(None, help=f"l'un de {', '.join(OBJECTIVES)}"),
    personality: str = typer.Option(None, help=f"l'une de {', '.join(PERSONALITIES)} (par défaut professionnel)"),
    agent_name: str = typer.Option(None, "--agent-name", help="le prénom que donne l'assistante"),
    company: str = typer.Option(None, help="la société pour qui l'on appelle"),
    step: list[str] = typer.Option(
        None, "--step", help="une question de qualification à laquelle un bon prospect répond « oui » (répétable)"),
    topic: str = typer.Option(None, help="complète « Je vous appelle au sujet de … » (par défaut : d'après le thème)"),
    title: str = typer.Option(None, help="un titre pour les listes (par défaut : la société et le sujet)"),
    recorded: bool = typer.Option(None, "--recorded/--not-recorded", help="l'appel est enregistré (par défaut : oui)"),
    voicemail: bool = typer.Option(
        None, "--voicemail/--no-voicemail", help="laisser un message aux répondeurs (par défaut : oui)"),
    out: Path = typer.Option(None, help="où écrire (par défaut : scenarios/<nom>.yaml)"),
    force: bool = typer.Option(False, "--force", help="remplacer un fichier existant"),
    objections: Path = _OBJECTIONS,
) -> None:
    """Écrire un nouveau scénario valide à partir de quelques réponses (demandées avec --interactive)."""
    library = _library(objections)
    themes = [t for t in library.themes if t not in BASE_THEMES] if library else []

    def ask(value: str | None, label: str, **kwargs: Any) -> str | None:
        return value if value is not None or not interactive else _prompt(label, **kwargs)

    try:
        name = ask(name, "Nom du scénario (minuscules, chiffres, _)", pattern=NAME,
                   default=_free_name(out) if interactive and name is None else None)
        if name is not None and _target(out, name).exists() and not force:
            _refuse_overwrite(_target(out, name))  # before the other questions are asked
        if theme is None and interactive:
            # No theme is a valid answer: the general and standard objections only.
            theme = Question.ask("Thème d'objections", console=console, choices=[GENERAL, *themes],
                               default=GENERAL) if themes else GENERAL
        objective = ask(objective, "Objectif", choices=list(OBJECTIVES))
        personality = ask(personality, "Personnalité", choices=list(PERSONALITIES), default="professionnel")
        agent_name = ask(agent_name, "Prénom de l'assistante")
        company = ask(company, "Société")
        if theme is not None and topic is None and interactive:
            topic = _prompt("L'appel porte sur (« Je vous appelle au sujet de … »)",
                            default=default_topic(_theme(theme)) or None)
        questions = list(step or [])
        if not questions and interactive:
            console.print("Questions de qualification, auxquelles un bon prospect répond « oui » (ligne vide pour "
                          "finir) :")
            questions.append(_prompt("Question 1"))
            while more := Question.ask(f"Question {len(questions) + 1}", console=console, default="",
                                       show_default=False):
                questions.append(more.strip())
        if recorded is None:
            recorded = oui_non("L'appel est-il enregistré ?", console=console) if interactive else True
        if voicemail is None:
            voicemail = oui_non("Laisser un message aux répondeurs ?", console=console) if interactive else True
    except EOFError:
        console.print("\n[red]erreur :[/] plus de réponses (entrée fermée)")
        raise typer.Exit(2) from None
    personality = personality or "professionnel"

    missing = [flag for flag, value in (("--name", name), ("--theme", theme), ("--objective", objective),
                                        ("--agent-name", agent_name), ("--company", company)) if not value]
    if not questions:
        missing.append("--step")
    if missing:
        console.print(f"[red]{_('erreur :')}[/] " + _("il manque {flags} (ou utiliser --interactive)").format(
            flags=", ".join(missing)))
        raise typer.Exit(2)
    theme = _theme(theme) if theme is not None else None
    if themes and theme and theme not in themes:
        console.print(f"[red]{_('erreur :')}[/] " + _("thème inconnu {theme!r} (connus : {known})").format(
            theme=escape(theme), known=", ".join(themes)))
        raise typer.Exit(2)

    answers = Answers(name=name, theme=theme or "", objective=objective, personality=personality, agent_name=agent_name,
                      company_name=company, questions=questions, recorded=recorded, voicemail=voicemail, topic=topic,
                      title=title)
    try:
        scenario = build_scenario(answers)
    except ValueError as exc:
        console.print(f"[red]{_('erreur :')}[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    target = _target(out, name)
    if target.exists() and not force:
        _refuse_overwrite(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dump_scenario(scenario), encoding="utf-8")
    try:
        loaded = load_scenario(target, library=library)
    except ScenarioInvalid as exc:
        _print_problems(exc.problems)
        console.print("[red]" + _("{path} écrit, mais il n'est pas valide").format(path=escape(_shown(target))) + "[/]")
        raise typer.Exit(1) from None
    shown = escape(_shown(target))
    # Quoted as a shell would need it (a path with a space), so the hint can be pasted as is.
    command = escape(f"minibot scenario show {shlex.quote(_shown(target))}")
    console.print(f"[green]écrit[/] {shown} : {loaded.name}, {len(loaded.steps)} étapes, valide. "
                  f"Complétez ses faits, puis : {command}", highlight=False, soft_wrap=True)


def _prompt(label: str, *, choices: list[str] | None = None, default: str | None = None,
            pattern: re.Pattern[str] | None = None) -> str:
    """One answer, asked again until it is not empty (and matches `pattern`, when given)."""
    while True:
        kwargs: dict[str, Any] = {"choices": choices} if choices else {}
        if default:
            kwargs["default"] = default
        answer = (Question.ask(label, console=console, **kwargs) or "").strip()
        if answer and (pattern is None or pattern.match(answer)):
            return answer
        if not answer:
            console.print("[yellow]une réponse est attendue[/]")
        elif pattern is NAME:
            console.print(f"[yellow]« {escape(answer)} » ne convient pas : essayez « {slug(answer)} »[/]")
        else:
            console.print(f"[yellow]« {escape(answer)} » ne convient pas[/]")


GENERAL = "général"


def _theme(theme: str) -> str:
    """'général', 'general', 'aucun' or nothing: no theme of its own (the base objections only)."""
    return "" if theme.strip().lower() in ("", GENERAL, "general", "aucun", "none") else theme.strip()


def _free_name(out: Path | None) -> str:
    """A valid name no scenario has yet: prospection, prospection_2..."""
    if out is not None and out.suffix in (".yaml", ".yml"):
        return slug(out.stem)
    name, n = "prospection", 1
    while _target(None, name).exists():
        n += 1
        name = f"prospection_{n}"
    return name


def _target(out: Path | None, name: str) -> Path:
    return out if out is not None else SCENARIOS_DIR / f"{name}.yaml"


def _refuse_overwrite(target: Path) -> None:
    console.print(f"[red]{_('erreur :')}[/] " + _("{path} existe ; --force pour le remplacer").format(
        path=escape(_shown(target))), soft_wrap=True)
    raise typer.Exit(1)


@scenario_app.command("render")
def render_(
    name: str = typer.Argument(..., metavar="NOM", help="le nom d'un scénario livré ou un fichier YAML de scénario"),
) -> None:
    """Synthétiser chaque phrase connue avant les appels (étapes, phrases du moteur, réponses aux objections,
    retours au rail, messagerie) dans le cache audio, et dire ce qui a été synthétisé, réutilisé ou a échoué."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from bot.config import Settings
    from bot.dialog.brain import Brain
    from bot.speech.tts import TtsError
    from bot.voice.render import RenderReport, known_lines, render_lines
    from bot.voice.voice import voice_from_settings

    settings = Settings()
    try:
        brain = Brain.build(name, embeddings=False)
        voice = voice_from_settings(settings)
    except ScenarioInvalid as exc:
        _print_problems(exc.problems)
        raise typer.Exit(1) from None
    except TtsError as exc:
        console.print(f"[red]{_('erreur :')}[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    lines, later = known_lines(brain)
    report = RenderReport(per_contact=later)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"{brain.scenario.name} ({voice.engine.name}, {voice.voice})", total=len(lines))
        render_lines(voice, lines, report, lambda _: progress.advance(task))
    console.print(_("synthétisées {rendered} ({seconds} s d'audio), réutilisées {reused}, en échec {failed} ; "
                    "{later} phrase(s) attendent les variables d'un contact et sont synthétisées pendant "
                    "l'appel").format(rendered=len(report.rendered), seconds=f"{report.audio_seconds:.0f}",
                                      reused=len(report.reused), failed=len(report.failed),
                                      later=len(report.per_contact))
                  + (f" : {', '.join(report.per_contact)}" if report.per_contact else ""))
    for key, why in report.failed:
        console.print(f"[red]{_('échec')}[/] {key} : {escape(why)}")
    console.print(_("cache audio : {path}").format(path=settings.audio_path))
    raise typer.Exit(1 if report.failed else 0)
