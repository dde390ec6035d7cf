"""Read and check a scenario file, naming file, line and problem for everything wrong.

Pydantic checks the shape; the checks here are the ones a shape cannot express: every target
exists, every step can be reached, every {{variable}} is declared, every audio file is there,
every intent is in the taxonomy, and the first line discloses the automated assistant (and the
recording, when the call is recorded).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.i18n import _
from bot.i18n.errors import os_problem, validation_problem, yaml_problem

from ..intents import Intent
from ..objections.library import BASE_THEMES, Library
from .lines import ENGINE_LINES
from .model import BUILTIN_VARIABLES, DEFAULT_KEY, MAPPING_KEYS, Scenario

VARIABLE = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
_DISCLOSES_BOT = re.compile(
    r"assistant\w* (vocal\w* |virtuel\w* )?automatis|automatis\w*|virtuel|robot|intelligence artificielle", re.I
)
_DISCLOSES_RECORDING = re.compile(r"enregistr", re.I)
Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ScenarioInvalid(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def _lines(node: yaml.Node, path: Path_ = (), out: dict[Path_, int] | None = None) -> dict[Path_, int]:
    """Line (1-based) of every key and item in a composed YAML tree."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            out[child] = key.start_mark.line + 1
            _lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)
    return out


def _line_of(lines: dict[Path_, int], path: Iterable[str | int]) -> int:
    path = tuple(path)
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


