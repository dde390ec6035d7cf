"""`minibot contacts`: import contact files (CSV, XLSX, JSON), optionally into a campaign.

Thin: parse the options, call `bot.contacts.importer`, print the report (rich, or one JSON object with
--json). Exit codes: 0 the import ran (even with invalid rows), 1 the file cannot be read, the campaign
is closed or the database failed, 2 bad arguments (options, --map, no phone column, unknown campaign).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from bot.contacts.headers import TARGETS, MappingError, parse_map
from bot.contacts.importer import (
    BadArguments,
    CheckedFile,
    ClosedCampaign,
    ImportReport,
    ReadError,
    check_file,
    check_region,
    store_checked,
)
from bot.i18n import _
from bot.store import Database

from .common import emit, fail, with_db

contacts_app = typer.Typer(help="Contacts : importer, lister, afficher, corriger les personnes à appeler.",
                           no_args_is_help=True)
console = Console()

SHOWN = 20  # lines listed per kind of problem in the human summary


@contacts_app.command("import")
def import_(
    file: Path = typer.Argument(..., metavar="FICHIER", help="un fichier de contacts CSV (; , ou tabulation), "
                                "XLSX ou JSON"),
    campaign: int = typer.Option(None, "--campaign", help="inscrire aussi les contacts dans cette campagne"),
    dry_run: bool = typer.Option(False, "--dry-run", help="vérifier et rendre compte seulement ; ne rien écrire"),
    as_json: bool = typer.Option(False, "--json", help="afficher le compte rendu en un objet JSON"),
    map_: list[str] = typer.Option([], "--map", metavar="COLONNE=CHAMP",
                                   help=f"répétable, par ex. --map 'Tel fixe=phone' ; le champ est l'un de "
                                   f"{', '.join(TARGETS)}"),
    region: str = typer.Option("FR", "--region", help="pays des numéros écrits sans indicatif +pays"),
) -> None:
    """Importer un fichier de contacts, éventuellement dans une campagne ; tout ou rien.

    Les numéros passent en E.164 ; les doublons (dans le fichier et avec les contacts déjà enregistrés), les
    lignes invalides et les lignes vides sont signalés avec leur numéro de ligne (en-tête = ligne 1)."""
    try:
        mapping = parse_map(map_)
        region = check_region(region)
        checked = check_file(file, mapping=mapping, region=region)
    except ReadError as exc:
        fail(str(exc), 1, as_json)
    except (MappingError, BadArguments) as exc:
        fail(str(exc), 2, as_json)

    async def work(db: Database) -> ImportReport:
        return await store_checked(db, checked, campaign_id=campaign, dry_run=dry_run)

    try:
        report = with_db(work, as_json)
    except BadArguments as exc:  # an unknown campaign
        fail(str(exc), 2, as_json)
    except ClosedCampaign as exc:
        fail(str(exc), 1, as_json)
    if as_json:
        emit(report.to_json())
    else:
        _summary(report, checked)


def _summary(report: ImportReport, checked: CheckedFile) -> None:
    def say(text: str) -> None:
        console.print(text, soft_wrap=True, highlight=False)

    say(f"[bold]{escape(report.file)}[/] : " + _("{rows} ligne(s) ({format}, {detail})").format(
        rows=report.rows, format=report.format, detail=escape(checked.detail)))
    done = _("[green]{n} valide(s)[/] (essai : rien d'écrit)") if report.dry_run else _("[green]{n} importé(s)[/]")
    say(done.format(n=report.imported) + ", "
        + _("{duplicates} doublon(s), {invalid} invalide(s), {empty} vide(s)").format(
        duplicates=len(report.duplicates), invalid=len(report.invalid), empty=len(report.empty)))
    if report.campaign_id is not None:
        enrolled = _("{n} seraient inscrits dans la campagne {id}") if report.dry_run \
            else _("{n} inscrit(s) dans la campagne {id}")
        say(enrolled.format(n=report.enrolled, id=report.campaign_id))
    say(_("colonnes : ") + ", ".join(f"{escape(h)} → {f}" for h, f in report.columns.items()))
    if report.invalid:
        say(_("[red]lignes invalides[/]"))
        for item in report.invalid[:SHOWN]:
            say(_("  ligne {line} : {reason}").format(line=item.line, reason=escape(item.reason)))
        _more(len(report.invalid))
    if report.warnings:
        say(_("[yellow]avertissements (ligne importée, détail écarté)[/]"))
        for item in report.warnings[:SHOWN]:
            say(_("  ligne {line} : {reason}").format(line=item.line, reason=escape(item.reason)))
        _more(len(report.warnings))
    if report.updated:
        verb = "seraient mis à jour" if report.dry_run else "mis à jour"
        say(f"[cyan]contacts déjà enregistrés {verb}[/]")
        for upd in report.updated[:SHOWN]:
            changed = ", ".join(f"{k}: {escape(str(old))} → {escape(str(new))}"
                                for k, (old, new) in upd.changes.items())
            say(_("  ligne {line} : contact {id} : {changes}").format(line=upd.line, id=upd.contact_id,
                                                                      changes=changed))
        _more(len(report.updated))
    if report.duplicates:
        say(_("[yellow]doublons[/]"))
        for dup in report.duplicates[:SHOWN]:
            where = _("comme la ligne {line}").format(line=dup.first_line) if dup.first_line is not None \
                else _("déjà enregistré (contact {id})").format(id=dup.contact_id)
            say(_("  ligne {line} : {phone} {where}").format(line=dup.line, phone=dup.phone, where=where))
        _more(len(report.duplicates))
    if report.empty:
        shown = ", ".join(str(n) for n in report.empty[:SHOWN])
        more = _(" …et {n} de plus").format(n=len(report.empty) - SHOWN) if len(report.empty) > SHOWN else ""
        say(_("lignes vides : {lines}").format(lines=shown) + more)


def _more(total: int) -> None:
    if total > SHOWN:
        console.print(_("  …et {n} de plus").format(n=total - SHOWN), highlight=False)


@contacts_app.command("forget")
def forget_contact(
    phone: str = typer.Argument(..., metavar="NUMÉRO", help="le numéro de la personne (E.164 ou national)"),
    recordings_dir: Path = typer.Option(None, "--recordings-dir", help="où Asterisk range les enregistrements "
                                        "(par défaut : MINIBOT_RECORDINGS_DIR)"),
    as_json: bool = typer.Option(False, "--json", help="un objet JSON sur la sortie standard"),
) -> None:
    """Droit à l'effacement : supprime le contact, ses appels, transcriptions et enregistrements, ses
    consentements ; garde seulement l'opposition (pour ne plus l'appeler). Code de sortie 1 si un
    enregistrement n'a pas pu être supprimé (rien n'est alors effacé)."""
    from bot.config import Settings
    from bot.contacts.phones import InvalidPhone, to_e164
    from bot.store.erasure import forget

    try:
        number = to_e164(phone)
    except InvalidPhone as exc:
        fail(_("numéro : {error}").format(error=exc), 2, as_json)
    folder = recordings_dir or Settings().recordings_dir
    report = with_db(lambda db: forget(db.pool, number, recordings_dir=folder), as_json)
    if report.failed:
        fail("effacement interrompu, rien n'a été supprimé: " + "; ".join(report.failed), 1, as_json)
    if as_json:
        emit(report.to_json())
        return
    console.print(f"{number} effacé: {report.contacts} contact(s), {report.calls} appel(s), "
                  f"{report.recordings_deleted} fichier(s) d'enregistrement, {report.consents} consentement(s), "
                  f"{report.decisions} décision(s); opposition conservée"
                  + (" (ajoutée)" if report.opt_out_added else f" ({report.opt_outs_kept})"), highlight=False)
