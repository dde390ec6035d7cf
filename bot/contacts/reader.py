"""Contact files → a header and rows, each row with the line an operator finds it at.

One reader per format (CSV, XLSX, JSON) with one output shape, so that validation never knows where a
row came from. Line numbers are the point: every problem the import reports names a line the operator
can open the file at, so they follow the file, not the parser:

- CSV: the physical line where the record starts (header = line 1); a quoted field with newlines moves
  the following records down, as an editor shows them. Delimiter `;`, `,` or tab, guessed from the
  header line (or Excel's ``sep=;`` first line); UTF-8 with or without BOM, UTF-16 with BOM (Excel's
  "Unicode text"), else cp1252 (French Windows spreadsheets) — UTF-8 is decoded strictly first, since
  cp1252 accepts nearly any byte and would turn UTF-8 accents into "Ã©".
- XLSX: the sheet's row number, first sheet, read-only (cached formula values).
- JSON: a list of objects, or ``{"contacts": [...]}``. Item i (0-based) is "line" i + 2: the first
  contact is line 2, like the first row under a CSV header, so reports read the same whatever the
  format. The header is every key, in the order keys first appear.

Cell values are JSON-compatible (str, int, float, bool, None, and lists/dicts from JSON), so unmapped
columns can be stored as they are.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..i18n import _

Cell = Any  # str | int | float | bool | None | list | dict

_DELIMITERS = (";", ",", "\t")
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 binary .xls format


class ReadError(Exception):
    """The file cannot be read as contacts; the message says which file, where, and why."""


@dataclass(frozen=True)
class Row:
    line: int
    values: list[Cell]


@dataclass
class Table:
    """What a contact file holds: its header and its data rows (empty rows included)."""

    format: str  # csv | xlsx | json
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    detail: str = ""  # how it was read: encoding and delimiter, or sheet name


def read_table(path: Path) -> Table:
    """Read a CSV, XLSX or JSON contact file; ReadError (with the path) when it cannot be."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReadError(_("{path} : fichier introuvable").format(path=path)) from None
    except IsADirectoryError:
        raise ReadError(_("{path} : c'est un dossier, pas un fichier").format(path=path)) from None
    except OSError as exc:
        raise ReadError(_("{path} : illisible : {error}").format(path=path, error=exc.strerror or exc)) from None
    if not data.strip():
        raise ReadError(_("{path} : le fichier est vide").format(path=path))
    kind = _kind(path, data)
    if kind == "xlsx":
        return _read_xlsx(path, data)
    text, encoding = _decode(path, data)
    table = _read_json(path, text) if kind == "json" else _read_csv(path, text)
    table.detail = f"{encoding}, {table.detail}"
    return table


def _kind(path: Path, data: bytes) -> str:
    """The format, from the extension, or from the content when the extension says nothing."""
    suffix = path.suffix.lower()
    if data.startswith(_OLE_MAGIC) or suffix == ".xls":
        raise ReadError(_("{path} : l'ancien format Excel binaire (.xls) n'est pas pris en charge ; l'enregistrer "
                          "en .xlsx ou en CSV et importer celui-là").format(path=path))
    if suffix in (".xlsx", ".xlsm") or data.startswith(_XLSX_MAGIC):
        return "xlsx"
    if suffix == ".json" or (suffix not in (".csv", ".tsv", ".txt") and data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in
                             (b"[", b"{")):
        return "json"
    return "csv"


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """The text and the encoding it was in."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        tried = _("ni UTF-8 ni cp1252") if encoding == "cp1252" else encoding
        raise ReadError(_("{path} : ligne {line} : pas du texte en {tried} : octet {byte} à la position "
                          "{offset}").format(
            path=path, line=line, tried=tried, byte=f"{data[exc.start]:#04x}", offset=exc.start)) from None


# -- CSV --------------------------------------------------------------------------------------------

def _read_csv(path: Path, text: str) -> Table:
    # newline="" keeps \r\n as one line end and lets the csv module see newlines inside quotes
    source = io.StringIO(text, newline="")
    first = source.readline()
    delimiter, hint_lines = _sniff(first)
    if not hint_lines:
        source.seek(0)
    # strict: an unclosed quote is an error, not the rest of the file swallowed into one field
    reader = csv.reader(source, delimiter=delimiter, quotechar='"', strict=True)
    rows: list[Row] = []
    headers: list[str] | None = None
    while True:
        start = hint_lines + reader.line_num + 1  # reader.line_num: physical lines read so far
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ReadError(_("{path} : ligne {line} : CSV mal formé dans l'enregistrement qui commence là : "
                              "{error}").format(
                path=path, line=start, error=exc)) from None
        if headers is None:
            if not any(v.strip() for v in record):
                continue  # blank lines above the header
            headers = [v.strip() for v in record]
            continue
        rows.append(Row(start, list(record)))
    if headers is None:
        raise ReadError(_("{path} : le fichier est vide (pas de ligne d'en-tête)").format(path=path))
    name = {";": _("point-virgule"), ",": _("virgule"), "\t": _("tabulation")}[delimiter]
    return Table("csv", headers, rows, detail=_("séparateur {name}").format(name=name))


def _sniff(first_line: str) -> tuple[str, int]:
    """The delimiter, and 1 when the first line is Excel's ``sep=X`` hint (the header follows it)."""
    line = first_line.lstrip("\ufeff").rstrip("\r\n")
    if line.lower().startswith("sep=") and len(line) == 5 and line[4] in _DELIMITERS:
        return line[4], 1
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties go to ";" (listed first): French exports
    return (best if counts[best] else ","), 0


