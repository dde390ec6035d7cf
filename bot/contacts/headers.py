"""Column headers → contact fields, for files exported from French or English spreadsheets.

Headers are compared after folding case, accents, spaces and punctuation ("Tél." = "tel",
"E-mail" = "email", "Raison sociale" = "raisonsociale"), and only whole headers match: "Téléphone
fixe" or "Nom complet" are not guessed at, they go to `extra` unless ``--map`` says otherwise. Two
columns that both look like the same field are an error rather than a silent pick: taking the wrong
one of "Tel" and "Mobile" would import the wrong numbers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..i18n import _

FIELDS = ("phone", "first_name", "last_name", "email", "company", "timezone")
EXTRA = "extra"  # kept in contacts.extra under the column's header
SKIP = "skip"  # not stored at all
TARGETS = (*FIELDS, EXTRA, SKIP)

_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": ("telephone", "tel", "portable", "mobile", "numero", "phone", "gsm", "numerodetelephone",
              "numerotelephone", "telephoneportable", "phonenumber", "mobilephone", "cellphone", "cell"),
    "first_name": ("prenom", "firstname", "givenname"),
    "last_name": ("nom", "nomdefamille", "lastname", "surname", "familyname"),
    "email": ("email", "mail", "courriel", "adresseemail", "adressemail", "adressecourriel", "emailaddress"),
    "company": ("societe", "entreprise", "raisonsociale", "company", "companyname", "organisation", "organization"),
    "timezone": ("fuseau", "fuseauhoraire", "timezone", "tz"),
}
_FIELD_OF = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}


class MappingError(ValueError):
    """The columns cannot be mapped (no phone column, an ambiguous or unknown --map); says which."""


def normalise(header: str) -> str:
    """'Tél. portable' → 'telportable': no accents, no case, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", header)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", "", plain.casefold())


# A --map target that is no field: a scenario {{variable}} the column fills (kept in extra under that name).
_VARIABLE = re.compile(r"[a-z_][a-z0-9_]*")


def parse_map(items: list[str]) -> dict[str, str]:
    """``["Tel fixe=phone", ...]`` → ``{"Tel fixe": "phone"}``; MappingError on a malformed item."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.rpartition("=")  # a header may hold "=", a field name never does
        column, target = column.strip(), target.strip().lower()
        if not sep or not column:
            raise MappingError(_("--map {item!r} : COLONNE=champ attendu").format(item=item))
        if target not in TARGETS and (not _VARIABLE.fullmatch(target) or normalise(target) in _FIELD_OF):
            # a field's other name ("telephone") is a mistake for the field, never a variable of that name
            raise MappingError(_("--map {item!r} : champ inconnu {target!r} (l'un de : {fields}, ou une variable "
                                 "de scénario comme slot_1)").format(
                item=item, target=target, fields=", ".join(TARGETS)))
        if column in mapping and mapping[column] != target:
            raise MappingError(_("--map : colonne {column!r} donnée deux fois ({first} et {second})").format(
                column=column, first=mapping[column], second=target))
        mapping[column] = target
    return mapping


@dataclass(frozen=True)
class ColumnMap:
    """Where each field is read from, and what becomes of every column."""

    fields: dict[str, int]  # field → column index
    extra: list[tuple[int, str]]  # (column index, key in contacts.extra)
    columns: dict[str, str] = field(default_factory=dict)  # header (as keyed in extra) → field | extra | skip


def map_headers(headers: list[str], overrides: dict[str, str] | None = None) -> ColumnMap:
    """Map the file's headers; `overrides` (header → field, from --map) win over the automatic guess."""
    keys = _unique_keys(headers)
    targets: dict[int, str] = {}
    for column, target in (overrides or {}).items():
        index = _find(headers, column)
        if index is None:
            raise MappingError(_("--map {column!r} : colonne introuvable ; les colonnes sont : {columns}").format(
                column=column, columns=_listed(headers)))
        targets[index] = target
    claimed: dict[str, int] = {}
    for index, target in targets.items():
        if target in FIELDS:
            if target in claimed:
                raise MappingError(_("--map : les colonnes {first!r} et {second!r} vont toutes deux dans "
                                     "{target}").format(
                    first=keys[claimed[target]], second=keys[index], target=target))
            claimed[target] = index
    guessed: dict[str, list[int]] = {}
    for index, header in enumerate(headers):
        if index in targets:
            continue
        name = _FIELD_OF.get(normalise(header))
        if name is None or name in claimed:  # a field --map assigned elsewhere: this column is extra
            targets[index] = EXTRA
        else:
            guessed.setdefault(name, []).append(index)
    for name, indexes in guessed.items():
        if len(indexes) > 1:
            named = _(" et ").join(repr(keys[i]) for i in indexes)
            raise MappingError(_("les colonnes {named} ressemblent toutes à {name} ; dire laquelle avec --map, par ex. "
                                 "--map {example!r}").format(
                named=named, name=name, example=keys[indexes[1]] + "=extra"))
        targets[indexes[0]] = name
        claimed[name] = indexes[0]
    if "phone" not in claimed:
        raise MappingError(_("aucune colonne de téléphone ; les colonnes sont : {columns}. En désigner une avec --map, "
                             "par ex. --map 'Tel fixe=phone'").format(columns=_listed(headers)))
    extra = [(i, keys[i] if targets[i] == EXTRA else targets[i]) for i in range(len(headers))
             if targets[i] not in (*FIELDS, SKIP)]  # extra, or a variable named by --map
    return ColumnMap(fields=claimed, extra=extra, columns={keys[i]: targets[i] for i in range(len(headers))})


def _find(headers: list[str], column: str) -> int | None:
    """The column named exactly so, else the one equal once folded ("tel fixe" finds "Tél. fixe")."""
    if column in headers:
        return headers.index(column)
    folded = normalise(column)
    matches = [i for i, h in enumerate(headers) if normalise(h) == folded]
    return matches[0] if len(matches) == 1 else None


def _unique_keys(headers: list[str]) -> list[str]:
    """Headers as keys of `extra`: unnamed ones become "column N", repeated ones get " (2)"."""
    keys: list[str] = []
    seen: set[str] = set()
    for index, header in enumerate(headers):
        key = header or f"column {index + 1}"
        base, n = key, 2
        while key in seen:
            key, n = f"{base} ({n})", n + 1
        seen.add(key)
        keys.append(key)
    return keys


def _listed(headers: list[str]) -> str:
    named = [h for h in headers if h]
    return ", ".join(repr(h) for h in named) if named else "(none named)"
