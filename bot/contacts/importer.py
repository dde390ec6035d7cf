"""Importing a contact file: check every row, find duplicates, store, and report what happened.

Nothing is dropped silently: each data row ends up imported, a duplicate (of an earlier line, or of a
contact already stored), invalid (with the column and the problem), or empty. The checks are pure
(`check_file`, `plan_import`) and testable without a database; `import_contacts` adds the storage, all
in one transaction, so an import that fails midway leaves the database as it was.

A contact already stored is never changed by an import: it is reported as a duplicate (with its id)
and, with a campaign, enrolled in it like a new one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg
import phonenumbers

from ..campaign.lifecycle import OPEN
from ..i18n import _
from ..store import Database, DatabaseError
from ..store import contacts as store
from .headers import ColumnMap, MappingError, map_headers
from .phones import InvalidPhone, to_e164
from .reader import Cell, ReadError, Row, Table, is_empty, read_table

__all__ = ["BadArguments", "CheckedFile", "ClosedCampaign", "Contact", "Duplicate", "ImportReport", "Invalid",
           "MappingError", "Plan", "ReadError", "UnknownCampaign", "check_file", "check_region", "check_table",
           "import_contacts", "plan_import", "store_checked"]

log = logging.getLogger(__name__)


class BadArguments(ValueError):
    """An argument of the import is wrong (region, campaign id)."""


class UnknownCampaign(BadArguments):
    """--campaign names no campaign."""


class ClosedCampaign(Exception):
    """The campaign is COMPLETED or CANCELLED: nobody is enrolled in it any more."""


@dataclass(frozen=True)
class Contact:
    """A valid row, ready to store."""

    line: int
    phone: str  # E.164
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    timezone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # what was dropped or kept aside from the row, said as "<field>: <why>"


@dataclass(frozen=True)
class Invalid:
    line: int
    reason: str  # "<field>: <problem>", problems joined by "; "

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class Duplicate:
    line: int
    phone: str
    first_line: int | None  # the earlier line of the file with this phone; None: stored before this import
    contact_id: int | None = None  # the stored contact, when first_line is None

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "phone": self.phone, "first_line": self.first_line, "contact_id": self.contact_id}


@dataclass(frozen=True)
class Updated:
    """A contact stored before whose fields the file corrects: field → [stored, from the file]."""

    line: int
    contact_id: int
    changes: dict[str, list[Any]]

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "contact_id": self.contact_id, "changes": self.changes}


@dataclass
class CheckedFile:
    """A file read and checked row by row, before any lookup in the database."""

    path: Path
    format: str
    detail: str
    columns: dict[str, str]  # header → field, "extra" or "skip"
    rows: int  # data rows, empty ones included
    contacts: list[Contact]  # valid rows in file order, duplicates within the file included
    invalid: list[Invalid]
    empty: list[int]
    warnings: list[Invalid] = field(default_factory=list)  # imported rows with something dropped or set aside


@dataclass
class Plan:
    """What storing a checked file does, given the phones already stored."""

    new: list[Contact]  # to insert: first occurrence of a phone not stored yet
    stored: list[tuple[Contact, int]]  # first occurrence of a phone already stored, with its contact id
    duplicates: list[Duplicate]


@dataclass
class ImportReport:
    file: str
    format: str
    rows: int
    imported: int  # contacts inserted; in a dry run, those that would be
    duplicates: list[Duplicate]
    invalid: list[Invalid]
    empty: list[int]
    enrolled: int = 0  # added to the campaign (stored contacts included); in a dry run, would be
    campaign_id: int | None = None
    dry_run: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    warnings: list[Invalid] = field(default_factory=list)
    updated: list[Updated] = field(default_factory=list)  # stored contacts the file corrects (dry run: would)

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object; a dry run says ``valid`` where an import says ``imported``."""
        return {
            "file": self.file, "format": self.format, "dry_run": self.dry_run, "campaign": self.campaign_id,
            "rows": self.rows, "valid" if self.dry_run else "imported": self.imported, "enrolled": self.enrolled,
            "duplicates": [d.to_json() for d in self.duplicates], "invalid": [i.to_json() for i in self.invalid],
            "empty": self.empty, "columns": self.columns, "warnings": [w.to_json() for w in self.warnings],
            "updated": [u.to_json() for u in self.updated],
        }


