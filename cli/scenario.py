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
from rich.prompt import Prompt
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

from .prompts import oui_non, slug

scenario_app = typer.Typer(help="Scénarios de conversation : vérifier, lister, afficher, écrire, répéter.",
                           no_args_is_help=True)
console = Console()

_OBJECTIONS = typer.Option(None, "--objections", help="objection library directory (default: scenarios/objections)")


def _library(directory: Path | None, level: str = "[yellow]warning:[/]") -> Library | None:
    """The objection library, or None after saying why (themes then go unchecked)."""
    try:
        return load_library(directory or DEFAULT_DIR)
    except LibraryError as exc:
        console.print(f"{level} objection library not loaded, themes unchecked: {escape(str(exc))}", soft_wrap=True)
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
        None, help="files or names (a name is scenarios/<name>.yaml); default: every scenarios/*.yaml"),
    objections: Path = _OBJECTIONS,
) -> None:
    """Check scenarios: every problem as file:line: message; exit 1 if any is invalid."""
    files = [resolve(s) for s in scenarios] if scenarios else shipped()
    if not files:
        console.print(f"[red]error:[/] no scenario in {escape(str(SCENARIOS_DIR))}")
        raise typer.Exit(1)
    library = _library(objections, "[red]error:[/]")
    invalid = 0
    for path in files:
        try:
            scenario = load_scenario(path, library=library)
        except ScenarioInvalid as exc:
            invalid += 1
            _print_problems(exc.problems)
            continue
        console.print(f"[green]OK[/] {scenario.name} ({len(scenario.steps)} steps)", highlight=False)
    if invalid:
        console.print(f"[red]{invalid} of {len(files)} scenario(s) invalid[/]")
    if invalid or library is None:
        raise typer.Exit(1)


@scenario_app.command("list")
def list_(objections: Path = _OBJECTIONS) -> None:
    """The shipped scenarios, one row each, with whether they validate."""
    library = _library(objections)
    table = Table("name", "title", "objective", "personality", "themes", "steps", "valid")
    table.columns[0].no_wrap = True
    for path in shipped():
        raw = _raw(path)
        try:
            load_scenario(path, library=library)
            valid = "[green]yes[/]"
        except ScenarioInvalid as exc:
            valid = f"[red]no ({len(exc.problems)} problem{'s' if len(exc.problems) > 1 else ''})[/]"
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
    name: str = typer.Argument(..., help="a name (scenarios/<name>.yaml) or a file"),
    objections: Path = _OBJECTIONS,
) -> None:
    """The rail, then every step: its line, where each answer leads, its score and its result."""
    library = _library(objections)
    try:
        scenario = load_scenario(resolve(name), library=library)
    except ScenarioInvalid as exc:
        _print_problems(exc.problems)
        raise typer.Exit(1) from None
    _print_scenario(scenario)


def _print_scenario(s: Scenario) -> None:
    out = console.print
    out(f"[bold]{escape(s.name)}[/]: {escape(s.title)}")
    themes = ", ".join([*BASE_THEMES, *s.themes])
    out(f"{escape(s.agent_name)} for {escape(s.company_name)}, personality {s.personality}, objective {s.objective}, "
        f"objections {escape(themes)}, {'recorded' if s.recorded else 'not recorded'}", highlight=False)
    st = s.settings
    out(f"qualified from {st.qualification_threshold:.0%} of the points; at most {st.max_turns} turns, "
        f"{st.max_autonomous_turns} objection answers in a row, {st.max_silences} silences of {st.silence_timeout:g} s",
        highlight=False)
    if s.variables:
        out(f"variables: {escape(', '.join(s.variables))}")
    if s.voicemail:
        audio = f" (audio {escape(s.voicemail.audio)})" if s.voicemail.audio else ""
        out(f"voicemail: {escape(s.voicemail.say or '')}{audio}", highlight=False)
    else:
        out("voicemail: none (hangs up on answering machines)")
    out(f"\n[bold]rail[/]: {' → '.join(escape(r) for r in s.rail)}\n")
    for name, step in s.steps.items():
        tags = []
        if name in s.rail:
            tags.append(f"rail {s.rail.index(name) + 1}")
        if step.disclosure:
            tags.append("disclosure")
        out(f"[bold cyan]{escape(name)}[/]" + (f"  ({', '.join(tags)})" if tags else ""))
        if step.say:
            out(f"  says: {escape(step.say)}", highlight=False)
        if step.audio:
            out(f"  plays: {escape(step.audio)}")
        if step.check:
            out(f"  checks qualification: qualified → {escape(step.qualified or '')}, "
                f"else → {escape(step.not_qualified or '')}")
        for intent, target in step.intent_mapping.items():
            if intent != DEFAULT_KEY:
                out(f"  {intent} → {escape(target)}")
        if not step.is_end and not step.check:
            otherwise = step.intent_mapping.get(DEFAULT_KEY)
            following = otherwise or s.next_on_rail(name)
            out(f"  otherwise → {escape(following or '?')}{'' if otherwise else ' (next on the rail)'}")
        if step.score:
            out("  score: " + ", ".join(f"{intent} {points}" for intent, points in step.score.items()), highlight=False)
        if step.freestyle:
            out(f"  freestyle: {escape(step.freestyle)}", highlight=False)
        if step.transfer:
            out("  [bold]transfers[/] the caller to an advisor (TRANSFERRED)")
        if step.result:
            out(f"  [bold]ends[/]: {step.result.value}")


