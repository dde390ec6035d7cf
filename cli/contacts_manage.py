"""`minibot contacts list | show | update`: find a contact, see their campaigns and calls, correct them.
Registered on `contacts_app` by cli/main.py (cli/contacts.py keeps the import)."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.campaign.summary import word
from bot.contacts.directory import ContactFilter, contact_detail, find_contact, list_contacts, update_contact
from bot.i18n import _, current_language, format_datetime
from bot.store import Database

from .common import JSON_OPTION, emit, fail, with_db

console = Console()
STATUS_FR = {"PENDING": "à appeler", "IN_PROGRESS": "en cours", "DONE": "terminé", "EXCLUDED": "exclu"}
OPT_OUT_SOURCE_FR = {"call": "au téléphone", "cli": "ligne de commande", "api": "API", "import": "import",
                     "erasure": "effacement (RGPD)"}


def _state(code: str | None) -> str:
    """A contact's state in a campaign, in words (the code itself in English)."""
    return (STATUS_FR.get(code, code) if current_language() == "fr" else code) if code else ""


def _name(row: dict[str, Any]) -> str:
    return " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p) or "—"


def contacts_list(
    campaign: int = typer.Option(None, "--campaign", metavar="CAMPAGNE", help="les contacts de cette campagne"),
    status: str = typer.Option(None, "--status", metavar="ÉTAT",
                               help="dans la campagne : PENDING, IN_PROGRESS, DONE ou EXCLUDED"),
    result: str = typer.Option(None, "--result", metavar="RÉSULTAT", help="dernier résultat, par exemple QUALIFIED"),
    search: str = typer.Option(None, "--search", metavar="TEXTE", help="une partie du nom, de la société, de "
                               "l'e-mail ou du numéro"),
    limit: int = typer.Option(50, "--limit", metavar="N", min=1, max=1000, help="contacts affichés"),
    offset: int = typer.Option(0, "--offset", metavar="N", min=0, help="à partir du n-ième"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Lister les contacts, avec des filtres."""
    if status is not None and status.upper() not in STATUS_FR:
        fail(_("--status : PENDING, IN_PROGRESS, DONE ou EXCLUDED, pas {status!r}").format(status=status), 2, as_json)
    f = ContactFilter(campaign_id=campaign, status=status and status.upper(), result=result and result.upper(),
                      search=search, limit=limit, offset=offset)
    try:
        rows, total = with_db(lambda db: list_contacts(db.pool, f), as_json)
    except ValueError as exc:
        fail(str(exc), 2, as_json)
    if as_json:
        emit({"contacts": rows, "total": total})
        return
    if not rows:
        console.print(_("Aucun contact ne correspond."))
        return
    columns = ["id", _("nom"), _("numéro"), _("société"), _("e-mail")] + (
        [_("état"), _("résultat"), _("tentatives")] if campaign else [])
    table = Table(*columns)
    for r in rows:
        cells = [str(r["id"]), escape(_name(r)), r["phone"], escape(r["company"] or ""), escape(r["email"] or "")]
        if campaign:
            cells += [_state(r["campaign_status"]), word(r["campaign_result"] or ""),
                      str(r["attempts"] or 0)]
        table.add_row(*cells)
    console.print(table)
    console.print(_("{shown} affiché(s) sur {total}").format(shown=len(rows), total=total)
                  + (_(" (à partir du {n}e)").format(n=offset + 1) if offset else ""))


def contacts_show(ref: str = typer.Argument(..., metavar="CONTACT", help="l'identifiant ou le numéro du contact"),
                  as_json: bool = JSON_OPTION) -> None:
    """Afficher un contact : ses champs, ses campagnes, ses derniers appels."""
    async def work(db: Database):
        return await contact_detail(db.pool, await find_contact(db.pool, ref))
    try:
        c = with_db(work, as_json)
    except LookupError as exc:
        fail(str(exc).strip("'\""), 2, as_json)
    if as_json:
        emit(c)
        return
    _print_contact(c)


def _print_contact(c: dict[str, Any]) -> None:
    console.print(f"[bold]{escape(_name(c))}[/] (contact {c['id']}) : {c['phone']}"
                  + (" [red]— " + _("opposé au démarchage") + "[/]" if c["opted_out"] else ""), highlight=False)
    for label, key in ((_("Société"), "company"), (_("E-mail"), "email"), (_("Fuseau horaire"), "timezone")):
        if c.get(key):
            console.print(f"{label} : {escape(str(c[key]))}", highlight=False)
    for name, value in (c.get("extra") or {}).items():
        console.print(f"{escape(str(name))} : {escape(str(value))}", highlight=False)
    if c.get("opt_outs"):
        table = Table("date", "origine", "appel", "preuve", title="Oppositions au démarchage", title_justify="left")
        for r in c["opt_outs"]:
            table.add_row(format_datetime(r["created_at"]), OPT_OUT_SOURCE_FR.get(r["source"], r["source"]),
                          r["call_uuid"] or "", escape(r["evidence"] or "-"))
        console.print(table)
    if c["campaigns"]:
        table = Table(_("campagne"), _("nom"), _("état"), _("résultat"), _("tentatives"), title=_("Campagnes"),
                      title_justify="left")
        for r in c["campaigns"]:
            table.add_row(str(r["campaign_id"]), escape(r["name"]), _state(r["status"]), word(r["result"] or ""),
                          str(r["attempts"]))
        console.print(table)
    if c["calls"]:
        table = Table(_("appel"), _("campagne"), _("date"), _("issue"), _("résultat"), _("durée"),
                      title=_("Derniers appels"), title_justify="left")
        for r in c["calls"]:
            table.add_row(r["call_uuid"], str(r["campaign_id"] or ""), format_datetime(r["created_at"]),
                          word(r["outcome"] or ""), word(r["result"] or ""),
                          f"{r['duration_ms'] / 1000:.0f} s" if r["duration_ms"] is not None else "")
        console.print(table)


def contacts_update(
    ref: str = typer.Argument(..., metavar="CONTACT", help="l'identifiant ou le numéro du contact"),
    first_name: str = typer.Option(None, "--first-name", metavar="PRÉNOM", help="le prénom ('' l'efface)"),
    last_name: str = typer.Option(None, "--last-name", metavar="NOM", help="le nom ('' l'efface)"),
    email: str = typer.Option(None, "--email", metavar="E-MAIL", help="l'adresse e-mail ('' l'efface)"),
    company: str = typer.Option(None, "--company", metavar="SOCIÉTÉ", help="la société ('' l'efface)"),
    timezone: str = typer.Option(None, "--timezone", metavar="FUSEAU", help="son fuseau, par exemple "
                                 "America/Martinique ('' : celui de la campagne)"),
    set_: list[str] = typer.Option([], "--set", metavar="COLONNE=VALEUR", help="une colonne du fichier du contact "
                                   "(répétable)"),
    unset: list[str] = typer.Option([], "--unset", metavar="COLONNE", help="retirer une colonne (répétable)"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Corriger un contact (le numéro ne change pas : un autre numéro est un autre contact)."""
    changes = {k: v for k, v in (("first_name", first_name), ("last_name", last_name), ("email", email),
                                 ("company", company), ("timezone", timezone)) if v is not None}
    extra: dict[str, str | None] = {}
    for item in set_:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--set : COLONNE=VALEUR attendu, pas {item!r}", 2, as_json)
        extra[name.strip()] = value
    extra.update({name.strip(): None for name in unset})

    async def work(db: Database):
        return await update_contact(db.pool, await find_contact(db.pool, ref), changes, extra)
    try:
        c = with_db(work, as_json)
    except (LookupError, ValueError) as exc:
        fail(str(exc).strip("'\""), 2, as_json)
    if as_json:
        emit(c)
        return
    console.print(_("Contact mis à jour."))
    _print_contact(c)
