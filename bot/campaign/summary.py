"""A campaign's figures as a rich table (the CLI's `campaign stats` and the demo's last word)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..store.campaigns import Campaign


def stats_table(campaign: Campaign, figures: dict[str, Any]) -> Table:
    table = Table(title=f"campaign {campaign.id} · {campaign.name} ({campaign.scenario}) · {campaign.status.value}",
                  title_justify="left", show_header=False)
    table.add_column(style="cyan")
    table.add_column(justify="right")
    table.add_row("contacts", str(figures["contacts"]))
    for status, n in sorted(figures["contacts_by_status"].items()):
        table.add_row(f"  {status.lower()}", str(n))
    table.add_row("calls", str(figures["calls"]))
    for outcome, n in sorted(figures["calls_by_outcome"].items()):
        table.add_row(f"  {outcome}", str(n))
    if figures["results"]:
        table.add_row("results", "")
        for result, n in sorted(figures["results"].items()):
            table.add_row(f"  {result}", str(n))
    waiting = figures["attempts_by_status"].get("SCHEDULED", 0)
    table.add_row("attempts still to make (retries, callbacks)", str(waiting))
    if figures["answer_rate"] is not None:
        table.add_row("answer rate", f"{figures['answer_rate']:.0%}")
    if figures["avg_duration_s"] is not None:
        table.add_row("average answered call", f"{figures['avg_duration_s']:.1f} s")
    if figures["answer_to_first_audio_p95_ms"] is not None:
        table.add_row("answer → first bot audio, p95", f"{figures['answer_to_first_audio_p95_ms']} ms")
    return table
