"""`minibot compliance`: ask the gate about one number, and keep the registers it reads
(opt-outs, blacklist, Bloctel list, consents).

Thin: parse, call `bot.compliance` and `bot.store.compliance`, print. Exit codes: 0 allowed / done,
1 refused / failed, 2 bad arguments. Numbers are shown in full here: these are the operator's own
registers, printed to the operator (logs, unlike this output, mask them).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.compliance.bloctel import BLOCTEL_MAX_AGE, BloctelError, bloctel_list_age, import_bloctel
from bot.compliance.consent import (
    METHODS,
    ConsentFileError,
    ConsentIn,
    import_consents,
    parse_method,
    parse_purposes,
    parse_when,
)
from bot.compliance.consent import record as record_consent
from bot.compliance.gate import ComplianceGate, Decision
from bot.compliance.law import L223_1, Basis, parse_basis
from bot.compliance.sectors import sector as sector_named
from bot.contacts.phones import InvalidPhone, to_e164
from bot.store import Database
from bot.store import compliance as store

from .common import JSON_OPTION, emit, err, fail, with_db

compliance_app = typer.Typer(help="French compliance: check a number, keep opt-outs, blacklist, Bloctel, consents.",
                             no_args_is_help=True)
opt_out_app = typer.Typer(help="Do-not-call requests (kept as evidence, never deleted).", no_args_is_help=True)
blacklist_app = typer.Typer(help="The operator's own blacklist.", no_args_is_help=True)
bloctel_app = typer.Typer(help="The Bloctel opposition list.", no_args_is_help=True)
consent_app = typer.Typer(help="The consent ledger (for campaigns that require consent).", no_args_is_help=True)
compliance_app.add_typer(opt_out_app, name="opt-out")
compliance_app.add_typer(blacklist_app, name="blacklist")
compliance_app.add_typer(bloctel_app, name="bloctel")
compliance_app.add_typer(consent_app, name="consent")

console = Console()
PARIS = ZoneInfo("Europe/Paris")
OPERATOR = "l'opérateur"

_CAMPAIGN = typer.Option(None, "--campaign", help="a campaign id")

_EXPLAINED = {
    "outside_hours": "outside the calling windows",
    "weekend": "not a calling day",
    "public_holiday": "a public holiday",
    "frequency_cap": "too many dials recently (frequency cap)",
    "refusal_cooloff": "the person said no recently (rest period after a refusal)",
    "opt_out": "the person asked not to be called (opt-out)",
    "blacklist": "the number is on the blacklist",
    "bloctel": "the number is registered on Bloctel, France's do-not-call list",
    "no_consent": "aucun consentement préalable valide (L223-1 C. consom., loi 2025-594)",
    "no_contract": "aucun contrat en cours pour ce contact (base contract)",
    "no_company": "le contact ne porte aucune entreprise (base b2b)",
    "no_sales_declaration": "la campagne n'a pas déclaré l'absence de contenu commercial",
    "banned_sector": "secteur interdit de démarchage téléphonique",
}


# -- parsing ----------------------------------------------------------------------------------------

def _phone(raw: str, as_json: bool = False) -> str:
    try:
        return to_e164(raw)
    except InvalidPhone as exc:
        fail(f"phone: {exc}", 2, as_json)


def _when(value: datetime | None) -> str:
    return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M %Z") if value else "-"


def _parse_at(text: str | None, as_json: bool) -> datetime:
    if not text:
        return datetime.now(PARIS)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at: not an ISO 8601 time: {text!r} (e.g. 2026-11-23T10:30 or 2026-11-23T10:30:00+01:00)", 2, as_json)
    return at if at.tzinfo else at.replace(tzinfo=PARIS)


# -- check ------------------------------------------------------------------------------------------

@compliance_app.command()
def check(
    phone: str = typer.Option(..., "--phone", help="the number, E.164 (+33612345678) or national (06 12 34 56 78)"),
    at: str = typer.Option(None, "--at", help="ISO 8601 time; without an offset it is Europe/Paris local time; "
                                               "default now"),
    campaign: int = _CAMPAIGN,
    basis: str = typer.Option(None, "--basis", help="base légale: consent, contract, b2b, not_prospecting "
                              "(défaut: celle de la campagne, sinon consent)"),
    sector: str = typer.Option(None, "--sector", help="secteur (ex. renovation_energetique, formation_cpf)"),
    no_sales: bool = typer.Option(False, "--no-sales", help="base not_prospecting: l'appel n'a aucun contenu "
                                  "commercial (défaut: la déclaration de la campagne)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """May this number be called at this time? Exit 0 allowed, 1 refused (with every reason), 2 bad arguments.
    The rules are those of the law in force at --at: Bloctel before 2026-08-11, prior consent from then on."""
    number = _phone(phone, as_json)
    when = _parse_at(at, as_json)
    try:
        if basis is not None:
            named_basis = parse_basis(basis)
            if named_basis is Basis.NOT_PROSPECTING and campaign is None and not no_sales:
                # As `campaign create` asks: without the declaration, a call is canvassing (the consent rule).
                raise ValueError("--basis not_prospecting: déclarez que l'appel n'a aucun contenu commercial "
                                 "(--no-sales); sinon c'est du démarchage, soumis au consentement préalable "
                                 f"({L223_1})")
        sector_named(sector)
    except ValueError as exc:
        fail(str(exc), 2, as_json)

    async def work(db: Database) -> tuple[Decision | Exception, Any]:
        gate = ComplianceGate(db.pool)
        try:
            decision: Decision | Exception = await gate.check(number, when, campaign_id=campaign, basis=basis,
                                                              sector=sector, no_sales=no_sales)
        except (LookupError, ValueError) as exc:  # no such campaign; its compliance settings are invalid
            decision = exc
        return decision, await bloctel_list_age(db.pool)

    decision, age = with_db(work, as_json)
    if isinstance(decision, Exception):
        fail(f"--campaign: {decision}" if isinstance(decision, LookupError) else str(decision),
             2 if isinstance(decision, LookupError) else 1, as_json)
    if as_json:
        emit(decision.to_json())
    else:
        _print_decision(number, decision, age)
    raise typer.Exit(0 if decision.allowed else 1)


def _print_decision(number: str, decision: Decision, age: Any) -> None:
    d = decision.details
    verdict = "[green]ALLOWED[/]" if decision.allowed else "[red]REFUSED[/]"
    console.print(f"{verdict} {number} at {escape(d.get('local_time', ''))} ({escape(d.get('timezone', ''))})"
                  + ("" if decision.allowed else ": " + ", ".join(decision.reasons)), highlight=False, soft_wrap=True)
    console.print(f"  régime: {d.get('regime')}, base légale: {d.get('legal_basis')} ({d.get('legal_basis_law')})",
                  highlight=False, markup=False, soft_wrap=True)
    for reason in decision.reasons:
        law = d.get(f"law_{reason}")
        console.print(f"  - {reason}: {_explain(reason, d)}" + (f" [{law}]" if law else ""), highlight=False,
                      markup=False, soft_wrap=True)
    if not decision.allowed:
        if decision.retry_at:
            retry = decision.retry_at  # on the contact's clock
            console.print(f"  next possible call: {retry:%a %Y-%m-%d %H:%M} ({escape(d.get('timezone', ''))})",
                          highlight=False)
        else:
            console.print("  no later time will do: a register must change first", highlight=False)
    if age is None:
        err.print("[yellow]warning:[/] no Bloctel list imported (minibot compliance bloctel import FILE)")
    elif age > BLOCTEL_MAX_AGE:
        err.print(f"[yellow]warning:[/] the Bloctel list is {age.days} days old; the law asks for a check at least "
                  "every 30 days")


def _explain(reason: str, d: dict[str, str]) -> str:
    text = _EXPLAINED.get(reason, reason)
    extra = {
        "outside_hours": d.get("calling_hours"),
        "weekend": d.get("calling_hours"),
        "public_holiday": d.get("holiday"),
        "frequency_cap": d.get("attempts") and f"{d['attempts']}; one leaves the window on "
                                               f"{d.get('frequency_cap_frees_at')}",
        "refusal_cooloff": d.get("refusal") and f"{d['refusal']}, rest until {d.get('cooloff_ends_at')}",
        "opt_out": d.get("opt_out"),
        "blacklist": d.get("blacklist"),
    }.get(reason)
    return f"{text} ({extra})" if extra else text


# -- opt-outs ---------------------------------------------------------------------------------------

@opt_out_app.command("add")
def opt_out_add(
    phone: str = typer.Argument(..., help="the number (E.164 or national)"),
    evidence: str = typer.Option("", "--evidence", help="who asked, how, when (kept as evidence)"),
) -> None:
    """Record a do-not-call request. Every request is kept: two requests, two rows."""
    number = _phone(phone)
    row_id = with_db(lambda db: store.record_opt_out(db.pool, number, source="cli",
                                                      evidence=evidence or "recorded from the command line"))
    console.print(f"opt-out #{row_id} recorded for {number}", highlight=False)


@opt_out_app.command("list")
def opt_out_list(as_json: bool = JSON_OPTION) -> None:
    """Every do-not-call request, oldest first."""
    rows = with_db(lambda db: store.list_opt_outs(db.pool), as_json)
    if as_json:
        emit({"opt_outs": [{"id": r.id, "phone": r.phone, "source": r.source, "evidence": r.evidence,
                            "call_id": r.call_id, "campaign_id": r.campaign_id,
                            "created_at": r.created_at.isoformat()} for r in rows]})
        return
    table = Table("#", "phone", "when", "source", "call", "campaign", "evidence")
    for r in rows:
        table.add_row(str(r.id), r.phone, _when(r.created_at), escape(r.source), str(r.call_id or ""),
                      str(r.campaign_id or ""), escape(r.evidence))
    console.print(table)
    console.print(f"{len(rows)} request(s), {len({r.phone for r in rows})} number(s)", highlight=False)


# -- blacklist --------------------------------------------------------------------------------------

@blacklist_app.command("add")
def blacklist_add(
    phone: str = typer.Argument(..., help="the number (E.164 or national)"),
    reason: str = typer.Option("", "--reason", help="why (shown in refusals)"),
) -> None:
    """Put a number on the blacklist (again: updates its reason)."""
    number = _phone(phone)
    added = with_db(lambda db: store.blacklist_add(db.pool, number, reason))
    console.print(f"{number} {'added to' if added else 'already on'} the blacklist", highlight=False)


@blacklist_app.command("remove")
def blacklist_remove(phone: str = typer.Argument(..., help="the number (E.164 or national)")) -> None:
    """Take a number off the blacklist; exit 1 when it was not on it."""
    number = _phone(phone)
    if not with_db(lambda db: store.blacklist_remove(db.pool, number)):
        fail(f"{number} is not on the blacklist", 1)
    console.print(f"{number} removed from the blacklist", highlight=False)


@blacklist_app.command("list")
def blacklist_list(as_json: bool = JSON_OPTION) -> None:
    """The blacklist, oldest first."""
    rows = with_db(lambda db: store.blacklist_list(db.pool), as_json)
    if as_json:
        emit({"blacklist": [{"phone": r.phone, "reason": r.reason, "created_at": r.created_at.isoformat()}
                            for r in rows]})
        return
    table = Table("phone", "since", "reason")
    for r in rows:
        table.add_row(r.phone, _when(r.created_at), escape(r.reason))
    console.print(table)


# -- Bloctel ----------------------------------------------------------------------------------------

@bloctel_app.command("import")
def bloctel_import(
    file: Path = typer.Argument(..., help="the opposed numbers, one per line (text or CSV)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Replace the Bloctel list with the numbers in FILE. Invalid lines are reported, not fatal."""
    if not file.is_file():
        fail(f"{file}: no such file", 2, as_json)

    async def work(db: Database) -> Any:
        try:
            return await import_bloctel(db.pool, file)
        except BloctelError as exc:
            return str(exc)

    report = with_db(work, as_json)
    if isinstance(report, str):
        fail(report, 1, as_json)
    if as_json:
        emit(report.to_json())
        return
    console.print(f"{report.file_name}: {report.imported} numbers imported (replacing {report.previous}), "
                  f"{report.duplicates} duplicate(s), {len(report.invalid)} invalid line(s)", highlight=False)
    for bad in report.invalid:
        console.print(f"  {report.file_name}:{bad.line}: {bad.reason}", markup=False, highlight=False)


