"""The objection and FAQ library: YAML files under `scenarios/objections/`, one per theme.

Each entry has an id (unique across every theme), the intent it answers (`objection`, or
`question` for FAQ), several phrasings a caller might say, a short spoken answer, and an audio key
so the answer can be rendered ahead of the call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.i18n import _
from bot.i18n.errors import validation_problem, yaml_problem

from ..intents import Intent

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "scenarios" / "objections"
# Every campaign answers these; a scenario adds its own themes on top.
BASE_THEMES = ("general", "standard")


class LibraryError(ValueError):
    """A library file that cannot be used; the message names the file and the entry."""


class ObjectionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    intent: Intent = Intent.OBJECTION
    phrasings: tuple[str, ...] = Field(min_length=3)
    answer: str = Field(min_length=10)
    audio: str = Field(pattern=r"^[a-z0-9_/]+$")

    @field_validator("intent")
    @classmethod
    def _objection_or_question(cls, value: Intent) -> Intent:
        if value not in (Intent.OBJECTION, Intent.QUESTION):
            raise ValueError(_("une entrée répond à une objection (objection) ou à une question (question)"))
        return value


class ThemeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    theme: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    entries: list[ObjectionEntry] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Objection:
    id: str
    theme: str
    intent: Intent
    phrasings: tuple[str, ...]
    answer: str
    audio: str


@dataclass(frozen=True)
class Library:
    entries: tuple[Objection, ...]

    @property
    def themes(self) -> list[str]:
        return sorted({e.theme for e in self.entries})

    def by_id(self, objection_id: str) -> Objection:
        for entry in self.entries:
            if entry.id == objection_id:
                return entry
        raise KeyError(objection_id)

    def select(self, themes: Iterable[str]) -> Library:
        wanted = set(themes)
        unknown = wanted - set(self.themes)
        if unknown:
            raise LibraryError(_("thème(s) d'objections inconnu(s) {unknown} ; connus : {known}").format(
                unknown=sorted(unknown), known=self.themes))
        return Library(tuple(e for e in self.entries if e.theme in wanted))


def load_theme(path: Path) -> list[Objection]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        reason = yaml_problem(problem) if problem else str(exc)
        where = _("{path}, ligne {line}").format(path=path, line=mark.line + 1) if mark else str(path)
        raise LibraryError(_("{where} : YAML invalide : {reason}").format(where=where, reason=reason)) from None
    try:
        theme = ThemeFile.model_validate(raw)
    except ValidationError as exc:
        problems = " ; ".join(_("{where} : {problem}").format(where=".".join(map(str, e["loc"])),
                                                              problem=validation_problem(e))
                              for e in exc.errors(include_url=False))
        raise LibraryError(f"{path} : {problems}") from None
    if theme.theme != path.stem:
        raise LibraryError(_("{path} : le thème {theme!r} doit être le nom du fichier {stem!r}").format(
            path=path, theme=theme.theme, stem=path.stem))
    return [Objection(e.id, theme.theme, e.intent, e.phrasings, e.answer, e.audio) for e in theme.entries]


def load_library(directory: Path = DEFAULT_DIR) -> Library:
    entries: list[Objection] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.yaml")):
        for entry in load_theme(path):
            if entry.id in seen:
                raise LibraryError(_("{path} : l'id {id!r} est déjà défini dans {first}").format(
                    path=path, id=entry.id, first=seen[entry.id]))
            seen[entry.id] = path
            entries.append(entry)
    if not entries:
        raise LibraryError(_("{directory} : aucune bibliothèque d'objections (*.yaml) trouvée").format(
            directory=directory))
    return Library(tuple(entries))


if __name__ == "__main__":  # python -m bot.dialog.objections.library [DIR]: check and count
    import sys

    lib = load_library(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR)
    for theme in lib.themes:
        print(f"{theme}: {sum(e.theme == theme for e in lib.entries)} entries")
    print(f"total: {len(lib.entries)} entries, {sum(len(e.phrasings) for e in lib.entries)} phrasings")
