"""The consent ledger: who agreed to be called, by whom, for whom, how, in which words, with which proof.

Since 11 August 2026 a consumer may be canvassed by telephone only with a prior consent that is free,
specific, informed and unambiguous, given by a clear positive act, revocable, and that the
professional can prove (art. L. 223-1 C. consom. as rewritten by loi n° 2025-594; art. 4 §11 and 7 RGPD).
So each entry keeps: the number; who collected it (`collected_by`) and for which company (`company`,
None meaning the operator itself); when (`granted_at`); how (`method`: web_form, paper, call, email);
the exact wording the person accepted; the scope (company, `purposes`, `channel`); a proof reference
(form id, file, URL); and, once withdrawn, when, by what channel and with which words. An opt-out
heard on a call revokes every consent of the number at once (bot.store.compliance.record_opt_out).

A consent may also say the person agreed to be called outside the legal hours (`outside_hours`): only
then does the gate apply a campaign's wider hours to them (bot.compliance.overrides).

Files (CSV, XLSX, JSON) are read by the contacts reader (bot.contacts.reader), headers in French or
English, and every bad line is reported with its line number and the reason; an import lands whole
or not at all.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.contacts.headers import normalise
from bot.contacts.phones import InvalidPhone, to_e164
from bot.contacts.reader import ReadError, Table, is_empty, read_table
from bot.store import Database
from bot.store import compliance as store

PARIS = ZoneInfo("Europe/Paris")
METHODS = ("web_form", "paper", "call", "email", "other")
# How people write a collection method in a French spreadsheet → the ledger's value.
_METHOD_OF = {
    "webform": "web_form", "formulaireweb": "web_form", "formulaire": "web_form", "web": "web_form",
    "siteweb": "web_form", "internet": "web_form", "enligne": "web_form",
    "papier": "paper", "paper": "paper", "courrier": "paper", "bulletin": "paper", "contratsigne": "paper",
    "appel": "call", "call": "call", "telephone": "call", "tel": "call", "oral": "call",
    "email": "email", "mail": "email", "courriel": "email",
    "other": "other", "autre": "other",
}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "phone": ("telephone", "tel", "portable", "mobile", "numero", "phone", "numerodetelephone"),
    "granted_at": ("date", "dateduconsentement", "dateconsentement", "horodatage", "recueilleLe".lower(),
                   "recueilli", "grantedat", "consentementdonnele", "datederecueil"),
    "collected_by": ("collectepar", "recueillipar", "collecteur", "collectedby"),
    "company": ("pourlecomptede", "entreprise", "societe", "annonceur", "company", "beneficiaire"),
    "method": ("mode", "moyen", "methode", "modederecueil", "method", "canalderecueil"),
    "wording": ("texteaccepte", "libelle", "formulation", "mention", "texte", "wording", "texteduconsentement"),
    "purposes": ("finalites", "finalite", "purposes", "purpose", "objet"),
    "channel": ("canal", "channel"),
    "proof_ref": ("preuve", "referencepreuve", "refpreuve", "proof", "url", "identifiantformulaire"),
    "outside_hours": ("horshoraires", "appelshorshoraires", "outsidehours", "horshoraireslegaux"),
}
_FIELD_OF = {alias: name for name, aliases in _COLUMNS.items() for alias in aliases}
REQUIRED = ("phone", "granted_at", "method", "wording")
_LABEL = {"phone": "téléphone", "granted_at": "date du consentement", "method": "mode de recueil",
          "wording": "texte accepté"}


class ConsentFileError(ValueError):
    """The file cannot be imported at all (unreadable, a required column missing); nothing was stored."""


@dataclass(frozen=True)
class ConsentIn:
    """One consent to record, as read from a file or given on the command line."""

    phone: str
    granted_at: datetime
    method: str
    wording: str
    collected_by: str | None = None
    company: str | None = None
    purposes: tuple[str, ...] = ()
    channel: str = "telephone"
    proof_ref: str | None = None
    outside_hours: bool = False


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str  # French: the operator reads it


@dataclass
class ConsentReport:
    file: str
    format: str
    lines: int = 0
    imported: int = 0
    invalid: list[BadLine] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_method(text: str) -> str:
    found = _METHOD_OF.get(normalise(text))
    if found is None:
        raise ValueError(f"mode de recueil {text!r} inconnu (formulaire web, papier, appel, email, autre)")
    return found


def parse_when(text: str) -> datetime:
    """ISO 8601 or French dd/mm/yyyy [hh:mm]; without an offset it is Paris time."""
    text = text.strip()
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2})[:h](\d{2}))?", text)
    try:
        if match:
            d, m, y, hh, mm = match.groups()
            at = datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0))
        else:
            at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date {text!r} illisible (ex. 2026-09-01T14:30 ou 01/09/2026 14:30)") from None
    return at if at.tzinfo else at.replace(tzinfo=PARIS)


def parse_purposes(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in re.split(r"[;,|]", text) if p.strip())


def _yes(text: str) -> bool:
    folded = normalise(text)
    if folded in ("oui", "o", "yes", "y", "vrai", "true", "1", "x"):
        return True
    if folded in ("non", "n", "no", "faux", "false", "0", ""):
        return False
    raise ValueError(f"hors horaires: {text!r} n'est ni oui ni non")


def parse_table(table: Table, region: str = "FR") -> tuple[list[tuple[int, ConsentIn]], list[BadLine]]:
    """The consents of a file and its bad lines. ConsentFileError when a required column is missing."""
    columns: dict[str, int] = {}
    for index, header in enumerate(table.headers):
        name = _FIELD_OF.get(normalise(header))
        if name is not None and name not in columns:
            columns[name] = index
    missing = [_LABEL[name] for name in REQUIRED if name not in columns]
    if missing:
        raise ConsentFileError(f"colonne(s) manquante(s): {', '.join(missing)}; les colonnes sont: "
                               f"{', '.join(repr(h) for h in table.headers if h)}")
    good: list[tuple[int, ConsentIn]] = []
    bad: list[BadLine] = []
    for row in table.rows:
        if is_empty(row.values):
            continue

        def cell(name: str, values: list = row.values) -> str:
            index = columns.get(name)
            value = values[index] if index is not None and index < len(values) else None
            return "" if value is None else str(value).strip()

        try:
            missing = [_LABEL[name] for name in REQUIRED if not cell(name)]
            if missing:
                raise ValueError(f"{', '.join(missing)} manquant(s)")
            try:
                phone = to_e164(cell("phone"), region)
            except InvalidPhone as exc:
                raise ValueError(f"téléphone: {exc}") from None
            good.append((row.line, ConsentIn(
                phone=phone, granted_at=parse_when(cell("granted_at")), method=parse_method(cell("method")),
                wording=cell("wording"), collected_by=cell("collected_by") or None, company=cell("company") or None,
                purposes=parse_purposes(cell("purposes")), channel=cell("channel") or "telephone",
                proof_ref=cell("proof_ref") or None, outside_hours=_yes(cell("outside_hours")))))
        except ValueError as exc:
            bad.append(BadLine(row.line, str(exc)))
    return good, bad


async def record(db: Database | Any, consent: ConsentIn, *, source: str, evidence: str = "",
                 campaign_id: int | None = None) -> int:
    pool = db.pool if isinstance(db, Database) else db
    return await store.grant_consent(
        pool, consent.phone, source=source, evidence=evidence, campaign_id=campaign_id,
        granted_at=consent.granted_at, collected_by=consent.collected_by, company=consent.company,
        method=consent.method, wording=consent.wording, purposes=consent.purposes, channel=consent.channel,
        proof_ref=consent.proof_ref, outside_hours=consent.outside_hours)


async def import_consents(db: Database, path: Path, *, region: str = "FR", dry_run: bool = False) -> ConsentReport:
    """Read `path` and store its valid consents in one transaction (none with dry_run). The report lists
    every bad line with its reason; ConsentFileError when the file cannot be read at all."""
    try:
        table = read_table(path)
    except ReadError as exc:
        raise ConsentFileError(str(exc)) from None
    good, bad = parse_table(table, region)
    report = ConsentReport(file=path.name, format=table.format, lines=len(good) + len(bad), invalid=bad)
    if dry_run or not good:
        return report
    async with db.pool.acquire() as conn, conn.transaction():
        for line, consent in good:
            report.ids.append(await record(conn, consent, source=f"import:{path.name}",
                                           evidence=f"{path.name}, ligne {line}"))
    report.imported = len(report.ids)
    return report
