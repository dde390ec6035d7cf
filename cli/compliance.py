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
from bot.i18n import _, format_slot
from bot.store import Database
from bot.store import compliance as store

from .common import JSON_OPTION, emit, err, fail, with_db

compliance_app = typer.Typer(help="Conformité française : vérifier un numéro, tenir les oppositions, la liste noire, "
                             "Bloctel, les consentements.",
                             no_args_is_help=True)
opt_out_app = typer.Typer(help="Oppositions aux appels (gardées comme preuves, jamais effacées).", no_args_is_help=True)
blacklist_app = typer.Typer(help="La liste noire de l'opérateur.", no_args_is_help=True)
bloctel_app = typer.Typer(help="La liste d'opposition Bloctel.", no_args_is_help=True)
consent_app = typer.Typer(help="Le registre des consentements (campagnes qui exigent le "
                           "consentement).", no_args_is_help=True)
compliance_app.add_typer(opt_out_app, name="opt-out")
compliance_app.add_typer(blacklist_app, name="blacklist")
compliance_app.add_typer(bloctel_app, name="bloctel")
compliance_app.add_typer(consent_app, name="consent")

console = Console()
PARIS = ZoneInfo("Europe/Paris")
OPERATOR = "l'opérateur"

_CAMPAIGN = typer.Option(None, "--campaign", help="l'identifiant d'une campagne")

