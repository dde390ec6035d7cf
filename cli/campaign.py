"""`minibot campaign`: create campaigns, move them through their lifecycle, see their figures,
run a dialer worker, export their calls.

Exit codes: 0 fine, 1 refused (wrong status, not ready) or failed, 2 bad arguments (unknown campaign too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from bot.call.readiness import StartupError
from bot.campaign import control
from bot.campaign.lifecycle import TransitionError
from bot.campaign.summary import stats_table
from bot.config import Settings
from bot.i18n import _, format_datetime, format_decimal
from bot.store import Database, DatabaseError
from bot.store.campaigns import Campaign, campaign_stats, get_campaign, list_campaigns

from .campaign_export import export
from .common import JSON_OPTION, emit, err, fail, with_db
from .monitor import monitor

STATUS_FR = {"DRAFT": "brouillon", "READY": "prête", "RUNNING": "en cours", "PAUSED": "en pause",
             "COMPLETED": "terminée", "CANCELLED": "arrêtée"}
campaign_app = typer.Typer(help="Campagnes : créer, démarrer, mettre en pause, reprendre, arrêter, suivre, exporter.",
                           no_args_is_help=True)
campaign_app.command("export")(export)
campaign_app.command("monitor")(monitor)
console = Console()


def _json_option(text: str | None, what: str) -> dict | None:
    """--compliance / --retry: inline JSON, or @file.json."""
    if not text:
        return None
    try:
        raw = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
        value = json.loads(raw)
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"--{what} : {exc}", 2)
    if not isinstance(value, dict):
        fail(_("--{what} : un objet JSON est attendu").format(what=what), 2)
    return value


@campaign_app.command("create")
def create(
    name: str = typer.Argument(..., metavar="NOM", help="un nom pour les personnes"),
    scenario: str = typer.Option(..., "--scenario", metavar="SCÉNARIO",
                                help="le nom d'un scénario livré, ou un fichier YAML de scénario"),
    max_concurrent: int = typer.Option(5, "--max-concurrent", min=1, metavar="N",
                                        help="appels simultanés de cette campagne"),
    cps: float = typer.Option(1.0, "--cps", min=0.01, metavar="NOMBRE", help="nouveaux appels par seconde, au plus"),
    var: list[str] = typer.Option([], "--var", metavar="NOM=VALEUR",
                                  help="une valeur que reçoit chaque appel (répétable)"),
    compliance: str = typer.Option(None, "--compliance", metavar="JSON",
                                   help='règles modifiées, en JSON ou @fichier, par ex. '
                                   '\'{"require_consent": true}\''),
    retry: str = typer.Option(None, "--retry", metavar="JSON",
                              help='relances modifiées, en JSON ou @fichier, par ex. '
                              '\'{"no_answer": {"delay_minutes": 60, "max_retries": 1}}\''),
    basis: str = typer.Option(None, "--basis", help="base légale (obligatoire): consent (consentement préalable), "
                              "contract (clients sous contrat), b2b (professionnels), not_prospecting (hors "
                              "démarchage)"),
    sector: str = typer.Option(None, "--sector", help="secteur (les secteurs interdits de démarchage sont refusés)"),
    advertiser: str = typer.Option(None, "--advertiser", help="l'entreprise pour qui l'on appelle (celle que "
                                   "nomment les consentements)"),
    purpose: str = typer.Option(None, "--purpose", help="la finalité des appels (celle que listent les "
                                "consentements)"),
    contract_subject: str = typer.Option(None, "--contract-subject", help="base contract: l'objet du contrat"),
    no_sales: bool = typer.Option(False, "--no-sales", help="base not_prospecting: aucun contenu commercial "
                                  "(déclaration de l'opérateur)"),
    caller_id: str = typer.Option(None, "--caller-id", help="numéro présenté (défaut: MINIBOT_DIAL__CALLER_ID); "
                                  "démarchage: tranches ARCEP 01 62, 01 63, 02 70...)"),
    legal_ground: str = typer.Option(None, "--legal-ground", help="le fondement légal de réglages qui assouplissent "
                                     "les règles françaises"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Créer une campagne (brouillon). Importer ses contacts avec `minibot contacts import FICHIER --campaign ID`."""
    variables = {}
    for item in var:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(_("--var {item!r} : nom=valeur attendu").format(item=item), 2, as_json)
        variables[key.strip()] = value
    settings = dict(max_concurrent_calls=max_concurrent, calls_per_second=cps, variables=variables,
                    compliance=_json_option(compliance, "compliance"), retry_policy=_json_option(retry, "retry"),
                    legal_basis=basis, sector=sector, advertiser=advertiser, purpose=purpose,
                    contract_subject=contract_subject, no_sales_declared=no_sales, caller_id=caller_id,
                    legal_ground=legal_ground)

    async def work(db: Database) -> Campaign:
        return await control.new_campaign(db, name, scenario, **settings)

    try:
        campaign = with_db(work, as_json)
    except control.CampaignNotReady as exc:
        fail(str(exc), 2, as_json)
    if as_json:
        emit(campaign.to_json())
    else:
        console.print(_("campagne [bold]{id}[/] créée ({status}), scénario {scenario}, base légale {basis}").format(
            id=campaign.id, status=_(STATUS_FR[campaign.status.value]), scenario=scenario, basis=campaign.legal_basis))