def read_scenario_text(path: Path) -> str:
    """A scenario file's text: UTF-8 (with or without a BOM), or Windows "ANSI" (cp1252, what Notepad
    and Excel save by default in France), which is decoded rather than refused. OSError: unreadable;
    ScenarioInvalid: neither encoding, with the line of the first byte that fits none."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        line = data.count(b"\n", 0, utf8_error.start) + 1
        raise ScenarioInvalid([Problem(Path(path), line, _(
            "pas du texte UTF-8 (octet {byte}) ; enregistrer le fichier en UTF-8").format(
                byte=f"0x{data[utf8_error.start]:02x}"))]) from None


def duplicate_keys(node: yaml.Node | None, path: Path_ = ()) -> list[tuple[int, str]]:
    """Keys given twice in one mapping (YAML keeps the last silently): (line, message)."""
    found: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is not None and name in seen:
                where = ".".join(map(str, (*path, name)))
                found.append((line, _("{where} : clé donnée deux fois (la première à la ligne {first}) ; la "
                                      "seconde remplacerait la première sans rien dire").format(
                                          where=where, first=seen[name])))
            elif name is not None:
                seen[name] = line
            found += duplicate_keys(value, (*path, name if name is not None else "?"))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += duplicate_keys(item, (*path, i))
    return found


def load_scenario(path: Path, *, library: Library | None = None) -> Scenario:
    """The scenario in `path`, or ScenarioInvalid listing every problem found."""
    path = Path(path)
    try:
        text = read_scenario_text(path)
    except OSError as exc:
        raise ScenarioInvalid([Problem(path, 0, _("illisible : {error}").format(error=os_problem(exc)))]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:  # a control character: no mark, a position in the text
        line = text.count("\n", 0, exc.position) + 1
        reason = _("caractère de contrôle interdit ({code})").format(code=f"#x{exc.character:04x}")
        raise ScenarioInvalid([Problem(path, line, _("YAML invalide : {reason}").format(reason=reason))]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None)
        reason = yaml_problem(problem) if problem else str(exc)
        raise ScenarioInvalid([Problem(path, line, _("YAML invalide : {reason}").format(reason=reason))]) from None
    if not isinstance(raw, dict) or node is None:
        raise ScenarioInvalid([Problem(path, 1, _("un scénario est un dictionnaire YAML (name, title, rail, "
                                                  "steps...)"))])
    twice = duplicate_keys(node)
    if twice:  # reported alone: what follows from a replaced step (unreachable steps...) would only mislead
        raise ScenarioInvalid([Problem(path, line, message) for line, message in twice])
    lines = _lines(node)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal[")))]
            where = ".".join(map(str, loc)) or _("scénario")
            problems.append(Problem(path, _line_of(lines, loc), _("{where} : {problem}").format(
                where=where, problem=validation_problem(error))))
        raise ScenarioInvalid(problems) from None
    problems = [Problem(path, _line_of(lines, loc), msg) for loc, msg in check(scenario, path.parent, library)]
    if problems:
        raise ScenarioInvalid(sorted(problems, key=lambda p: p.line))
    return scenario


def check(scenario: Scenario, base_dir: Path, library: Library | None) -> list[tuple[Path_, str]]:
    """Everything wrong with a well-shaped scenario, as (YAML path, message)."""
    problems: list[tuple[Path_, str]] = []
    steps = scenario.steps
    intents = ", ".join(i.value for i in Intent)

    for i, name in enumerate(scenario.rail):
        if name not in steps:
            problems.append((("rail", i), _("l'étape {name!r} du rail n'est pas définie dans steps").format(name=name)))
    for name, step in steps.items():
        here: Path_ = ("steps", name)
        for key, target in step.intent_mapping.items():
            if key not in MAPPING_KEYS:
                problems.append(
                    (
                        (*here, "intent_mapping", key),
                        _("étape {name!r} : {key!r} n'est pas une intention (connues : {intents}, ou {default})")
                        .format(name=name, key=key, intents=intents, default=DEFAULT_KEY),
                    )
                )
            if target not in steps:
                problems.append(((*here, "intent_mapping", key), _("étape {name!r} : {key} → étape inconnue {target!r}")
                                 .format(name=name, key=key, target=target)))
        for key in step.score:
            if key not in MAPPING_KEYS[:-1]:
                problems.append(
                    (
                        (*here, "score", key),
                        _("étape {name!r} : score pour {key!r}, qui n'est pas une intention (connues : {intents})")
                        .format(name=name, key=key, intents=intents),
                    )
                )
        for field in ("qualified", "not_qualified"):
            target = getattr(step, field)
            if target and target not in steps:
                problems.append(((*here, field), _("étape {name!r} : {key} → étape inconnue {target!r}").format(
                    name=name, key=field, target=target)))
        if (
            not step.is_end
            and not step.check
            and not step.intent_mapping.get(DEFAULT_KEY)
            and scenario.next_on_rail(name) is None
        ):
            problems.append(
                (
                    here,
                    _("l'étape {name!r} ne mène nulle part : ce n'est pas une étape de fin, elle n'a pas de "
                      "'default' dans intent_mapping et rien ne la suit sur le rail").format(name=name),
                )
            )
        if step.audio:
            problems += _missing_audio(step.audio, base_dir, (*here, "audio"))
    if scenario.rail and scenario.rail[-1] in steps and not steps[scenario.rail[-1]].is_end:
        problems.append(
            (
                ("rail", len(scenario.rail) - 1),
                _("le rail finit sur {name!r}, qui n'est pas une étape de fin (result ou transfer)").format(
                    name=scenario.rail[-1]),
            )
        )

    reachable = _reachable(scenario)
    for name in steps:
        if name not in reachable:
            problems.append((("steps", name), _("l'étape {name!r} est inatteignable depuis {first!r}").format(
                name=name, first=scenario.first_step)))

    declared = set(scenario.variables) | set(BUILTIN_VARIABLES)
    for loc, text in _texts(scenario):
        for variable in VARIABLE.findall(text):
            if variable not in declared:
                problems.append(
                    (
                        loc,
                        _("variable non déclarée {variable} (la déclarer dans 'variables' ou utiliser {builtin})")
                        .format(variable=f"{{{{{variable}}}}}", builtin=", ".join(BUILTIN_VARIABLES)),
                    )
                )

    if scenario.voicemail and scenario.voicemail.audio:
        problems += _missing_audio(scenario.voicemail.audio, base_dir, ("voicemail", "audio"))

    first = steps.get(scenario.first_step)
    if first is not None:
        here = ("steps", scenario.first_step)
        if not first.disclosure:
            problems.append(
                (here, _("la première étape {name!r} doit être la phrase d'annonce (disclosure: true)").format(
                    name=scenario.first_step))
            )
        elif first.say and not _DISCLOSES_BOT.search(first.say):
            problems.append(
                ((*here, "say"), _("la phrase d'annonce doit dire à la personne appelée qu'elle parle à un "
                                   "assistant automatisé"))
            )
        elif scenario.recorded and first.say and not _DISCLOSES_RECORDING.search(first.say):
            problems.append(((*here, "say"), _("l'appel est enregistré (recorded: true) : la phrase d'annonce doit "
                                               "le dire")))
        elif first.audio and not first.say:
            problems.append(
                (here, _("une annonce préenregistrée a aussi besoin de ses mots dans 'say', pour qu'ils soient "
                         "vérifiés et journalisés"))
            )

    if library is not None:
        known = set(library.themes)
        for i, theme in enumerate(scenario.themes):
            if theme not in known:
                problems.append(
                    (("themes", i), _("thème d'objections inconnu {theme!r} (connus : {known})").format(
                        theme=theme, known=", ".join(sorted(known))))
                )
        for theme in BASE_THEMES:
            if theme not in known:
                problems.append((("themes",), _("la bibliothèque d'objections n'a pas de thème {theme!r}").format(
                    theme=theme)))
    for key in scenario.lines:
        if key not in ENGINE_LINES:
            problems.append((("lines", key), _("phrase du moteur inconnue {key!r} (connues : {known})").format(
                key=key, known=", ".join(ENGINE_LINES))))
    return problems


def _reachable(scenario: Scenario) -> set[str]:
    seen: set[str] = set()
    todo = [scenario.first_step]
    while todo:
        name = todo.pop()
        if name in seen or name not in scenario.steps:
            continue
        seen.add(name)
        step = scenario.steps[name]
        todo += list(step.intent_mapping.values())
        todo += [t for t in (step.qualified, step.not_qualified) if t]
        if not step.is_end and (following := scenario.next_on_rail(name)):
            todo.append(following)
    return seen


def _texts(scenario: Scenario) -> Iterable[tuple[Path_, str]]:
    for name, step in scenario.steps.items():
        for field in ("say", "freestyle"):
            if value := getattr(step, field):
                yield ("steps", name, field), value
    if scenario.voicemail and scenario.voicemail.say:
        yield ("voicemail", "say"), scenario.voicemail.say
    for key, text in scenario.lines.items():
        yield ("lines", key), text


def _missing_audio(relative: str, base_dir: Path, loc: Path_) -> list[tuple[Path_, str]]:
    path = (base_dir / relative).resolve()
    if path.is_file():
        return []
    return [(loc, _("fichier audio {name!r} introuvable (cherché : {path})").format(name=relative, path=path))]


_SENTENCE = re.compile(r"[^.!?…]*(?:[.!?…]+|$)")
_TITLES = {"M.", "Mme.", "Mlle.", "Me.", "Dr.", "Pr.", "St."}  # a dot that ends no sentence


def last_question(text: str) -> str:
    """A line's question: from its last sentence that asks one (with the questions right before
    it) to its end ("Bonjour Marie, je suis Camille. Cet appel est enregistré. Vous avez une
    petite minute ?" -> "Vous avez une petite minute ?"). The whole line when none asks."""
    sentences = [m.group().strip() for m in _SENTENCE.finditer(text) if m.group().strip()]
    asks = [i for i, sentence in enumerate(sentences) if sentence.endswith("?")]
    if not asks:
        return text
    first = asks[-1]
    # Back over the questions just before it ("Jeudi ou vendredi ? Lequel vous arrange ?") and
    # over a title's dot ("M. Martin, vous avez une minute ?").
    while first > 0 and (sentences[first - 1].endswith("?") or sentences[first - 1].split()[-1] in _TITLES):
        first -= 1
    return " ".join(sentences[first:])


def render(text: str, values: dict[str, str]) -> str:
    """The line with its {{variables}} filled in (validation has made sure each one exists)."""
    return VARIABLE.sub(lambda m: str(values.get(m.group(1), "")), text)
