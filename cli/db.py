"""`minibot db`: the database's schema and retention.

    minibot db migrate                          # apply what is missing (also done at every start)
    minibot db purge --older-than 30d --dry-run # what retention would remove
    minibot db purge --older-than 30d --json    # remove it; one JSON object

Thin: open the database (DATABASE_URL, or the embedded server), call `bot.store`, print.
Exit codes: 0 done, 1 the database failed or some recordings could not be deleted, 2 bad arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape

from bot.config import Settings
from bot.i18n import _, format_datetime, format_decimal
from bot.store import Database
from bot.store.retention import PurgeReport, parse_age, purge

from .common import JSON_OPTION, emit, fail, with_db

db_app = typer.Typer(help="La base de données : migrations du schéma et durée de conservation.", no_args_is_help=True)
console = Console()
PARIS = ZoneInfo("Europe/Paris")


@db_app.command()
def migrate(as_json: bool = JSON_OPTION) -> None:
    """Appliquer les migrations du schéma qui manquent à la base, et dire lesquelles (ou qu'elle est à jour)."""
    settings = Settings()
    # Where the data lives, shown without a password: the embedded server's folder, or the redacted URL.
    embedded = None if settings.database_dsn else f"embedded in {settings.data_dir / 'postgres'}"

    async def work(db: Database) -> dict[str, Any]:
        version = await db.pool.fetchval("SELECT max(version) FROM schema_migrations")
        return {"database": embedded or db.url, "applied": [f"{m.version:04d}_{m.name}" for m in db.migrated],
                "version": version}

    result = with_db(work, as_json)
    if as_json:
        emit(result)
        return
    console.print(_("base : {where}").format(where=escape(result['database'])), highlight=False, soft_wrap=True)
    for name in result["applied"]:
        console.print(_("[green]appliquée[/] {name}").format(name=escape(name)), highlight=False)
    if not result["applied"]:
        console.print(_("à jour (schéma version {version})").format(version=f"{result['version']:04d}"),
                      highlight=False)


@db_app.command("purge")
def purge_(
    older_than: str = typer.Option(..., "--older-than",
                                   metavar="DURÉE",
                                   help="âge au-delà duquel les appels sont purgés : 90min, 12h, 30d (jours), "
                                   "12w (semaines), 6mo (mois de 30 jours)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="dire ce qui serait supprimé ; ne rien changer"),
    recordings_dir: Path = typer.Option(
        None, "--recordings-dir",
        help="où Asterisk range les enregistrements (par défaut : MINIBOT_RECORDINGS_DIR, "
        "/var/spool/asterisk/recording)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Supprimer les enregistrements, transcriptions et mots horodatés des appels plus anciens que
    --older-than. Les lignes d'appel (statistiques), oppositions, liste noire, Bloctel et consentements
    restent."""
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        fail(f"--older-than : {exc}", 2, as_json)

    async def work(db: Database) -> PurgeReport:
        return await purge(db.pool, age, dry_run=dry_run, recordings_dir=recordings_dir or Settings().recordings_dir)

    report = with_db(work, as_json)
    if as_json:
        emit(report.to_json())
    else:
        _print_report(report, older_than)
    if report.failed:
        raise typer.Exit(1)


def _print_report(r: PurgeReport, older_than: str) -> None:
    cutoff = format_datetime(r.cutoff, str(PARIS))[:16]
    text = _("{calls} appel(s) terminé(s) avant le {cutoff} (plus de {age}) seraient purgés : {recordings} "
             "enregistrement(s) à supprimer ({size}), {missing} déjà absent(s), {events} mot(s) horodaté(s) à "
             "retirer") if r.dry_run else _(
             "{calls} appel(s) terminé(s) avant le {cutoff} (plus de {age}) purgés : {recordings} "
             "enregistrement(s) supprimé(s) ({size}), {missing} déjà absent(s), {events} mot(s) horodaté(s) "
             "retiré(s)")
    console.print(text.format(calls=r.calls_purged, cutoff=cutoff, age=escape(older_than),
                              recordings=r.recordings_deleted, size=_size(r.bytes_freed),
                              missing=r.recordings_missing, events=r.events_removed),
                  highlight=False, soft_wrap=True)
    for failure in r.failed:
        console.print(_("[yellow]non supprimé[/] {what} (l'appel est gardé pour la prochaine purge)").format(
            what=escape(failure)), highlight=False, soft_wrap=True)


def _size(n: int) -> str:
    for unit in ("octets", "ko", "Mo", "Go"):
        if n < 1000 or unit == "Go":
            return f"{n} {_(unit)}" if unit == "octets" else f"{format_decimal(round(n, 1))} {_(unit)}"
        n /= 1000
    return f"{n} {_('octets')}"  # pragma: no cover