@campaign_app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """Lister les campagnes et leur état."""
    campaigns = with_db(lambda db: list_campaigns(db.pool), as_json)
    if as_json:
        emit({"campaigns": [c.to_json() for c in campaigns]})
        return
    table = Table("id", _("nom"), _("scénario"), _("état"), _("simultanés"), _("par seconde"), _("créée le"))
    for c in campaigns:
        table.add_row(str(c.id), c.name, c.scenario, _(STATUS_FR[c.status.value]), str(c.max_concurrent_calls),
                      format_decimal(c.calls_per_second), format_datetime(c.created_at)[:16])
    console.print(table)


def _lookup(work, campaign_id: int, as_json: bool):
    try:
        return with_db(work, as_json)
    except LookupError as exc:
        fail(str(exc).strip("'\""), 2, as_json)


@campaign_app.command("stats")
def stats(campaign_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON_OPTION) -> None:
    """Les chiffres d'une campagne : contacts par état, appels par issue et résultat, taux."""

    async def work(db: Database) -> tuple[Campaign, dict[str, Any]]:
        return await get_campaign(db.pool, campaign_id), await campaign_stats(db.pool, campaign_id)

    campaign, figures = _lookup(work, campaign_id, as_json)
    if as_json:
        emit({"campaign": campaign.to_json(), "stats": figures})
        return
    console.print(stats_table(campaign, figures))


def _lifecycle(action: str, campaign_id: int, as_json: bool) -> None:
    warnings: list[str] = []

    async def work(db: Database) -> Campaign:
        if action == "start":
            return await control.start(db, campaign_id, default_caller_id=Settings().dial.caller_id,
                                       warnings=warnings)
        return await control.act(db, campaign_id, action)

    try:
        campaign = _lookup(work, campaign_id, as_json)
    except (TransitionError, control.CampaignNotReady) as exc:
        fail(str(exc), 1, as_json)
    for warning in warnings:
        err.print(f"[yellow]{_('attention :')}[/] {warning}", highlight=False)
    if as_json:
        emit(campaign.to_json())
    else:
        console.print(_("campagne {id} : {status}").format(id=campaign.id, status=_(STATUS_FR[campaign.status.value])))


@campaign_app.command("start")
def start(campaign_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON_OPTION) -> None:
    """Démarrer : brouillon ou prête → en cours (un brouillon est vérifié d'abord). Les appels partent avec
    `minibot campaign run` ou `minibot serve`."""
    _lifecycle("start", campaign_id, as_json)


@campaign_app.command("pause")
def pause(campaign_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON_OPTION) -> None:
    """Mettre en pause : plus de nouvel appel ; ceux en cours se terminent."""
    _lifecycle("pause", campaign_id, as_json)


@campaign_app.command("resume")
def resume(campaign_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON_OPTION) -> None:
    """Reprendre une campagne en pause."""
    _lifecycle("resume", campaign_id, as_json)


@campaign_app.command("stop")
def stop(campaign_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON_OPTION) -> None:
    """Arrêter : les appels prévus sont abandonnés ; ceux en cours se terminent."""
    _lifecycle("stop", campaign_id, as_json)


@campaign_app.command("reload-scenario")
def reload_scenario(campaign_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON_OPTION) -> None:
    """Prendre la version actuelle du fichier de scénario. Une campagne démarrée garde le texte lu à son
    démarrage (modifier le fichier ne la change pas) jusqu'à cette commande ; les appels en cours finissent
    sur l'ancienne version."""

    async def work(db: Database) -> tuple[str | None, str]:
        return await control.reload_scenario(db, campaign_id)

    try:
        old, new = _lookup(work, campaign_id, as_json)
    except control.CampaignNotReady as exc:
        fail(str(exc), 1, as_json)
    if as_json:
        emit({"campaign_id": campaign_id, "old_version": old, "version": new})
    elif old == new:
        console.print(_("campagne {id} : scénario inchangé (version {version})").format(id=campaign_id, version=new))
    else:
        console.print(_("campagne {id} : scénario rechargé, version {old} → {new}").format(
            id=campaign_id, old=old or _("aucune"), new=new))


