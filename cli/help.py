"""`--help` in words, in the operator's language: typer 0.29 writes each parameter's Python type
(`<bool>`, `<list[str]>`, `<float range>`), which means nothing to an operator. A flag shows nothing
(its name says it); a value shows what to type, in the operator's language; an explicit `metavar`
still wins.

Commands and options are described in French in the code (docstrings, `help=`); the words are
looked up in the catalogue (bot/i18n) when the help is drawn, so MINIBOT_LANGUAGE=en gets English
and a command needs no `_()` around its docstring. typer's and click's own English (`--help`'s
line, "Usage:", "Missing argument" and the like) is put in French here.

Installed once by cli/main.py (`install()`), for every command, whoever wrote it."""

from __future__ import annotations

import inspect
import re
from typing import Any

import typer.core

from bot.i18n import _, current_language

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


def help_key(text: str) -> str:
    """A docstring or `help=` as its catalogue entry: one line, single spaces (docstrings wrap)."""
    return " ".join(inspect.cleandoc(text).split())


# typer's and click's own lines, which its gettext domain leaves English in every language.
_TYPER_FR = {
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Install completion for the current shell.": "Installer la complétion pour le shell utilisé.",
    "Show completion for the current shell, to copy it or customize the installation.":
        "Afficher la complétion pour le shell utilisé, pour la copier ou l'adapter.",
}

# click's error lines (hard-coded English in typer 0.29), most specific first.
_ERRORS_FR = [
    (re.compile(r"^Missing argument '?(.+?)'?\.$"), "Argument manquant : {0}."),
    (re.compile(r"^Missing option '?(.+?)'?\.(.*)$"), "Option manquante : {0}.{1}"),
    (re.compile(r"^Missing parameter:? ?(.*)$"), "Paramètre manquant : {0}"),
    (re.compile(r"^No such option: (\S+)(?: Did you mean (\S+)\?)?$"), "Option inconnue : {0}{1}"),
    (re.compile(r"^No such command '?(.+?)'?\.(?: Did you mean '?(.+?)'?\?)?$"), "Commande inconnue : {0}.{1}"),
    (re.compile(r"^Got unexpected extra arguments? \((.*)\)$"), "Argument(s) en trop : {0}"),
    (re.compile(r"^Option '?(.+?)'? requires an argument\.$"), "L'option {0} attend une valeur."),
    (re.compile(r"^Option '?(.+?)'? requires (.+)$"), "L'option {0} attend {1}"),
    (re.compile(r"^Option '?(.+?)'? does not take a value\.$"), "L'option {0} ne prend pas de valeur."),
    (re.compile(r"^Invalid value for (.+?): (.*)$"), "Valeur invalide pour {0} : {1}"),
    (re.compile(r"^Invalid value: (.*)$"), "Valeur invalide : {0}"),
]
_VALUES_FR = [
    (re.compile(r"'?(.+?)'? is not a valid (integer|float|boolean|int|bool)\.?"),
     lambda m: f"{m[1]} n'est pas "
               f"{dict(integer='un entier', int='un entier', float='un nombre').get(m[2], 'oui ou non')}"),
    (re.compile(r"Value (.+?) is not a valid (\w+)\.?"), lambda m: f"{m[1]} ne convient pas ({m[2]})"),
    (re.compile(r"'?(.+?)'? is not one of (.+?)\.?$"), lambda m: f"{m[1]} n'est pas l'une des valeurs {m[2]}"),
    (re.compile(r"(.+?) is not in the range (.+?)\.?$"), lambda m: f"{m[1]} est hors de l'intervalle {m[2]}"),
    # pydantic's words, which typer passes on for numbers
    (re.compile(r"Input should be a valid (number|integer)[^:]*"),
     lambda m: "un nombre est attendu" if m[1] == "number" else "un entier est attendu"),
    (re.compile(r"Input should be (greater|less) than( or equal to)? (\S+)"),
     lambda m: f"la valeur doit être {'supérieure' if m[1] == 'greater' else 'inférieure'}"
               f"{' ou égale' if m[2] else ''} à {m[3]}"),
    (re.compile(r"Input should be (.+)"), lambda m: "attendu : " + m[1].replace(" or ", " ou ")),
]


def translate_help(text: str | None) -> str | None:
    """One command's or option's description in the reader's language."""
    if not text:
        return text
    if text in _TYPER_FR:
        return _TYPER_FR[text] if current_language() == "fr" else text
    key = help_key(text)
    shown = _(key)
    return text if shown == key else shown


def translate_error(message: str) -> str:
    """click's English error line in French (the operator's language); other text as it is."""
    if current_language() != "fr":
        return message
    for pattern, french in _ERRORS_FR:
        m = pattern.match(message)
        if m:
            parts = list(m.groups(default=""))
            if pattern.pattern.startswith("^No such") and parts[1]:
                parts[1] = f" Vouliez-vous dire {parts[1]} ?"
            message = french.format(*parts)
            break
    for pattern, value in _VALUES_FR:
        message = pattern.sub(value, message)
    return message


def _usage(text: str) -> str:
    if current_language() != "fr":
        return text
    return (text.replace("Usage:", "Utilisation :", 1).replace("COMMAND [ARGS]...", "COMMANDE [ARGUMENTS]...")
            .replace("[ARGS]...", "[ARGUMENTS]..."))


def _translated(obj: Any, ctx: Any) -> None:
    """Put one command's (or group's) texts in the reader's language before typer draws them. The
    click objects are built anew for each run of the app, so changing them in place leaks nowhere."""
    obj.help = translate_help(obj.help)
    obj.short_help = translate_help(obj.short_help)
    for param in obj.get_params(ctx):
        if getattr(param, "help", None):
            param.help = translate_help(param.help)
    for name in getattr(obj, "list_commands", lambda _ctx: [])(ctx):
        sub = obj.get_command(ctx, name)
        if sub is not None:
            sub.help = translate_help(sub.help)
            sub.short_help = translate_help(sub.short_help)
    usage = obj.get_usage
    obj.get_usage = lambda c: _usage(usage(c))


def install() -> None:
    import typer.rich_utils as ru

    draw_help, draw_error = ru.rich_format_help, ru.rich_format_error

    def rich_format_help(*, obj: Any, ctx: Any, markup_mode: Any) -> None:
        _translated(obj, ctx)
        draw_help(obj=obj, ctx=ctx, markup_mode=markup_mode)

    def rich_format_error(self: Any) -> None:
        ctx = getattr(self, "ctx", None)
        if ctx is not None:
            usage = ctx.get_usage
            ctx.get_usage = lambda: _usage(usage())
        format_message = self.format_message
        self.format_message = lambda: translate_error(format_message())
        draw_error(self)

    ru.rich_format_help = rich_format_help
    ru.rich_format_error = rich_format_error

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
    ru.RICH_HELP = _("Essayez [blue]« {command_path} {help_option} »[/] pour l'aide.")
    ru.DEPRECATED_STRING = _("(obsolète) ")