# -- checking rows (pure) ---------------------------------------------------------------------------

def check_region(region: str) -> str:
    """'fr' → 'FR'; BadArguments when phonenumbers knows no such region."""
    code = (region or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise BadArguments(_("--region {region!r} : code de pays inconnu (par ex. FR, BE, CH)").format(region=region))
    return code


def check_file(path: Path, *, mapping: Mapping[str, str] | None = None, region: str = "FR") -> CheckedFile:
    """Read and check a contact file. ReadError: unreadable; MappingError: no usable columns."""
    region = check_region(region)
    table = read_table(path)
    try:
        columns = map_headers(table.headers, dict(mapping or {}))
    except MappingError as exc:
        raise MappingError(f"{path} : {exc}") from None
    return check_table(path, table, columns, region)


def check_table(path: Path, table: Table, columns: ColumnMap, region: str = "FR") -> CheckedFile:
    contacts: list[Contact] = []
    invalid: list[Invalid] = []
    empty: list[int] = []
    warnings: list[Invalid] = []
    for row in table.rows:
        if is_empty(row.values):
            empty.append(row.line)
            continue
        checked = check_row(row, columns, len(table.headers), region)
        if isinstance(checked, Invalid):
            invalid.append(checked)
        else:
            contacts.append(checked)
            warnings.extend(Invalid(checked.line, w) for w in checked.warnings)
    return CheckedFile(path=path, format=table.format, detail=table.detail, columns=columns.columns,
                       rows=len(table.rows), contacts=contacts, invalid=invalid, empty=empty, warnings=warnings)


def check_row(row: Row, columns: ColumnMap, width: int, region: str) -> Contact | Invalid:
    """One non-empty row → a Contact, or Invalid naming every column that is wrong."""
    problems: list[str] = []
    warnings: list[str] = []
    values: dict[str, str | None] = {}
    # PostgreSQL text cannot hold a NUL: the import would fail on this row, so the check says so first.
    nul = [i + 1 for i, v in enumerate(row.values) if isinstance(v, str) and "\x00" in v]
    if nul:
        problems.append(_("colonne {columns} : contient un octet NUL (\\x00), impossible à enregistrer").format(
            columns=", ".join(map(str, nul))))
    for name, index in columns.fields.items():
        text, problem = _text(row.values[index] if index < len(row.values) else None)
        if problem:
            problems.append(f"{name} : {problem}")
            continue
        check = _CHECKS.get(name)
        if check is not None:
            text, problem = check(text, region)
            if problem and name in DROPPABLE:  # the person is still callable: the bad detail alone goes
                warnings.append(_("{field} : {problem} ; écarté").format(field=name, problem=problem))
                continue
            if problem:
                problems.append(f"{name} : {problem}")
                continue
        values[name] = text or None
    if problems:
        return Invalid(row.line, "; ".join(problems))
    extra: dict[str, Any] = {}
    for index, key in columns.extra:
        if index < len(row.values) and not is_empty([row.values[index]]):
            extra[key] = _kept(row.values[index])
    beyond = []
    for index in range(width, len(row.values)):  # values past the last header (a stray delimiter)
        if not is_empty([row.values[index]]):
            extra[f"column {index + 1}"] = _kept(row.values[index])
            beyond.append(f"column {index + 1}")
    if beyond:
        warnings.append(_("{cells} cellules pour {width} en-têtes : {columns} gardée(s) sous ce nom").format(
            cells=len(row.values), width=width, columns=", ".join(beyond)))
    return Contact(line=row.line, extra=extra, warnings=tuple(warnings), **values)  # type: ignore[arg-type]


def _text(value: Cell) -> tuple[str, str | None]:
    """A cell as text for a contact field, or the problem with it."""
    if value is None:
        return "", None
    if isinstance(value, bool | list | dict):
        return "", _("texte ou nombre attendu, trouvé {value}").format(value=json.dumps(value, ensure_ascii=False)[:60])
    return str(value).strip(), None


def _kept(value: Cell) -> Cell:
    return value.strip() if isinstance(value, str) else value


def _phone(text: str, region: str) -> tuple[str, str | None]:
    if not text:
        return "", _("vide")
    try:
        return to_e164(text, region), None
    except InvalidPhone as exc:
        return "", str(exc)


def _email(text: str, region: str) -> tuple[str, str | None]:
    # deliberately light: one "@", something before it, a dot inside what follows; the rest is the mail server's
    local, _at, domain = text.partition("@")
    if text and ("@" in domain or not local or "." not in domain.strip(".") or any(c.isspace() for c in text)):
        return "", _("pas une adresse e-mail : {text!r}").format(text=text)
    return text, None


def _timezone(text: str, region: str) -> tuple[str, str | None]:
    if not text:
        return "", None
    # looked up in the zone list, not opened by name: user text never becomes a file path
    canonical = _zone_names().get(text.casefold())  # "europe/paris" → "Europe/Paris"
    if canonical:
        return canonical, None
    return "", _("fuseau horaire inconnu : {text!r} (un nom comme Europe/Paris est attendu)").format(text=text)


@cache
def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


_CHECKS = {"phone": _phone, "email": _email, "timezone": _timezone}
# Fields whose bad value is dropped with a warning rather than refusing the row. Not the time zone:
# without it the gate would use the campaign's, and could call someone at night.
DROPPABLE = frozenset({"email"})


def plan_import(contacts: list[Contact], stored: Mapping[str, int]) -> Plan:
    """Split checked contacts into new ones, ones already stored, and duplicates, in file order."""
    plan = Plan(new=[], stored=[], duplicates=[])
    first_line: dict[str, int] = {}
    for contact in contacts:
        earlier = first_line.get(contact.phone)
        if earlier is not None:
            plan.duplicates.append(Duplicate(contact.line, contact.phone, earlier))
            continue
        first_line[contact.phone] = contact.line
        contact_id = stored.get(contact.phone)
        if contact_id is None:
            plan.new.append(contact)
        else:
            plan.stored.append((contact, contact_id))
            plan.duplicates.append(Duplicate(contact.line, contact.phone, None, contact_id))
    return plan


# -- storing ----------------------------------------------------------------------------------------

async def import_contacts(db: Database, path: Path, *, campaign_id: int | None = None, dry_run: bool = False,
                          mapping: Mapping[str, str] | None = None, region: str = "FR") -> ImportReport:
    """Import a contact file (CSV, XLSX, JSON), optionally into a campaign; see the module docstring.

    ReadError: the file cannot be read. MappingError, BadArguments (UnknownCampaign): wrong arguments.
    ClosedCampaign: the campaign is over. DatabaseError: the import failed and was rolled back whole.
    """
    path = Path(path)
    # checking 100k rows takes seconds of CPU (phonenumbers): off the event loop
    checked = await asyncio.to_thread(check_file, path, mapping=mapping, region=region)
    return await store_checked(db, checked, campaign_id=campaign_id, dry_run=dry_run)


async def store_checked(db: Database, checked: CheckedFile, *, campaign_id: int | None = None,
                        dry_run: bool = False) -> ImportReport:
    """Look up, insert and enrol the checked contacts in one transaction (read-only in a dry run)."""
    phones = list(dict.fromkeys(c.phone for c in checked.contacts))
    try:
        async with db.pool.acquire() as conn, conn.transaction(readonly=dry_run):
            if campaign_id is not None:
                await _check_campaign(conn, campaign_id)
            stored = await store.existing_phones(conn, phones)
            plan = plan_import(checked.contacts, stored)
            updated = await _corrections(conn, plan)
            if not dry_run:
                await store.update_fields(conn, [(u.contact_id, {k: v[1] for k, v in u.changes.items()
                                                                 if k in _CONTACT_FIELDS},
                                                  {k.removeprefix("extra."): v[1] for k, v in u.changes.items()
                                                   if k.startswith("extra.")}) for u in updated])
            if dry_run:
                enrolled = await _would_enrol(conn, campaign_id, plan) if campaign_id is not None else 0
            else:
                plan, enrolled = await _write(conn, checked, plan, stored, campaign_id)
    except asyncpg.PostgresError as exc:
        raise DatabaseError(_("{path} : l'import a échoué et a été annulé, rien n'a été écrit : {error}").format(
            path=checked.path, error=f"{type(exc).__name__}: {exc}")) from exc
    except (OSError, asyncpg.InterfaceError) as exc:
        raise DatabaseError(_("{path} : l'import a échoué, la connexion à la base s'est rompue (annulé) : "
                              "{error}").format(
            path=checked.path, error=exc)) from exc
    report = ImportReport(
        file=str(checked.path), format=checked.format, rows=checked.rows, imported=len(plan.new),
        duplicates=plan.duplicates, invalid=checked.invalid, empty=checked.empty, enrolled=enrolled,
        campaign_id=campaign_id, dry_run=dry_run, columns=checked.columns, warnings=checked.warnings,
        updated=updated)
    log.info("contacts %s %s: %d rows, %d %s, %d duplicates, %d invalid, %d empty, %d enrolled",
             "checked" if dry_run else "imported", checked.path.name, report.rows, report.imported,
             "valid" if dry_run else "new", len(report.duplicates), len(report.invalid), len(report.empty),
             report.enrolled)
    return report


_CONTACT_FIELDS = ("first_name", "last_name", "email", "company", "timezone")


async def _corrections(conn: asyncpg.Connection, plan: Plan) -> list[Updated]:
    """What the file changes in contacts stored before: a value it gives that differs (a blank cell
    never erases a stored value). Re-importing a corrected file is how a column is added or fixed."""
    rows = await store.stored_fields(conn, [cid for _, cid in plan.stored])
    out = []
    for contact, cid in plan.stored:
        row = rows.get(cid)
        if row is None:
            continue
        changes: dict[str, list[Any]] = {}
        for name in _CONTACT_FIELDS:
            new = getattr(contact, name)
            if new not in (None, "") and new != row[name]:
                changes[name] = [row[name], new]
        extra = json.loads(row["extra"])
        for key, new in contact.extra.items():
            if new not in (None, "") and extra.get(key) != new:
                changes[f"extra.{key}"] = [extra.get(key), new]
        if changes:
            out.append(Updated(contact.line, cid, changes))
    return out


async def _check_campaign(conn: asyncpg.Connection, campaign_id: int) -> None:
    status = await store.campaign_status(conn, campaign_id)
    if status is None:
        raise UnknownCampaign(_("--campaign {id} : campagne introuvable").format(id=campaign_id))
    if status not in OPEN:
        raise ClosedCampaign(_("la campagne {id} est {status} : on ne peut plus y ajouter de contacts").format(
            id=campaign_id, status=status))


async def _would_enrol(conn: asyncpg.Connection, campaign_id: int, plan: Plan) -> int:
    already = await store.enrolled_already(conn, campaign_id, [cid for _, cid in plan.stored])
    return len(plan.new) + sum(1 for _, cid in plan.stored if cid not in already)


async def _write(conn: asyncpg.Connection, checked: CheckedFile, plan: Plan, stored: dict[str, int],
                 campaign_id: int | None) -> tuple[Plan, int]:
    ids = await store.insert_contacts(conn, plan.new, source=checked.path.name)
    lost = [c.phone for c in plan.new if c.phone not in ids]
    if lost:  # stored by another session since the lookup: report them as stored, like the others
        stored.update(await store.existing_phones(conn, lost))
        plan = plan_import(checked.contacts, stored)
    if campaign_id is None:
        return plan, 0
    contact_ids = [ids[c.phone] for c in plan.new] + [cid for _, cid in plan.stored]
    return plan, await store.enrol(conn, campaign_id, contact_ids)
