"""Errors that libraries word in English, said in the reader's language.

pydantic's validation errors are read by their `type` and `ctx` (stable across pydantic 2 releases)
rather than by their English `msg`, which is kept only for a type not listed here. The operating
system's errors are read by errno: `strerror` is the C library's English.

    from bot.i18n.errors import validation_problem
    for error in exc.errors(include_url=False):
        print(".".join(map(str, error["loc"])), validation_problem(error))
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping
from typing import Any

from bot.i18n import _

_GIVEN_MAX = 40  # characters of the value shown back (a whole mapping would drown the message)


def _given(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _GIVEN_MAX else text[: _GIVEN_MAX - 1] + "…"


def _choices(expected: str, lang: str | None) -> str:
    """pydantic's "'a', 'b' or 'c'" with the reader's "or"."""
    head, sep, last = expected.rpartition(" or ")
    if not sep:
        return expected
    return _("{values} ou {last}", lang).format(values=head, last=last)


# One sentence per kind of mistake; {given} is the value found, the others come from the error's ctx.
_BY_TYPE: dict[str, str] = {
    "missing": "champ obligatoire absent",
    "extra_forbidden": "champ inconnu à cet endroit (faute de frappe ou mauvaise indentation ?)",
    "string_pattern_mismatch": "{given} ne respecte pas le format {pattern}",
    "string_type": "un texte est attendu (trouvé : {given})",
    "string_too_short": "au moins {min_length} caractère(s) attendu(s)",
    "string_too_long": "au plus {max_length} caractère(s) attendu(s)",
    "int_parsing": "un nombre entier est attendu (trouvé : {given})",
    "int_type": "un nombre entier est attendu (trouvé : {given})",
    "int_from_float": "un nombre entier est attendu, sans décimales (trouvé : {given})",
    "float_parsing": "un nombre est attendu (trouvé : {given})",
    "float_type": "un nombre est attendu (trouvé : {given})",
    "bool_parsing": "true ou false est attendu (trouvé : {given})",
    "bool_type": "true ou false est attendu (trouvé : {given})",
    "dict_type": "un dictionnaire (clé: valeur) est attendu (trouvé : {given})",
    "model_type": "un dictionnaire (clé: valeur) est attendu (trouvé : {given})",
    "model_attributes_type": "un dictionnaire (clé: valeur) est attendu (trouvé : {given})",
    "list_type": "une liste est attendue (trouvé : {given})",
    "tuple_type": "une liste est attendue (trouvé : {given})",
    "literal_error": "{given} n'est pas une valeur possible ; valeurs possibles : {expected}",
    "enum": "{given} n'est pas une valeur possible ; valeurs possibles : {expected}",
    "too_short": "au moins {min_length} élément(s) attendu(s), {actual_length} trouvé(s)",
    "too_long": "au plus {max_length} élément(s) attendu(s), {actual_length} trouvé(s)",
    "greater_than_equal": "la valeur doit être supérieure ou égale à {ge} (trouvé : {given})",
    "greater_than": "la valeur doit être supérieure à {gt} (trouvé : {given})",
    "less_than_equal": "la valeur doit être inférieure ou égale à {le} (trouvé : {given})",
    "less_than": "la valeur doit être inférieure à {lt} (trouvé : {given})",
}


def validation_problem(error: Mapping[str, Any], lang: str | None = None) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) as a sentence in the reader's
    language: what was expected and what was found; where it is (the `loc`) is the caller's to say."""
    kind = error.get("type", "")
    ctx = dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])  # the model's own words, already in the reader's language
    template = _BY_TYPE.get(kind)
    if template is None:
        return str(error.get("msg", kind))
    if "expected" in ctx:
        ctx["expected"] = _choices(str(ctx["expected"]), lang)
    try:
        return _(template, lang).format(given=_given(error.get("input")), **ctx)
    except (KeyError, IndexError):  # a ctx without the value the sentence names: pydantic's own words
        return str(error.get("msg", kind))


_OS_ERRORS: dict[int, str] = {
    errno.ENOENT: "fichier introuvable",
    errno.EACCES: "accès refusé",
    errno.EPERM: "accès refusé",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
}


def os_problem(exc: OSError, lang: str | None = None) -> str:
    """Why a file could not be read or written, in the reader's language (the system's own words for
    a rarer cause)."""
    template = _OS_ERRORS.get(exc.errno or -1)
    return _(template, lang) if template else str(exc.strerror or exc)


# PyYAML's problems (scanner, parser, composer), most common first; its tokens ('<block end>', ':')
# are quoted as it gives them.
_YAML_PROBLEMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"mapping values are not allowed here$"),
     "« : » inattendu (mettre entre guillemets un texte qui contient « : », ou vérifier l'indentation)"),
    (re.compile(r"could not find expected ':'$"), "« : » attendu (une clé sans valeur, ou une ligne mal indentée ?)"),
    (re.compile(r"found character '\\t' that cannot start any token$"),
     "tabulation interdite : indenter avec des espaces"),
    (re.compile(r"found character (?P<char>.+) that cannot start any token$"),
     "caractère {char} interdit à cet endroit (mettre le texte entre guillemets)"),
    (re.compile(r"found unexpected end of stream$"), "fin du fichier inattendue (guillemet ou crochet non fermé ?)"),
    (re.compile(r"expected (?P<expected>.+), but (?:found|got) (?P<found>.+)$"),
     "structure inattendue : {found} au lieu de {expected} (indentation, guillemet ou crochet ?)"),
    (re.compile(r"found undefined alias (?P<name>.+)$"), "alias {name} non défini"),
    (re.compile(r"found unknown escape character (?P<char>.+)$"),
     "séquence d'échappement inconnue \\{char} (mettre le texte entre guillemets simples)"),
    (re.compile(r"found duplicate anchor (?P<name>.+?);"), "ancre {name} définie deux fois"),
]


# PyYAML's names for what it read, quoted or not ("expected <block end>, but found '<scalar>'").
_YAML_TOKENS: dict[str, str] = {
    "<block end>": "la fin du bloc",
    "<block mapping start>": "une nouvelle clé",
    "<block sequence start>": "une liste",
    "<block collection start>": "un bloc",
    "<stream end>": "la fin du fichier",
    "<scalar>": "une valeur",
    "<document start>": "le début du document",
    "?": "une clé",
    "-": "un élément de liste",
}


def _yaml_token(text: str, lang: str | None) -> str:
    bare = text[1:-1] if len(text) > 2 and text[0] == text[-1] == "'" else text
    word = _YAML_TOKENS.get(bare)
    return _(word, lang) if word else _choices(text, lang)


def yaml_problem(problem: str, lang: str | None = None) -> str:
    """PyYAML's `problem` in the reader's language (its own words for a rarer one)."""
    for pattern, template in _YAML_PROBLEMS:
        m = pattern.match(problem)
        if m:
            found = {k: _yaml_token(v, lang) if k in ("expected", "found") else v for k, v in m.groupdict().items()}
            return _(template, lang).format(**found)
    return problem