# -- XLSX -------------------------------------------------------------------------------------------

def _read_xlsx(path: Path, data: bytes) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zipfile, XML and openpyxl errors all mean "not a readable XLSX"
        raise ReadError(_("{path} : classeur XLSX illisible : {error}").format(
            path=path, error=f"{type(exc).__name__}: {exc}")) from None
    try:
        if not book.worksheets:
            raise ReadError(_("{path} : le classeur n'a aucune feuille").format(path=path))
        sheet = book.worksheets[0]
        # the stored dimension can be wrong (some writers put "A1"); read what the sheet really holds
        sheet.reset_dimensions()
        headers: list[str] | None = None
        rows: list[Row] = []
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_xlsx_cell(v) for v in values]
                if headers is None:
                    if any(not _blank(v) for v in cells):
                        headers = ["" if v is None else str(v).strip() for v in cells]
                    continue
                rows.append(Row(number, cells))
        except Exception as exc:  # noqa: BLE001 - a damaged sheet part
            raise ReadError(_("{path} : la feuille {sheet!r} est abîmée : {error}").format(
                path=path, sheet=sheet.title, error=f"{type(exc).__name__}: {exc}")) from None
        if headers is None:
            raise ReadError(_("{path} : la première feuille, {sheet!r}, est vide").format(path=path, sheet=sheet.title))
        return Table("xlsx", headers, rows, detail=_("feuille {sheet!r}").format(sheet=sheet.title))
    finally:
        book.close()


def _xlsx_cell(value: Any) -> Cell:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # phone numbers typed as numbers: 612345678.0
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value


# -- JSON -------------------------------------------------------------------------------------------

def _read_json(path: Path, text: str) -> Table:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(_("{path} : ligne {line}, colonne {column} : JSON invalide : {error}").format(
            path=path, line=exc.lineno, column=exc.colno, error=exc.msg)) from None
    items = document.get("contacts") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ReadError(_("{path} : une liste d'objets contact est attendue, ou {{\"contacts\": [...]}} ; trouvé "
                          "{kind}").format(path=path, kind=_json_kind(document)))
    if not items:
        raise ReadError(_("{path} : le fichier ne contient aucun contact (liste vide)").format(path=path))
    headers: dict[str, None] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReadError(_("{path} : l'élément {index} (ligne {line}) est {kind}, un objet est attendu").format(
                path=path, index=index, line=index + 2, kind=_json_kind(item)))
        headers.update(dict.fromkeys(str(k) for k in item))
    names = list(headers)
    rows = [Row(index + 2, [item.get(name) for name in names]) for index, item in enumerate(items)]
    return Table("json", names, rows, detail="contacts" if isinstance(document, dict) else "list")


def _json_kind(value: Any) -> str:
    kinds = {dict: _("un objet"), list: _("une liste"), str: _("un texte"), bool: _("un booléen"),
             type(None): "null"}
    return kinds.get(type(value), _("un nombre"))


def _blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def is_empty(values: Iterable[Cell]) -> bool:
    """No value at all: every cell empty or blank."""
    return all(_blank(v) or v == [] or v == {} for v in values)