# -- consents ---------------------------------------------------------------------------------------

_SCOPE_KEYS = ("company", "purposes", "channel")


def _scope(text: str | None) -> dict[str, str]:
    """--scope 'company=ACME;purposes=assurance,energie;channel=telephone'."""
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in _SCOPE_KEYS:
            fail(f"--scope {part!r}: attendu {'|'.join(_SCOPE_KEYS)}=valeur, séparés par ';'", 2)
        found[key.strip()] = value.strip()
    return found


@consent_app.command("add")
def consent_add(
    phone: str = typer.Argument(..., help="the number (E.164 or national)"),
    evidence: str = typer.Option(..., "--evidence", help="la preuve, en clair: formulaire, date, enregistrement..."),
    at: str = typer.Option(None, "--at", help="quand la personne a consenti (ISO 8601, heure de Paris sans "
                                                "décalage); défaut maintenant"),
    scope: str = typer.Option(None, "--scope", help="portée: 'company=ACME;purposes=assurance,energie;"
                                                      "channel=telephone'"),
    company: str = typer.Option(None, "--company", help="pour quelle entreprise (défaut: l'opérateur)"),
    purpose: list[str] = typer.Option([], "--purpose", help="une finalité acceptée (répétable)"),
    method: str = typer.Option("other", "--method", help=f"mode de recueil: {', '.join(METHODS)} "
                                                          "(ou formulaire web, papier, appel)"),
    wording: str = typer.Option("", "--wording", help="le texte exact que la personne a accepté"),
    collected_by: str = typer.Option(None, "--collected-by", help="qui a recueilli le consentement"),
    proof: str = typer.Option(None, "--proof", help="référence de la preuve (id de formulaire, fichier, URL)"),
    outside_hours: bool = typer.Option(False, "--outside-hours", help="la personne accepte d'être appelée hors "
                                                                       "des horaires légaux"),
    campaign: int = typer.Option(None, "--campaign", help="only this campaign (default: its scope)"),
) -> None:
    """Record that a person agreed to be called, with the proof (L223-1 C. consom., loi 2025-594)."""
    number = _phone(phone)
    fields = _scope(scope)
    try:
        consent = ConsentIn(
            phone=number, granted_at=parse_when(at) if at else datetime.now(PARIS), method=parse_method(method),
            wording=wording, collected_by=collected_by, company=company or fields.get("company") or None,
            purposes=tuple(purpose) or parse_purposes(fields.get("purposes", "")),
            channel=fields.get("channel") or "telephone", proof_ref=proof, outside_hours=outside_hours)
    except ValueError as exc:
        fail(str(exc), 2)

    async def work(db: Database) -> int | None:
        try:
            return await record_consent(db, consent, source="cli", evidence=evidence, campaign_id=campaign)
        except asyncpg.ForeignKeyViolationError:
            return None

    row_id = with_db(work)
    if row_id is None:
        fail(f"--campaign: no campaign with id {campaign}", 2)
    target = f"campagne {campaign}" if campaign is not None else consent.company or OPERATOR
    console.print(f"consent #{row_id} recorded for {number} ({target}"
                  + (f", finalités {', '.join(consent.purposes)}" if consent.purposes else "") + ")",
                  highlight=False)


