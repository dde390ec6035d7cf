"""`minibot campaign export ID --format csv|xlsx [--out FILE]`: a campaign's calls as a spreadsheet.

Thin: check the options, call `bot.campaign.export`, print where the file went and how many calls
it holds. Exit codes: 0 written, 1 the file or the database failed, 2 bad arguments (format,
unknown campaign). The file holds full phone numbers: it is the operator's own data.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from bot.campaign.export import FORMATS, ExportSummary, export_campaign
from bot.config import Settings
from bot.i18n import _
from bot.store import Database

from .common import emit, fail, with_db

console = Console()


def export(
    campaign_id: int = typer.Argument(..., metavar="ID", help="l'identifiant de la campagne"),
    format: str = typer.Option("csv", "--format", metavar="csv|xlsx", help="csv ou xlsx"),
    out: Path = typer.Option(None, "--out", metavar="FICHIER",
                             help="le fichier à écrire (par défaut : campaign-<ID>.<format> ici)"),
    as_json: bool = typer.Option(False, "--json", help='afficher {"path", "rows"} en un objet JSON'),
) -> None:
    """Exporter les appels d'une campagne (contact, issue, résultat, étapes, durées, objections, transcription,
    enregistrement, et les colonnes du fichier de contacts) en CSV pour Excel français (UTF-8 BOM, ;, virgule
    décimale) ou en XLSX ; colonnes en français (MINIBOT_LANGUAGE=en : en anglais)."""
    fmt = format.lower()
    if fmt not in FORMATS:
        fail(_("--format : {value!r} n'est pas l'un de {formats}").format(value=format, formats=", ".join(FORMATS)),
             2, as_json)
    target = out if out is not None else Path.cwd() / f"campaign-{campaign_id}.{fmt}"
    if target.is_dir():
        fail(_("--out : {target} est un dossier ; donner un nom de fichier").format(target=target), 2, as_json)

    async def work(db: Database) -> ExportSummary:
        return await export_campaign(db.pool, campaign_id, fmt, target,  # type: ignore[arg-type]
                                     recordings_dir=Settings().recordings_dir)

    try:
        summary = with_db(work, as_json)
    except LookupError as exc:  # no such campaign
        fail(str(exc), 2, as_json)
    except OSError as exc:
        fail(_("impossible d'écrire {target} : {error}").format(target=target, error=exc.strerror or exc)
             if exc.filename else _("échec de l'export : {error}").format(error=exc), 1, as_json)
    if as_json:
        emit({"path": str(summary.path), "rows": summary.rows})
    else:
        console.print(f"écrit {escape(str(summary.path))} : {summary.rows} appel(s)", highlight=False, soft_wrap=True)