@scenario_app.command()
def new(
    interactive: bool = typer.Option(False, "--interactive", "-i", help="ask for every answer not given as an option"),
    name: str = typer.Option(None, help="scenario name (lowercase, digits, _): scenarios/<name>.yaml"),
    theme: str = typer.Option(None, help="objection library theme (or, energie, assurance...); "
                              "'general' for none"),
    objective: str = typer.Option(None, help=f"one of {', '.join(OBJECTIVES)}"),
    personality: str = typer.Option(None, help=f"one of {', '.join(PERSONALITIES)} (default professionnel)"),
    agent_name: str = typer.Option(None, "--agent-name", help="the name the assistant gives"),
    company: str = typer.Option(None, help="the company the call is for"),
    step: list[str] = typer.Option(
        None, "--step", help="a qualification question a good prospect answers 'oui' (repeatable)"),
    topic: str = typer.Option(None, help="completes « Je vous appelle au sujet de … » (default: from the theme)"),
    title: str = typer.Option(None, help="a title for listings (default: company and topic)"),
    recorded: bool = typer.Option(None, "--recorded/--not-recorded", help="the call is recorded (default: yes)"),
    voicemail: bool = typer.Option(
        None, "--voicemail/--no-voicemail", help="leave a message on answering machines (default: yes)"),
    out: Path = typer.Option(None, help="where to write (default: scenarios/<name>.yaml)"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
    objections: Path = _OBJECTIONS,
) -> None:
    """Write a new, valid scenario from a few answers (asked with --interactive)."""
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
            theme = Prompt.ask("Thème d'objections", console=console, choices=[GENERAL, *themes],
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
            while more := Prompt.ask(f"Question {len(questions) + 1}", console=console, default="", show_default=False):
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
        console.print(f"[red]error:[/] missing {', '.join(missing)} (or use --interactive)")
        raise typer.Exit(2)
    theme = _theme(theme) if theme is not None else None
    if themes and theme and theme not in themes:
        console.print(f"[red]error:[/] unknown theme {escape(theme)!r} (known: {', '.join(themes)})")
        raise typer.Exit(2)

    answers = Answers(name=name, theme=theme or "", objective=objective, personality=personality, agent_name=agent_name,
                      company_name=company, questions=questions, recorded=recorded, voicemail=voicemail, topic=topic,
                      title=title)
    try:
        scenario = build_scenario(answers)
    except ValueError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
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
        console.print(f"[red]wrote {escape(_shown(target))}, but it does not validate[/]")
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
        answer = (Prompt.ask(label, console=console, **kwargs) or "").strip()
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
    console.print(f"[red]error:[/] {escape(_shown(target))} exists; use --force to overwrite it", soft_wrap=True)
    raise typer.Exit(1)


@scenario_app.command("render")
def render_(
    name: str = typer.Argument(..., help="a shipped scenario's name or a scenario YAML file"),
) -> None:
    """Render every line known before the calls (steps, engine lines, objection answers, rail
    returns, voicemail) into the audio cache, and report what was rendered, reused or failed."""
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
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    lines, later = known_lines(brain)
    report = RenderReport(per_contact=later)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"{brain.scenario.name} ({voice.engine.name}, {voice.voice})", total=len(lines))
        render_lines(voice, lines, report, lambda _: progress.advance(task))
    console.print(f"rendered {len(report.rendered)} ({report.audio_seconds:.0f} s of audio), "
                  f"reused {len(report.reused)}, failed {len(report.failed)}; "
                  f"{len(report.per_contact)} line(s) need a contact's variables and are rendered during the call"
                  + (f": {', '.join(report.per_contact)}" if report.per_contact else ""))
    for key, why in report.failed:
        console.print(f"[red]failed[/] {key}: {escape(why)}")
    console.print(f"audio cache: {settings.audio_path}")
    raise typer.Exit(1 if report.failed else 0)
