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
from bot.store import Database

from .common import emit, fail, with_db

contacts_app = typer.Typer(help="Contacts : importer, lister, afficher, corriger les personnes à appeler.",
                           no_args_is_help=True)
console = Console()

SHOWN = 20  # lines listed per kind of problem in the human summary


@contacts_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="a CSV (; , or tab), XLSX or JSON file of contacts"),
    campaign: int = typer.Option(None, "--campaign", help="also enrol the contacts in this campaign"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check and report only; write nothing"),
    as_json: bool = typer.Option(False, "--json", help="print the report as one JSON object"),
    map_: list[str] = typer.Option([], "--map", help=f"COLUMN=field, repeatable, e.g. --map 'Tel fixe=phone'; "
                                                     f"field is one of {', '.join(TARGETS)}"),
    region: str = typer.Option("FR", "--region", help="country of numbers written without +country code"),
) -> None:
    """Import a contact file, optionally into a campaign; all or nothing.

    Phones become E.164; duplicates (within the file and against stored contacts), invalid rows and
    empty rows are reported with their line numbers (header = line 1)."""
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

    say(f"[bold]{escape(report.file)}[/]: {report.rows} rows ({report.format}, {escape(checked.detail)})")
    done = f"[green]{report.imported} valid[/] (dry run: nothing written)" if report.dry_run \
        else f"[green]{report.imported} imported[/]"
    say(f"{done}, {len(report.duplicates)} duplicates, {len(report.invalid)} invalid, {len(report.empty)} empty")
    if report.campaign_id is not None:
        verb = "would be enrolled" if report.dry_run else "enrolled"
        say(f"{report.enrolled} {verb} in campaign {report.campaign_id}")
    say("columns: " + ", ".join(f"{escape(h)} → {f}" for h, f in report.columns.items()))
    if report.invalid:
        say("[red]invalid rows[/]")
        for item in report.invalid[:SHOWN]:
            say(f"  line {item.line}: {escape(item.reason)}")
        _more(len(report.invalid))
    if report.warnings:
        say("[yellow]avertissements (ligne importée, détail écarté)[/]")
        for item in report.warnings[:SHOWN]:
            say(f"  line {item.line}: {escape(item.reason)}")
        _more(len(report.warnings))
    if report.updated:
        verb = "seraient mis à jour" if report.dry_run else "mis à jour"
        say(f"[cyan]contacts déjà enregistrés {verb}[/]")
        for upd in report.updated[:SHOWN]:
            changed = ", ".join(f"{k}: {escape(str(old))} → {escape(str(new))}"
                                for k, (old, new) in upd.changes.items())
            say(f"  line {upd.line}: contact {upd.contact_id}: {changed}")
        _more(len(report.updated))
    if report.duplicates:
        say("[yellow]duplicates[/]")
        for dup in report.duplicates[:SHOWN]:
            where = f"same as line {dup.first_line}" if dup.first_line is not None \
                else f"already stored (contact {dup.contact_id})"
            say(f"  line {dup.line}: {dup.phone} {where}")
        _more(len(report.duplicates))
    if report.empty:
        shown = ", ".join(str(n) for n in report.empty[:SHOWN])
        say(f"empty lines: {shown}" + (f" …and {len(report.empty) - SHOWN} more" if len(report.empty) > SHOWN else ""))


def _more(total: int) -> None:
    if total > SHOWN:
        console.print(f"  …and {total - SHOWN} more", highlight=False)


@contacts_app.command("forget")
def forget_contact(
    phone: str = typer.Argument(..., help="le numéro de la personne (E.164 ou national)"),
    recordings_dir: Path = typer.Option(None, "--recordings-dir", help="where Asterisk saves recordings "
                                        "(default: MINIBOT_RECORDINGS_DIR)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object on stdout"),
) -> None:
    """Droit à l'effacement: supprime le contact, ses appels, transcriptions et enregistrements, ses
    consentements; garde seulement l'opposition (pour ne plus l'appeler). Exit 1 if a recording could not
    be deleted (nothing was erased then)."""
    from bot.config import Settings
    from bot.contacts.phones import InvalidPhone, to_e164
    from bot.store.erasure import forget

    try:
        number = to_e164(phone)
    except InvalidPhone as exc:
        fail(f"phone: {exc}", 2, as_json)
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