@campaign_app.command("run")
def run(
    campaign_ids: list[int] = typer.Argument(None, metavar="[ID]...",
                                             help="seulement ces campagnes (par défaut : toutes celles en cours)"),
    max_calls: int = typer.Option(10, "--max-calls", min=1, metavar="N", help="appels simultanés de ce worker"),
    until_done: bool = typer.Option(False, "--until-done",
                                    help="s'arrêter quand les campagnes sont terminées ou arrêtées"),
    drain: float = typer.Option(120.0, "--drain", metavar="SECONDES",
                                help="secondes laissées aux appels en cours après Ctrl-C"),
) -> None:
    """Lancer un worker d'appels sur l'Asterisk configuré (MINIBOT_ARI__URL...) : il prend les appels dus des
    campagnes en cours, vérifie les règles légales, appelle, enregistre chaque appel, et envoie les webhooks.
    Plusieurs workers sur plusieurs machines peuvent partager une base."""
    from bot.call.runtime import call_runtime
    from bot.campaign.conversations import CampaignConversations
    from bot.campaign.dialer import Dialer, DialerConfig
    from bot.integrations.delivery import run_delivery
    from bot.integrations.lookup import PreCallLookup
    from bot.voice.voice import voice_from_settings

    settings = Settings()
    voice = voice_from_settings(settings)

    async def main() -> int:
        async with await Database.open(settings.database_dsn, settings.data_dir) as db:
            for cid in campaign_ids or []:
                await get_campaign(db.pool, cid)
            lookup = PreCallLookup(db.pool)
            conversations = CampaignConversations(voice, settings.llm, agent_endpoint=settings.dial.agent_endpoint,
                                                  lookup=lookup)
            webhooks = asyncio.create_task(run_delivery(db.pool), name="webhooks")
            try:
                return await _dial_until_stopped(settings, db, conversations)
            finally:
                webhooks.cancel()
                await asyncio.gather(webhooks, return_exceptions=True)
                await lookup.aclose()

    async def _dial_until_stopped(settings, db, conversations) -> int:
        async with call_runtime(settings) as controller:
            dialer = Dialer(db, controller.place_call, conversations,
                            DialerConfig(max_calls=max_calls, campaign_ids=campaign_ids or None,
                                         caller_id=settings.dial.caller_id),
                            ready=lambda: controller.ready, clean_up=controller.remove_leftovers)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, dialer.stop)
            worker = asyncio.create_task(dialer.run())
            console.print(_("worker {id} lancé (Ctrl-C arrête les nouveaux appels, puis laisse finir ceux en "
                            "cours)").format(id=dialer.config.worker_id))
            said: dict[int, str] = {}
            while not worker.done():
                await asyncio.wait({worker}, timeout=2)
                if until_done and campaign_ids and await _all_closed(db, campaign_ids):
                    dialer.stop()
                await _say_why_waiting(db, campaign_ids, said, until_done)
            await dialer.drain(drain)
            await conversations.aclose()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            console.print(_("worker arrêté après {n} appel(s)").format(n=dialer.dialled))
        return 0

    try:
        raise typer.Exit(asyncio.run(main()))
    except LookupError as exc:
        fail(str(exc).strip("'\""), 2)
    except DatabaseError as exc:
        fail(str(exc), 1)
    except StartupError as exc:
        fail(str(exc), 1)
    except (TimeoutError, OSError) as exc:
        fail(_("Asterisk injoignable à {url} : {error}").format(
            url=settings.ari.url, error=exc or _("pas de flux d'événements ARI")), 1)


async def _say_why_waiting(db: Database, campaign_ids: list[int] | None, said: dict[int, str],
                           until_done: bool) -> None:
    """When a campaign places no call, say why once (and again when the reason changes): the next
    legal slot in its time zone, or calls due that no dialer takes."""
    from bot.campaign.live import explain_waiting, live_view

    ids = campaign_ids or [c.id for c in await list_campaigns(db.pool) if c.status.value == "RUNNING"]
    for cid in ids:
        try:
            why = explain_waiting(await live_view(db.pool, cid), dialer_running=True)
        except LookupError:
            continue
        if why and said.get(cid) != why:
            prefix = _("--until-done attend : ") if until_done else ""
            console.print(_("campagne {id} : ").format(id=cid) + prefix + why, highlight=False, soft_wrap=True)
        said[cid] = why or ""


async def _all_closed(db: Database, campaign_ids: list[int]) -> bool:
    statuses = {(await get_campaign(db.pool, cid)).status.value for cid in campaign_ids}
    return statuses <= {"COMPLETED", "CANCELLED"}
