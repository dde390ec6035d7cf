"""A campaign's figures as a rich table (the CLI's `campaign stats` and the demo's last word), in the
reader's language: labels through the catalogue, codes (busy, QUALIFIED...) as the export's words."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..i18n import _, current_language, format_decimal, format_percent
from ..store.campaigns import Campaign

# The contacts' states in a campaign, and the campaign's own (the export's words cover the calls').
STATES_FR = {"PENDING": "à appeler", "IN_PROGRESS": "en cours", "DONE": "terminés", "EXCLUDED": "exclus",
             "DRAFT": "brouillon", "READY": "prête", "RUNNING": "en cours", "PAUSED": "en pause",
             "COMPLETED": "terminée", "CANCELLED": "arrêtée"}


def word(code: str) -> str:
    """A code as French Excel users read it (bot.campaign.export's words); the code itself in English."""
    from .export import WORDS_FR

    if current_language() != "fr":
        return code
    return WORDS_FR.get(code) or STATES_FR.get(code) or code


def stats_table(campaign: Campaign, figures: dict[str, Any]) -> Table:
    table = Table(title=_("campagne {id} · {name} ({scenario}) · {status}").format(
                      id=campaign.id, name=campaign.name, scenario=campaign.scenario,
                      status=word(campaign.status.value)),
                  title_justify="left", show_header=False)
    table.add_column(style="cyan")
    table.add_column(justify="right")
    table.add_row(_("contacts"), str(figures["contacts"]))
    for status, n in sorted(figures["contacts_by_status"].items()):
        table.add_row(f"  {word(status)}", str(n))
    table.add_row(_("appels"), str(figures["calls"]))
    for outcome, n in sorted(figures["calls_by_outcome"].items()):
        table.add_row(f"  {word(outcome)}", str(n))
    if figures["results"]:
        table.add_row(_("résultats"), "")
        for result, n in sorted(figures["results"].items()):
            table.add_row(f"  {word(result)}", str(n))
    waiting = figures["attempts_by_status"].get("SCHEDULED", 0)
    table.add_row(_("appels encore à passer (relances, rappels)"), str(waiting))
    if figures["answer_rate"] is not None:
        table.add_row(_("taux de décroché"), format_percent(figures["answer_rate"]))
    if figures["avg_duration_s"] is not None:
        table.add_row(_("durée moyenne d'un appel décroché"),
                      f"{format_decimal(round(figures['avg_duration_s'], 1))} s")
    if figures["answer_to_first_audio_p95_ms"] is not None:
        table.add_row(_("décroché → première phrase, p95"), f"{figures['answer_to_first_audio_p95_ms']} ms")
    return table
