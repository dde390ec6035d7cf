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

from bot.campaign.live import live_view
from bot.config import Settings
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
    return "—" if rate is None else f"{rate:.0%}"


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
        table.add_row(Text(label, style=style), str(n), f"{n / total:.0%}" if total else "",
                      Text(bar, style=style or "blue"))
    if not counts:
        table.add_row(Text("none yet", style="dim"))
    return table


def _width(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} d"
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _sparkline(view: dict[str, Any]) -> Text:
    """Calls placed per bucket, the terminal's version of the dashboard's chart."""
    sizes = [sum(v for k, v in bucket.items() if k != "at") for bucket in view["timeline"]][-60:]
    if not sizes:
        return Text("")
    top = max(sizes) or 1
    line = "".join(" " if n == 0 else _SPARKS[min(len(_SPARKS) - 1, (n * len(_SPARKS) - 1) // top)] for n in sizes)
    return Text.assemble((f"calls per {_width(view['bucket_minutes'])} ", "dim"), (line, "cyan"),
                         (f"  max {top}", "dim"))


def render(view: dict[str, Any]) -> RenderableType:
    """One frame of the monitor from a live_view dict."""
    campaign, totals, rates = view["campaign"], view["totals"], view["rates"]
    lat, waiting = view["latencies"], view["waiting"]
    contacts = ", ".join(f"{n} {status.lower().replace('_', ' ')}"
                         for status, n in sorted(totals["contacts_by_status"].items()))
    at = datetime.fromisoformat(view["at"]).astimezone().strftime("%H:%M:%S")
    header = Text.assemble(
        (f"campaign {campaign['id']} ", "bold"), f"{campaign['name']} ({campaign['scenario']}) ",
        (campaign["status"], "bold cyan" if campaign["status"] == "RUNNING" else "bold yellow"),
        (f"  {campaign['pause_reason']}" if campaign.get("pause_reason") else "", "bold red"),
        f"\ncontacts {totals['contacts']}" + (f": {contacts}" if contacts else ""),
        f"\ncalls {totals['calls']}: {totals['active']} active, {totals['ended']} ended, "
        f"{totals['answered']} answered", (f"   at {at}", "dim"))

    active = Table("call", "phone", "state", "since", "talking", "worker", title=f"active calls ({totals['active']})",
                   title_justify="left", box=None, padding=(0, 1))
    for call in view["active_calls"]:
        active.add_row(str(call["id"]), call["phone"],
                       Text(call["state"], style="green" if call["state"] == "talking" else "yellow"),
                       _duration(call["seconds"]), _duration(call["talking_seconds"]), escape(call["worker"] or ""))
    if not view["active_calls"]:
        active.add_row(Text("none", style="dim"))

    figures = Table(show_header=False, box=None, padding=(0, 1))
    figures.add_row("answer rate", _pct(rates["answer"]), "answer → first audio p50/p95",
                    f"{_ms(lat['answer_to_first_audio_p50_ms'])} / {_ms(lat['answer_to_first_audio_p95_ms'])}")
    figures.add_row("qualified rate", _pct(rates["qualified"]), "turn latency p50/p95",
                    f"{_ms(lat['turn_p50_ms'])} / {_ms(lat['turn_p95_ms'])}")
    figures.add_row("opt-out rate", _pct(rates["opt_out"]), "attempts due now", str(waiting["due_now"]))
    next_due = (datetime.fromisoformat(waiting["next_due_at"]).astimezone().strftime("%d/%m %H:%M")
                if waiting["next_due_at"] else "")
    figures.add_row("machine rate", _pct(rates["machine"]), "attempts later",
                    f"{waiting['later']}" + (f" (next {next_due})" if next_due else ""))

    counts = Table.grid(padding=(0, 4))
    counts.add_row(_counts_table("outcomes", totals["outcomes"]), _counts_table("results", totals["results"]))
    return Panel(Group(header, Text(""), active, Text(""), counts, Text(""), figures, Text(""), _sparkline(view)),
                 title="minibot campaign monitor", title_align="left")


def monitor(
    campaign_id: int = typer.Argument(..., metavar="ID"),
    interval: float = typer.Option(2.0, "--interval", min=0.2, help="seconds between refreshes"),
    once: bool = typer.Option(False, "--once", help="print one frame and exit"),
) -> None:
    """Watch a campaign live: active calls, outcomes, rates, latencies, attempts waiting (Ctrl-C exits)."""
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
        fail(f"database: {exc}", 1)
