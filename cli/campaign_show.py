"""`minibot campaign show ID`: everything about one campaign on one screen: its settings, the scenario
and its version (the file's sha256), the legal basis if the campaign states one, the caller ID and
what the ARCEP rules say of it, the webhook, and the counts. Registered by cli/main.py."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from bot.campaign.summary import word
from bot.config import Settings
from bot.i18n import _, format_datetime
from bot.store import Database

from .common import JSON_OPTION, emit, fail, with_db

console = Console()


def scenario_version(name: str) -> dict[str, Any]:
    from bot.dialog.brain import scenario_path

    path = scenario_path(name)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError as exc:
        return {"path": str(path), "version": None, "error": exc.strerror or str(exc)}
    return {"path": str(path), "version": digest}


def show(campaign_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON_OPTION) -> None:
    """Afficher une campagne : réglages, scénario et sa version, base légale, numéro présenté, webhook, compteurs."""
    from bot.campaign.live import campaign_timezone
    from bot.integrations.outbox import get_webhook, outbox_counts
    from bot.ops.doctor import check_caller_id
    from bot.store.campaigns import campaign_stats, get_campaign

    settings = Settings()

    async def work(db: Database):
        campaign = await get_campaign(db.pool, campaign_id)
        hook = await get_webhook(db.pool, campaign_id)
        in_use = await db.pool.fetchval("SELECT scenario_version FROM campaigns WHERE id = $1", campaign_id)
        return (campaign, await campaign_stats(db.pool, campaign_id), hook, await outbox_counts(db.pool, campaign_id),
                in_use)

    try:
        campaign, stats, hook, events, in_use = with_db(work, as_json)
    except LookupError as exc:
        fail(str(exc).strip("'\""), 2, as_json)
    caller_id = campaign.caller_id or campaign.variables.get("caller_id") or settings.dial.caller_id
    caller = check_caller_id(caller_id)
    # The version calls run (stored at the start, `campaign reload-scenario` to change it) and the file's.
    out = {"campaign": campaign.to_json(), "scenario": {**scenario_version(campaign.scenario), "in_use": in_use},
           "legal_basis": campaign.legal_basis or campaign.compliance.get("legal_basis"), "caller_id": caller_id,
           "caller_id_check": caller.to_json(), "timezone": campaign_timezone(json.dumps(campaign.compliance)),
           "webhook": hook.to_json() if hook else None, "webhook_events": events, "stats": stats}
    if as_json:
        emit(out)
        return
    tz = out["timezone"]
    say = lambda label, value: console.print(f"[bold]{_(label)}[/] : {escape(str(value))}", highlight=False)  # noqa: E731
    say("Campagne", f"{campaign.id} « {campaign.name} », {word(campaign.status.value)}")
    scen = out["scenario"]
    say("Scénario", _("{name} (version en cours {in_use} ; fichier {version}, {path})").format(
        name=campaign.scenario, in_use=scen["in_use"] or _("aucune, non démarrée"),
        version=scen["version"] or _("introuvable"), path=scen["path"]))
    say("Base légale", out["legal_basis"] or _("non précisée"))
    say("Numéro présenté", f"{caller_id or _('aucun')} — {caller.detail}")
    say("Fuseau horaire", tz)
    say("Appels simultanés / par seconde", f"{campaign.max_concurrent_calls} / {campaign.calls_per_second:g}")
    if campaign.variables:
        say("Variables", ", ".join(f"{k}={v}" for k, v in campaign.variables.items()))
    if campaign.retry_policy:
        say("Relances (surcharges)", campaign.retry_policy)
    if campaign.compliance:
        say("Règles (surcharges)", campaign.compliance)
    say("Créée le", format_datetime(campaign.created_at, tz))
    if campaign.started_at:
        say("Démarrée le", format_datetime(campaign.started_at, tz))
    if campaign.finished_at:
        say("Terminée le", format_datetime(campaign.finished_at, tz))
    say("Webhook", _("{url} ({delivered} livrés, {pending} en attente, {failed} en échec)").format(
        url=hook.url or "—", delivered=events["DELIVERED"], pending=events["PENDING"], failed=events["FAILED"])
        if hook else _("aucun"))
    from .monitor import CONTACT_STATUS

    contacts = ", ".join(f"{n} {CONTACT_STATUS.get(k, k.lower())}"
                         for k, n in stats["contacts_by_status"].items()) or _("aucun")
    say("Contacts", f"{stats['contacts']} ({contacts})")
    say("Appels", _("{calls}, dont {answered} décrochés").format(calls=stats["calls"], answered=stats["answered"]))
    if stats["results"]:
        say("Résultats", ", ".join(f"{word(k)} {n}" for k, n in stats["results"].items()))