_EXPLAINED = {
    "outside_hours": "hors des plages d'appel",
    "weekend": "jour sans appel",
    "public_holiday": "jour férié",
    "frequency_cap": "trop d'appels récents (plafond de fréquence)",
    "refusal_cooloff": "la personne a refusé récemment (délai de repos après un refus)",
    "opt_out": "la personne a demandé à ne plus être appelée (opposition)",
    "blacklist": "le numéro est sur la liste noire",
    "bloctel": "le numéro est inscrit sur Bloctel, la liste d'opposition au démarchage",
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
        fail(_("numéro : {error}").format(error=exc), 2, as_json)


def _when(value: datetime | None) -> str:
    return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M %Z") if value else "-"


def _parse_at(text: str | None, as_json: bool) -> datetime:
    if not text:
        return datetime.now(PARIS)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        fail(_("--at : {text!r} n'est pas une heure ISO 8601 (par ex. 2026-11-23T10:30 ou "
                "2026-11-23T10:30:00+01:00)").format(text=text), 2, as_json)
    return at if at.tzinfo else at.replace(tzinfo=PARIS)


# -- check ------------------------------------------------------------------------------------------

@compliance_app.command()
def check(
    phone: str = typer.Option(..., "--phone", help="le numéro, E.164 (+33612345678) ou national "
                                                      "(06 12 34 56 78)"),
    at: str = typer.Option(None, "--at", help="heure ISO 8601 ; sans décalage, c'est l'heure de Paris (Europe/Paris) ; "
                                               "par défaut maintenant"),
    campaign: int = _CAMPAIGN,
    basis: str = typer.Option(None, "--basis", help="base légale: consent, contract, b2b, not_prospecting "
                              "(défaut: celle de la campagne, sinon consent)"),
    sector: str = typer.Option(None, "--sector", help="secteur (ex. renovation_energetique, formation_cpf)"),
    no_sales: bool = typer.Option(False, "--no-sales", help="base not_prospecting: l'appel n'a aucun contenu "
                                  "commercial (défaut: la déclaration de la campagne)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Ce numéro peut-il être appelé à cette heure ? Code de sortie 0 autorisé, 1 refusé (avec chaque raison),
    2 arguments invalides. Les règles sont celles de la loi en vigueur à --at : Bloctel avant le 11/08/2026,
    consentement préalable ensuite."""
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
    verdict = f"[green]{_('AUTORISÉ')}[/]" if decision.allowed else f"[red]{_('REFUSÉ')}[/]"
    console.print(f"{verdict} {number} " + _("à {time} ({zone})").format(
                      time=escape(d.get('local_time', '')), zone=escape(d.get('timezone', '')))
                  + ("" if decision.allowed else " : " + ", ".join(decision.reasons)), highlight=False, soft_wrap=True)
    console.print(_("  régime : {regime}, base légale : {basis} ({law})").format(
                      regime=d.get('regime'), basis=d.get('legal_basis'), law=d.get('legal_basis_law')),
                  highlight=False, markup=False, soft_wrap=True)
    for reason in decision.reasons:
        law = d.get(f"law_{reason}")
        console.print(f"  - {reason} : {_explain(reason, d)}" + (f" [{law}]" if law else ""), highlight=False,
                      markup=False, soft_wrap=True)
    if not decision.allowed:
        if decision.retry_at:
            retry = decision.retry_at  # on the contact's clock
            console.print(_("  prochain appel possible : {when} ({zone})").format(
                when=format_slot(retry, d.get("timezone") or None),
                zone=escape(d.get('timezone', ''))), highlight=False)
        else:
            console.print(_("  aucune heure plus tard ne convient : un registre doit d'abord changer"), highlight=False)
    if age is None:
        err.print(f"[yellow]{_('attention :')}[/] " + _("aucune liste Bloctel importée "
                                                        "(minibot compliance bloctel import FICHIER)"))
    elif age > BLOCTEL_MAX_AGE:
        err.print(f"[yellow]{_('attention :')}[/] " + _("la liste Bloctel date de {days} jours ; la loi demande "
                                                        "une vérification au moins tous les 30 jours").format(
                                                            days=age.days))


def _explain(reason: str, d: dict[str, str]) -> str:
    text = _(_EXPLAINED.get(reason, reason))
    extra = {
        "outside_hours": d.get("calling_hours"),
        "weekend": d.get("calling_hours"),
        "public_holiday": d.get("holiday"),
        "frequency_cap": d.get("attempts") and _("{attempts} ; l'un sort de la fenêtre le {when}").format(
            attempts=d["attempts"], when=d.get("frequency_cap_frees_at")),
        "refusal_cooloff": d.get("refusal") and _("{refusal}, repos jusqu'au {when}").format(
            refusal=d["refusal"], when=d.get("cooloff_ends_at")),
        "opt_out": d.get("opt_out"),
        "blacklist": d.get("blacklist"),
    }.get(reason)
    return f"{text} ({extra})" if extra else text


# -- opt-outs ---------------------------------------------------------------------------------------

@opt_out_app.command("add")
def opt_out_add(
    phone: str = typer.Argument(..., metavar="NUMÉRO", help="le numéro (E.164 ou national)"),
    evidence: str = typer.Option("", "--evidence", help="qui l'a demandé, comment, quand (gardé comme preuve)"),
) -> None:
    """Enregistrer une opposition aux appels. Chaque demande est gardée : deux demandes, deux lignes."""
    number = _phone(phone)
    row_id = with_db(lambda db: store.record_opt_out(db.pool, number, source="cli",
                                                      evidence=evidence or "enregistrée en ligne de commande"))
    console.print(_("opposition n° {id} enregistrée pour {number}").format(id=row_id, number=number), highlight=False)


@opt_out_app.command("list")
def opt_out_list(as_json: bool = JSON_OPTION) -> None:
    """Toutes les oppositions aux appels, la plus ancienne d'abord."""
    rows = with_db(lambda db: store.list_opt_outs(db.pool), as_json)
    if as_json:
        emit({"opt_outs": [{"id": r.id, "phone": r.phone, "source": r.source, "evidence": r.evidence,
                            "call_id": r.call_id, "campaign_id": r.campaign_id,
                            "created_at": r.created_at.isoformat()} for r in rows]})
        return
    table = Table("#", _("téléphone"), _("le"), _("source"), _("appel"), _("campagne"), _("preuve"))
    for r in rows:
        table.add_row(str(r.id), r.phone, _when(r.created_at), escape(r.source), str(r.call_id or ""),
                      str(r.campaign_id or ""), escape(r.evidence))
    console.print(table)
    console.print(_("{requests} demande(s), {numbers} numéro(s)").format(
        requests=len(rows), numbers=len({r.phone for r in rows})), highlight=False)


# -- blacklist --------------------------------------------------------------------------------------

@blacklist_app.command("add")
def blacklist_add(
    phone: str = typer.Argument(..., metavar="NUMÉRO", help="le numéro (E.164 ou national)"),
    reason: str = typer.Option("", "--reason", help="pourquoi (affiché dans les refus)"),
) -> None:
    """Mettre un numéro sur la liste noire (une seconde fois : change sa raison)."""
    number = _phone(phone)
    added = with_db(lambda db: store.blacklist_add(db.pool, number, reason))
    console.print((_("{number} ajouté à la liste noire") if added else _("{number} déjà sur la liste noire")).format(
        number=number), highlight=False)


@blacklist_app.command("remove")
def blacklist_remove(phone: str = typer.Argument(..., metavar="NUMÉRO", help="le numéro (E.164 ou national)")) -> None:
    """Retirer un numéro de la liste noire ; code de sortie 1 s'il n'y était pas."""
    number = _phone(phone)
    if not with_db(lambda db: store.blacklist_remove(db.pool, number)):
        fail(_("{number} n'est pas sur la liste noire").format(number=number), 1)
    console.print(_("{number} retiré de la liste noire").format(number=number), highlight=False)


@blacklist_app.command("list")
def blacklist_list(as_json: bool = JSON_OPTION) -> None:
    """La liste noire, le plus ancien d'abord."""
    rows = with_db(lambda db: store.blacklist_list(db.pool), as_json)
    if as_json:
        emit({"blacklist": [{"phone": r.phone, "reason": r.reason, "created_at": r.created_at.isoformat()}
                            for r in rows]})
        return
    table = Table(_("téléphone"), _("depuis"), _("raison"))
    for r in rows:
        table.add_row(r.phone, _when(r.created_at), escape(r.reason))
    console.print(table)


# -- Bloctel ----------------------------------------------------------------------------------------

@bloctel_app.command("import")
def bloctel_import(
    file: Path = typer.Argument(..., metavar="FICHIER", help="les numéros opposés, un par ligne (texte ou CSV)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Remplacer la liste Bloctel par les numéros de FICHIER. Les lignes invalides sont signalées, pas fatales."""
    if not file.is_file():
        fail(_("{file} : fichier introuvable").format(file=file), 2, as_json)

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
    console.print(_("{file} : {imported} numéros importés (à la place de {previous}), {duplicates} doublon(s), "
                    "{invalid} ligne(s) invalide(s)").format(
                      file=report.file_name, imported=report.imported, previous=report.previous,
                      duplicates=report.duplicates, invalid=len(report.invalid)), highlight=False)
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
    phone: str = typer.Argument(..., metavar="NUMÉRO", help="le numéro (E.164 ou national)"),
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
    campaign: int = typer.Option(None, "--campaign", help="seulement cette campagne (par défaut : sa portée)"),
) -> None:
    """Enregistrer qu'une personne accepte d'être appelée, avec la preuve (L223-1 C. consom., loi 2025-594)."""
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
        fail(_("--campaign : pas de campagne n° {id}").format(id=campaign), 2)
    target = f"campagne {campaign}" if campaign is not None else consent.company or OPERATOR
    console.print(_("consentement n° {id} enregistré pour {number}").format(id=row_id, number=number) + f" ({target}"
                  + (f", finalités {', '.join(consent.purposes)}" if consent.purposes else "") + ")",
                  highlight=False)


@consent_app.command("list")
def consent_list(
    phone: str = typer.Argument(None, metavar="NUMÉRO", help="seulement ce numéro"),
    active: bool = typer.Option(False, "--active", help="seulement les consentements non révoqués"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Le registre des consentements avec leurs preuves, le plus ancien d'abord."""
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
    file: Path = typer.Argument(..., metavar="FICHIER", help="CSV, XLSX ou JSON ; colonnes : téléphone, date du "
                                                             "consentement, mode, "
                                          "texte accepté, [pour le compte de, collecté par, finalités, canal, "
                                          "preuve, hors horaires]"),
    dry_run: bool = typer.Option(False, "--dry-run", help="vérifier le fichier, ne rien enregistrer"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Importer des consentements avec leurs preuves ; les mauvaises lignes sont signalées avec leur raison,
    le reste est enregistré en entier."""
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
    phone: str = typer.Argument(..., metavar="NUMÉRO", help="le numéro (E.164 ou national)"),
    campaign: int = typer.Option(None, "--campaign", help="seulement le consentement de cette campagne "
                                 "(par défaut : tous)"),
    at: str = typer.Option(None, "--at", help="quand le retrait a été demandé (défaut maintenant)"),
    evidence: str = typer.Option("", "--evidence", help="comment et par qui le retrait a été demandé"),
) -> None:
    """Retirer un consentement (les lignes restent, marquées révoquées). Code de sortie 1 s'il n'y en avait
    aucun à révoquer."""
    number = _phone(phone)
    try:
        when = parse_when(at) if at else None
    except ValueError as exc:
        fail(f"--at : {exc}", 2)

    async def work(db: Database) -> tuple[int, bool]:
        revoked = await store.revoke_consent(db.pool, number, campaign_id=campaign, at=when, source="cli",
                                             evidence=evidence or "retrait enregistré en ligne de commande")
        return revoked, campaign is not None and await store.has_consent(db.pool, number, campaign)

    revoked, still = with_db(work)
    if not revoked:
        fail(_("aucun consentement actif pour {number}").format(number=number)
             + (_(" dans la campagne {id}").format(id=campaign) if campaign is not None else ""), 1)
    console.print(_("{n} consentement(s) révoqué(s) pour {number}").format(n=revoked, number=number), highlight=False)
    if still:
        err.print(f"[yellow]{_('note :')}[/] " + _("un consentement pour toutes les campagnes couvre encore la "
                                                   "campagne {id} ; révoquer sans --campaign pour le retirer").format(
                                                       id=campaign))


# -- audit ------------------------------------------------------------------------------------------

@compliance_app.command("audit")
def audit(
    campaign: int = typer.Argument(..., metavar="CAMPAGNE", help="l'identifiant de la campagne"),
    fmt: str = typer.Option("csv", "--format", help="csv, xlsx ou json"),
    output: Path = typer.Option(None, "--output", "-o", help="le fichier à écrire (par défaut : "
                                                              "audit-campagne-ID.FORMAT ici)"),
) -> None:
    """Exporter chaque décision du filtre de conformité d'une campagne avec les règles, les registres
    consultés, le numéro présenté, l'annonce de l'IA et les oppositions : ce que demande un contrôle de la
    DGCCRF ou de la CNIL. Numéros en entier."""
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
