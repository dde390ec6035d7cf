"""Campaign operations the CLI and the API share: create, check, start, pause, resume, stop."""

from __future__ import annotations

import asyncio
import hashlib
import json

from ..call.call import mask
from ..compliance.campaign import CampaignLaw, check_caller_id_for, check_legal
from ..compliance.rules import ComplianceRules
from ..contacts.headers import FIELDS
from ..dialog.brain import SCENARIOS, scenario_path
from ..dialog.objections.library import load_library
from ..dialog.scenario.loader import ScenarioInvalid, load_scenario, read_scenario_text
from ..store import Database, pauses
from ..store.campaigns import Campaign, change_status, create_campaign, get_campaign
from .lifecycle import CampaignStatus
from .retries import RetryPolicy


class CampaignNotReady(ValueError):
    """The campaign cannot start yet; the message lists why."""


def check_settings(scenario: str, compliance: dict | None, retry_policy: dict | None,
                   law: CampaignLaw | None = None) -> list[str]:
    """What is wrong with a campaign's settings (empty when nothing); with `law`, what the law refuses too."""
    problems = check_legal(law, compliance) if law is not None else []
    path = scenario_path(scenario)
    if not path.exists():
        problems.append(f"scénario {scenario!r} : introuvable ({path})")
    else:
        try:
            load_scenario(path, library=load_library())
        except ScenarioInvalid as exc:
            problems.append(f"scénario {scenario!r} invalide :\n{exc}")
    for check in (lambda: ComplianceRules.for_campaign(compliance), lambda: RetryPolicy.for_campaign(retry_policy)):
        try:
            check()
        except ValueError as exc:
            problems.append(str(exc))
    return problems


async def new_campaign(db: Database, name: str, scenario: str, **settings) -> Campaign:
    """Check, then create a campaign. Its legal basis is required (no default dials consumers without
    consent); CampaignNotReady lists every problem."""
    # Loading the scenario and the objection library takes a few hundred ms: off the event loop.
    problems = await asyncio.to_thread(check_settings, scenario, settings.get("compliance"),
                                       settings.get("retry_policy"), CampaignLaw.of(settings))
    if problems:
        raise CampaignNotReady("\n".join(problems))
    path = scenario_path(scenario)
    if not path.is_relative_to(SCENARIOS):  # a file of the operator's: where it is, not where they stood
        scenario = str(path.resolve())
    return await create_campaign(db.pool, name, scenario, **settings)


async def make_ready(db: Database, campaign_id: int) -> Campaign:
    """DRAFT → READY once its scenario and rules check out and it has someone to call."""
    campaign = await get_campaign(db.pool, campaign_id)
    problems = await asyncio.to_thread(check_settings, campaign.scenario, campaign.compliance,
                                       campaign.retry_policy, _law(campaign))
    contacts = await db.pool.fetchval("SELECT count(*) FROM campaign_contacts WHERE campaign_id = $1", campaign_id)
    if not contacts:
        problems.append("aucun contact : importez-en avec `minibot contacts import FICHIER --campaign "
                        f"{campaign_id}`")
    if problems:
        raise CampaignNotReady("\n".join(problems))
    return await change_status(db.pool, campaign_id, "ready")


def _law(campaign: Campaign) -> CampaignLaw:
    return CampaignLaw.of({k: getattr(campaign, k) for k in CampaignLaw.__dataclass_fields__})


async def start(db: Database, campaign_id: int, *, default_caller_id: str | None = None,
                warnings: list[str] | None = None) -> Campaign:
    """READY → RUNNING; a DRAFT is checked and made ready first. The caller ID presented (the
    campaign's, else `default_caller_id` from the dial settings) must be in ARCEP's canvassing ranges
    for a prospecting campaign (CampaignNotReady otherwise); for other bases it is a warning, appended
    to `warnings`. Refused while a contact lacks a value the scenario's lines need (the bot would
    otherwise say "avec un conseiller . Ce créneau")."""
    campaign = await get_campaign(db.pool, campaign_id)
    verdict = check_caller_id_for(_law(campaign), default_caller_id)
    if verdict.refusals:
        raise CampaignNotReady("\n".join(verdict.refusals))
    if warnings is not None:
        warnings.extend(verdict.warnings)
    if campaign.status is CampaignStatus.DRAFT:
        await make_ready(db, campaign_id)
    lacking = await missing_variables(db, campaign)
    if lacking:
        raise CampaignNotReady("\n".join(lacking))
    await store_scenario(db, campaign)
    return await change_status(db.pool, campaign_id, "start")


