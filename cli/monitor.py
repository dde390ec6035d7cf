"""`minibot campaign monitor ID`: the campaign's live view in the terminal (bot.campaign.live), redrawn
every few seconds until Ctrl-C; `--once` prints one frame, for scripts and tests.

Registered by cli/campaign.py as `campaign_app.command("monitor")(monitor)`.
Exit codes: 0 fine (Ctrl-C included), 1 database failure, 2 unknown campaign or bad arguments.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg
import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.campaign.live import explain_waiting, live_view
from bot.config import Settings
from bot.i18n import _, format_percent, format_time, zone
from bot.store import Database, DatabaseError
from bot.store.embedded import EmbeddedUnavailable
from bot.store.migrate import MigrationError

from .common import fail

console = Console()

_SPARKS = "▁▂▃▄▅▆▇█"
_BAR_WIDTH = 16
# Colours for the labels an operator reads first; others are plain.
_STYLES = {"answered": "green", "QUALIFIED": "bold green", "APPOINTMENT_SCHEDULED": "bold green",
           "OPTED_OUT": "red", "busy": "yellow", "no_answer": "yellow", "ANSWERING_MACHINE": "magenta",
           "failed": "red", "interrupted": "red", "in_progress": "cyan"}


def _pct(rate: float | None) -> str:
    return format_percent(rate)


def _ms(value: int | None) -> str:
    return "—" if value is None else f"{value} ms"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}"


def _counts_table(title: str, counts: dict[str, int]) -> Table:
    """Label, count, share and a bar scaled to the largest count."""
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    table.add_column(justify="right")
    table.add_column(no_wrap=True, overflow="crop")
    total = sum(counts.values())
    top = max(counts.values(), default=0)
    for label, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        bar = "█" * max(1, round(_BAR_WIDTH * n / top)) if n else ""
        style = _STYLES.get(label, "")
        table.add_row(Text(label, style=style), str(n), format_percent(n / total) if total else "",
                      Text(bar, style=style or "blue"))
    if not counts:
        table.add_row(Text(_("aucun pour l'instant"), style="dim"))
    return table


def _width(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} j"
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _sparkline(view: dict[str, Any]) -> Text:
    """Calls placed per bucket, the terminal's version of the dashboard's chart."""
    sizes = [sum(v for k, v in bucket.items() if k != "at") for bucket in view["timeline"]][-60:]
    if not sizes:
        return Text("")
    top = max(sizes) or 1
    line = "".join(" " if n == 0 else _SPARKS[min(len(_SPARKS) - 1, (n * len(_SPARKS) - 1) // top)] for n in sizes)
    return Text.assemble((_("appels par {width} ").format(width=_width(view["bucket_minutes"])), "dim"),
                         (line, "cyan"), (f"  max {top}", "dim"))


def render(view: dict[str, Any]) -> RenderableType:
    """One frame of the monitor from a live_view dict."""
    campaign, totals, rates = view["campaign"], view["totals"], view["rates"]
    lat, waiting = view["latencies"], view["waiting"]
    tz = campaign.get("timezone")
    contacts = ", ".join(f"{n} {_(CONTACT_STATUS.get(status, status))}"
                         for status, n in sorted(totals["contacts_by_status"].items()))
    at = format_time(datetime.fromisoformat(view["at"]), tz)
    status = campaign["status"]
    header = Text.assemble(
        (_("campagne {id} ").format(id=campaign["id"]), "bold"), f"{campaign['name']} ({campaign['scenario']}) ",
        (_(CAMPAIGN_STATUS.get(status, status)), "bold cyan" if status == "RUNNING" else "bold yellow"),
        (f"  {campaign['pause_reason']}" if campaign.get("pause_reason") else "", "bold red"),
        "\n" + _("contacts {n}").format(n=totals["contacts"]) + (f" : {contacts}" if contacts else ""),
        "\n" + _("appels {calls} : {active} en cours, {ended} terminés, {answered} décrochés").format(
            calls=totals["calls"], active=totals["active"], ended=totals["ended"], answered=totals["answered"]),
        (_("   à {at} ({tz})").format(at=at, tz=zone(tz).key), "dim"))
    why = explain_waiting(view)
    if why:
        header.append("\n" + why, style="bold yellow")

    active = Table(_("appel"), _("contact"), _("numéro"), _("état"), _("depuis"), _("en ligne"), _("worker"),
                   title=_("appels en cours ({n})").format(n=totals["active"]),
                   title_justify="left", box=None, padding=(0, 1))
    for call in view["active_calls"]:
        state = _("en ligne") if call["state"] == "talking" else _("sonne")
        active.add_row(str(call["id"]), escape(call.get("name") or ""), call["phone"],
                       Text(state, style="green" if call["state"] == "talking" else "yellow"),
                       _duration(call["seconds"]), _duration(call["talking_seconds"]), escape(call["worker"] or ""))
    if not view["active_calls"]:
        active.add_row(Text(_("aucun"), style="dim"))

    figures = Table(show_header=False, box=None, padding=(0, 1))
    figures.add_row(_("taux de décroché"), _pct(rates["answer"]), _("décroché → première phrase p50/p95"),
                    f"{_ms(lat['answer_to_first_audio_p50_ms'])} / {_ms(lat['answer_to_first_audio_p95_ms'])}")
    figures.add_row(_("taux de qualifiés"), _pct(rates["qualified"]), _("latence de réponse p50/p95"),
                    f"{_ms(lat['turn_p50_ms'])} / {_ms(lat['turn_p95_ms'])}")
    figures.add_row(_("taux d'opposition"), _pct(rates["opt_out"]), _("appels dus maintenant"),
                    str(waiting["due_now"]))
    next_due = (format_datetime_short(datetime.fromisoformat(waiting["next_due_at"]), tz)
                if waiting["next_due_at"] else "")
    figures.add_row(_("taux de répondeurs"), _pct(rates["machine"]), _("appels prévus plus tard"),
                    f"{waiting['later']}" + (_(" (prochain {when})").format(when=next_due) if next_due else ""))

    counts = Table.grid(padding=(0, 4))
    results = dict(totals["results"])
    if totals.get("answered_without_result"):
        results[_("sans résultat")] = totals["answered_without_result"]
    counts.add_row(_counts_table(_("issues (tous les appels)"), totals["outcomes"]),
                   _counts_table(_("résultats (appels décrochés)"), results))
    return Panel(Group(header, Text(""), active, Text(""), counts, Text(""), figures, Text(""), _sparkline(view)),
                 title=_("minibot : suivi de campagne"), title_align="left")


CAMPAIGN_STATUS = {"DRAFT": "BROUILLON", "READY": "PRÊTE", "RUNNING": "EN COURS", "PAUSED": "EN PAUSE",
                   "COMPLETED": "TERMINÉE", "CANCELLED": "ARRÊTÉE"}
CONTACT_STATUS = {"PENDING": "à appeler", "IN_PROGRESS": "en cours", "DONE": "terminés", "EXCLUDED": "exclus"}


def format_datetime_short(at: datetime, tz: str | None) -> str:
    return at.astimezone(zone(tz)).strftime("%d/%m %H:%M")


def monitor(
    campaign_id: int = typer.Argument(..., metavar="ID"),
    interval: float = typer.Option(2.0, "--interval", min=0.2, metavar="SECONDES",
                                   help="secondes entre deux rafraîchissements"),
    once: bool = typer.Option(False, "--once", help="afficher un seul état et sortir"),
) -> None:
    """Suivre une campagne en direct : appels en cours (qui, quel numéro), issues, résultats, taux, latences, et
    pourquoi rien ne part (Ctrl-C pour quitter)."""
    settings = Settings()

    async def main() -> None:
        async with await Database.open(settings.database_dsn, settings.data_dir) as db:
            view = await live_view(db.pool, campaign_id)  # an unknown campaign fails here, before the screen
            if once:
                console.print(render(view))
                return
            with Live(render(view), console=console, refresh_per_second=4, screen=False) as live:
                while True:
                    await asyncio.sleep(interval)
                    live.update(render(await live_view(db.pool, campaign_id)))

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except LookupError as exc:
        fail(str(exc).strip("'\""), 2)
    except (DatabaseError, MigrationError, EmbeddedUnavailable) as exc:
        fail(str(exc), 1)
    except asyncpg.PostgresError as exc:
        fail(_("base de données : {error}").format(error=exc), 1)