@consent_app.command("list")
def consent_list(
    phone: str = typer.Argument(None, help="only this number"),
    active: bool = typer.Option(False, "--active", help="only consents not revoked"),
    as_json: bool = JSON_OPTION,
) -> None:
    """The consent ledger with its proof, oldest first."""
    number = _phone(phone, as_json) if phone else None
    rows = with_db(lambda db: store.list_consents(db.pool, number, active_only=active), as_json)
    if as_json:
        emit({"consents": [r.to_json() for r in rows]})
        return
    table = Table("#", "téléphone", "donné le", "mode", "pour", "finalités", "preuve", "hors horaires", "révoqué")
    for r in rows:
        table.add_row(str(r.id), r.phone, _when(r.granted_at), r.method, escape(r.company or "opérateur"),
                      escape(", ".join(r.purposes) or "-"), escape(r.proof_ref or r.evidence or "-"),
                      "oui" if r.outside_hours else "non",
                      _when(r.revoked_at) + (f" ({escape(r.revoked_evidence)})" if r.revoked_evidence else "")
                      if r.revoked_at else "-")
    console.print(table)
    console.print(f"{len(rows)} consentement(s)", highlight=False)


@consent_app.command("import")
def consent_import(
    file: Path = typer.Argument(..., help="CSV, XLSX or JSON; colonnes: téléphone, date du consentement, mode, "
                                          "texte accepté, [pour le compte de, collecté par, finalités, canal, "
                                          "preuve, hors horaires]"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check the file, store nothing"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import consents with their proof; bad lines are reported with their reason, the rest lands whole."""
    if not file.is_file():
        fail(f"{file}: fichier introuvable", 2, as_json)

    async def work(db: Database) -> Any:
        try:
            return await import_consents(db, file, dry_run=dry_run)
        except ConsentFileError as exc:
            return str(exc)

    report = with_db(work, as_json)
    if isinstance(report, str):
        fail(f"{file.name}: {report}", 1, as_json)
    if as_json:
        emit(report.to_json())
        return
    console.print(f"{report.file}: {report.imported} consentement(s) importé(s) sur {report.lines} ligne(s), "
                  f"{len(report.invalid)} ligne(s) invalide(s)" + (" (essai: rien d'enregistré)" if dry_run else ""),
                  highlight=False)
    for bad in report.invalid:
        console.print(f"  {report.file}:{bad.line}: {bad.reason}", markup=False, highlight=False)


@consent_app.command("revoke")
def consent_revoke(
    phone: str = typer.Argument(..., help="the number (E.164 or national)"),
    campaign: int = typer.Option(None, "--campaign", help="only this campaign's consent (default: all of them)"),
    at: str = typer.Option(None, "--at", help="quand le retrait a été demandé (défaut maintenant)"),
    evidence: str = typer.Option("", "--evidence", help="comment et par qui le retrait a été demandé"),
) -> None:
    """Withdraw consent (the rows stay, marked revoked). Exit 1 when there was none to revoke."""
    number = _phone(phone)
    try:
        when = parse_when(at) if at else None
    except ValueError as exc:
        fail(f"--at: {exc}", 2)

    async def work(db: Database) -> tuple[int, bool]:
        revoked = await store.revoke_consent(db.pool, number, campaign_id=campaign, at=when, source="cli",
                                             evidence=evidence or "retrait enregistré en ligne de commande")
        return revoked, campaign is not None and await store.has_consent(db.pool, number, campaign)

    revoked, still = with_db(work)
    if not revoked:
        fail(f"no active consent for {number}" + (f" in campaign {campaign}" if campaign is not None else ""), 1)
    console.print(f"{revoked} consent(s) revoked for {number}", highlight=False)
    if still:
        err.print(f"[yellow]note:[/] a consent for every campaign still covers campaign {campaign}; "
                  "revoke without --campaign to withdraw it")


# -- audit ------------------------------------------------------------------------------------------

@compliance_app.command("audit")
def audit(
    campaign: int = typer.Argument(..., metavar="CAMPAIGN", help="the campaign id"),
    fmt: str = typer.Option("csv", "--format", help="csv, xlsx or json"),
    output: Path = typer.Option(None, "--output", "-o", help="the file to write (default: "
                                                              "audit-campagne-ID.FORMAT here)"),
) -> None:
    """Export every gate decision of a campaign with the rules, the records relied on, the caller ID, the
    AI disclosure and the opt-outs: what a DGCCRF or CNIL request asks for. Numbers in full."""
    from bot.compliance.audit import FORMATS, export_audit

    if fmt not in FORMATS:
        fail(f"--format: {fmt!r} inconnu (csv, xlsx ou json)", 2)
    out = output or Path(f"audit-campagne-{campaign}.{fmt}")

    async def work(db: Database) -> int | str:
        try:
            return await export_audit(db.pool, campaign, fmt, out)  # type: ignore[arg-type]
        except LookupError as exc:
            return str(exc).strip("'\"")

    written = with_db(work)
    if isinstance(written, str):
        fail(written, 2)
    console.print(f"{out}: {written} décision(s) du filtre de conformité exportée(s)", highlight=False)