async def store_scenario(db: Database, campaign: Campaign) -> str:
    """Keep the scenario's text in the campaign (what every worker runs from now on); its version."""
    path = scenario_path(campaign.scenario)
    try:
        text = await asyncio.to_thread(read_scenario_text, path)
    except OSError as exc:
        raise CampaignNotReady(f"scénario {campaign.scenario!r} : {path} illisible : {exc.strerror or exc}") from None
    except ScenarioInvalid as exc:
        raise CampaignNotReady(f"scénario {campaign.scenario!r} invalide :\n{exc}") from None
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    await db.pool.execute(
        "UPDATE campaigns SET scenario_yaml = $2, scenario_version = $3, scenario_dir = $4 WHERE id = $1",
        campaign.id, text, version, str(path.resolve().parent))
    return version


async def reload_scenario(db: Database, campaign_id: int) -> tuple[str | None, str]:
    """The operator asks a started campaign to take its scenario file as it is now: checked like at
    the start (valid, every variable provided), then stored; calls placed from then on run it, calls in
    progress finish on the old one. Returns (old version, new version)."""
    campaign = await get_campaign(db.pool, campaign_id)
    if campaign.status not in (CampaignStatus.READY, CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        raise CampaignNotReady(f"campagne {campaign_id} : seul un scénario de campagne prête, en cours ou en pause "
                               "se recharge (un brouillon lit déjà son fichier au démarrage)")
    problems = await asyncio.to_thread(check_settings, campaign.scenario, campaign.compliance, campaign.retry_policy)
    lacking = await missing_variables(db, campaign)
    if problems or lacking:
        raise CampaignNotReady("\n".join([*problems, *lacking]))
    old = await db.pool.fetchval("SELECT scenario_version FROM campaigns WHERE id = $1", campaign_id)
    return old, await store_scenario(db, campaign)


SHOWN_CONTACTS = 10


async def missing_variables(db: Database, campaign: Campaign) -> list[str]:
    """For each {{variable}} of the scenario some contacts lack (neither a contact field, a column of
    their file, nor a campaign value): one line naming it and those contacts (French, for operators)."""
    path = scenario_path(campaign.scenario)
    try:
        scenario = await asyncio.to_thread(load_scenario, path)
    except ScenarioInvalid:
        return []  # make_ready reports it
    # The contact's own fields (first_name...) are often blank in a list of numbers, and a line reads
    # well without them ("Bonjour, ..."); a custom variable (a slot, an amount) has no such omission.
    needed = [v for v in scenario.variables if v not in FIELDS and not campaign.variables.get(v)]
    if not needed:
        return []
    rows = await db.pool.fetch(
        """SELECT k.id, k.phone, k.first_name, k.last_name, k.email, k.company, k.timezone, k.extra
           FROM campaign_contacts cc JOIN contacts k ON k.id = cc.contact_id
           WHERE cc.campaign_id = $1 ORDER BY k.id""", campaign.id)
    lacking: dict[str, list[str]] = {}
    for row in rows:
        values = {**json.loads(row["extra"]), **{k: row[k] for k in FIELDS if row[k]}}
        for name in needed:
            if values.get(name) in (None, ""):
                lacking.setdefault(name, []).append(f"{row['id']} ({mask(row['phone'])})")
    lines = []
    for name, who in lacking.items():
        shown = ", ".join(who[:SHOWN_CONTACTS]) + (f" … et {len(who) - SHOWN_CONTACTS} autres"
                                                    if len(who) > SHOWN_CONTACTS else "")
        lines.append(f"la variable {{{{{name}}}}} du scénario manque pour {len(who)} contact(s) : {shown} ; "
                     f"importez une colonne qui la fournit (--map 'Colonne={name}') ou donnez-lui une valeur "
                     "de campagne")
    return lines


async def act(db: Database, campaign_id: int, action: str) -> Campaign:
    """pause, resume, stop (= cancel), complete; TransitionError for a wrong status. An operator's
    pause is noted as theirs (the breaker never resumes it); a resume clears the breaker's reason."""
    campaign = await change_status(db.pool, campaign_id, "cancel" if action == "stop" else action)
    await pauses.note_operator(db.pool, campaign_id, action)
    return await get_campaign(db.pool, campaign_id) if action in ("pause", "resume") else campaign
