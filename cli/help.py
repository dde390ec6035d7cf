"""`--help` in words: typer 0.29 writes each parameter's Python type (`<bool>`, `<list[str]>`, `<float
range>`), which means nothing to an operator. A flag shows nothing (its name says it); a value shows
what to type, in the operator's language; an explicit `metavar` still wins.

Installed once by cli/main.py (`install()`), for every command, whoever wrote it."""

from __future__ import annotations

from typing import Any

import typer.core

from bot.i18n import _

_WORDS = {"str": "TEXTE", "int": "ENTIER", "float": "NOMBRE", "Path": "CHEMIN", "datetime": "DATE", "bool": "OUI|NON"}


def words_for(param: Any) -> str | None:
    """What `--help` shows for one parameter: None for a flag, else a word such as TEXTE or NOMBRE."""
    if getattr(param, "metavar", None) is not None:
        return param.metavar
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    desc = param.type_descriptor
    if desc.is_choice:
        return "|".join(str(c) for c in desc.choices or ())
    annotation = desc.annotation
    if desc.is_list:
        inner = typer.core.get_args(annotation)
        name = getattr(inner[0], "__name__", "str") if inner else "str"
        word = _(_WORDS.get(name, "TEXTE"))
        return _("{word} (répétable)").format(word=word)
    if desc.is_ranged:
        name = "int" if "int" in str(desc.ranged_type_name) else "float"
    elif desc.is_path:
        name = "Path"
    elif desc.is_datetime:
        name = "datetime"
    else:
        name = getattr(annotation, "__name__", "str")
    word = _WORDS.get(name, "TEXTE")
    return _(word)


def _option_words(self: typer.core.TyperOption, ctx: Any) -> str | None:
    return words_for(self)


def _argument_words(self: typer.core.TyperArgument, ctx: Any) -> str | None:
    return words_for(self)


def install() -> None:
    import typer.rich_utils as ru

    typer.core.TyperOption.display_type_rich = _option_words  # type: ignore[method-assign]
    typer.core.TyperArgument.display_type_rich = _argument_words  # type: ignore[method-assign]
    # typer's own words around the help (its gettext domain has no French catalogue).
    ru.DEFAULT_STRING = _("[défaut : {}]")
    ru.REQUIRED_LONG_STRING = _("[obligatoire]")
    ru.ENVVAR_STRING = _("[variable : {}]")
    ru.ARGUMENTS_PANEL_TITLE = _("Arguments")
    ru.OPTIONS_PANEL_TITLE = _("Options")
    ru.COMMANDS_PANEL_TITLE = _("Commandes")
    ru.ERRORS_PANEL_TITLE = _("Erreur")
    ru.ABORTED_TEXT = _("Interrompu.")
