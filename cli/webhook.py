"""`minibot webhook`: a campaign's CRM link (post-call events, pre-call lookup) and the delivery of its
events (bot.integrations)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from bot.i18n import _
from bot.integrations import outbox
from bot.store import Database
from bot.store.campaigns import get_campaign

from .common import JSON_OPTION, emit, fail, with_db

webhook_app = typer.Typer(help="Webhooks vers le CRM : un événement signé par appel, et la consultation avant l'appel.",
                          no_args_is_help=True)
console = Console()
STATUS_FR = {"PENDING": "en attente", "DELIVERED": "livré", "FAILED": "en échec"}
CAMPAIGN = typer.Argument(..., metavar="CAMPAGNE", help="l'identifiant de la campagne")


def _counts(counts: dict[str, int]) -> str:
    # "2 livrés" but "2 en attente", "2 en échec": only the participle agrees
    return ", ".join(f"{n} {_(STATUS_FR[s] + ('s' if n > 1 and s == 'DELIVERED' else ''))}" for s, n in counts.items())


@webhook_app.command("set")
def set_(
    campaign_id: int = CAMPAIGN,
    url: str = typer.Option(None, "--url", metavar="ADRESSE", help="où envoyer l'événement de chaque appel"),
    secret: str = typer.Option(None, "--secret", metavar="SECRET",
                               help="la clé partagée (HMAC-SHA256) ; absente : l'actuelle, ou une nouvelle "
                                    "affichée une fois"),
    lookup_url: str = typer.Option(None, "--lookup-url", metavar="ADRESSE",
                                   help="interrogée avant chaque appel pour des variables en plus"),
    lookup_timeout: float = typer.Option(2.0, "--lookup-timeout", metavar="SECONDES",
                                         help="délai de la consultation avant l'appel"),
    lookup_required: bool = typer.Option(False, "--lookup-required",
                                         help="ne pas appeler tant que la consultation échoue"),
    max_attempts: int = typer.Option(15, "--max-attempts", metavar="N", min=1,
                                     help="essais d'un événement avant de le marquer en échec"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Configurer le webhook d'une campagne."""
    async def work(db: Database):
        await get_campaign(db.pool, campaign_id)
        return await outbox.set_webhook(db.pool, campaign_id, url=url, secret=secret, lookup_url=lookup_url,
                                        lookup_timeout_s=lookup_timeout, lookup_required=lookup_required,
                                        max_attempts=max_attempts)
    try:
        hook, generated = with_db(work, as_json)
    except (ValueError, LookupError) as exc:
        fail(str(exc).strip("'\""), 2, as_json)
    if as_json:
        emit({"webhook": hook.to_json(), "secret": generated})
        return
    console.print(_("Webhook de la campagne {id} enregistré.").format(id=campaign_id))
    if generated:
        console.print(_("Secret partagé (affiché une seule fois, à donner au CRM) :"))
        console.print(generated, highlight=False, soft_wrap=True)


@webhook_app.command("show")
def show(campaign_id: int = CAMPAIGN, as_json: bool = JSON_OPTION) -> None:
    """Afficher le webhook d'une campagne et l'état de ses envois."""
    async def work(db: Database):
        await get_campaign(db.pool, campaign_id)
        return await outbox.get_webhook(db.pool, campaign_id), await outbox.outbox_counts(db.pool, campaign_id)
    try:
        hook, counts = with_db(work, as_json)
    except LookupError as exc:
        fail(str(exc).strip("'\""), 2, as_json)
    if as_json:
        emit({"webhook": hook.to_json() if hook else None, "events": counts})
        return
    if hook is None:
        console.print(_("La campagne {id} n'a pas de webhook.").format(id=campaign_id))
    else:
        console.print(_("Adresse : {url}").format(url=hook.url or "—"))
        console.print(_("Consultation avant l'appel : {url}").format(url=hook.lookup_url or "—")
                      + (f" ({hook.lookup_timeout_s:g} s, "
                         f"{_('bloquante') if hook.lookup_required else _('non bloquante')})"
                         if hook.lookup_url else ""))
        console.print(_("Essais par événement : {n}").format(n=hook.max_attempts))
    console.print(_("Événements : {counts}").format(counts=_counts(counts)))


@webhook_app.command("events")
def events(
    campaign_id: int = typer.Option(None, "--campaign", metavar="CAMPAGNE", help="une campagne seulement"),
    status: str = typer.Option(None, "--status", metavar="ÉTAT", help="PENDING, DELIVERED ou FAILED"),
    limit: int = typer.Option(50, "--limit", metavar="N", min=1, help="nombre d'événements affichés"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Lister les derniers événements envoyés ou à envoyer."""
    if status is not None and status.upper() not in outbox.STATUSES:
        fail(_("--status : PENDING, DELIVERED ou FAILED, pas {status!r}").format(status=status), 2, as_json)

    async def work(db: Database):
        return await outbox.list_events(db.pool, campaign_id=campaign_id, status=status and status.upper(),
                                        limit=limit)
    rows = with_db(work, as_json)
    if as_json:
        emit({"events": rows})
        return
    if not rows:
        console.print(_("Aucun événement."))
        return
    table = Table(_("événement"), _("appel"), _("état"), _("essais"), _("dernière erreur"))
    for r in rows:
        table.add_row(r["event_id"][:8], r["call_uuid"] or "—", STATUS_FR[r["status"]], str(r["attempts"]),
                      r["last_error"] or "")
    console.print(table)


@webhook_app.command("resend")
def resend(campaign_id: int = CAMPAIGN, as_json: bool = JSON_OPTION) -> None:
    """Renvoyer les événements en échec d'une campagne (mêmes identifiants d'événement)."""
    async def work(db: Database):
        await get_campaign(db.pool, campaign_id)
        return await outbox.requeue(db.pool, campaign_id=campaign_id)
    try:
        n = with_db(work, as_json)
    except LookupError as exc:
        fail(str(exc).strip("'\""), 2, as_json)
    if as_json:
        emit({"requeued": n})
    else:
        console.print(_("{n} événement(s) remis en attente d'envoi.").format(n=n))


@webhook_app.command("remove")
def remove(campaign_id: int = CAMPAIGN, as_json: bool = JSON_OPTION) -> None:
    """Supprimer le webhook d'une campagne (les événements déjà en file partent quand même)."""
    removed = with_db(lambda db: outbox.remove_webhook(db.pool, campaign_id), as_json)
    if not removed:
        fail(_("la campagne {id} n'a pas de webhook").format(id=campaign_id), 2, as_json)
    if as_json:
        emit({"removed": True})
    else:
        console.print(_("Webhook de la campagne {id} supprimé.").format(id=campaign_id))
