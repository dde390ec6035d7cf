"""Campaign operations the CLI and the API share: create, check, start, pause, resume, stop."""

from __future__ import annotations

import asyncio

from ..compliance.campaign import CampaignLaw, check_caller_id_for, check_legal
from ..compliance.rules import ComplianceRules
from ..dialog.brain import scenario_path
from ..dialog.objections.library import load_library
from ..dialog.scenario.loader import ScenarioInvalid, load_scenario
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
        problems.append(f"scenario {scenario!r}: no such scenario ({path})")
    else:
        try:
            load_scenario(path, library=load_library())
        except ScenarioInvalid as exc:
            problems.append(f"scenario {scenario!r} is invalid:\n{exc}")
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
    return await create_campaign(db.pool, name, scenario, **settings)


async def make_ready(db: Database, campaign_id: int) -> Campaign:
    """DRAFT → READY once its scenario and rules check out and it has someone to call."""
    campaign = await get_campaign(db.pool, campaign_id)
    problems = await asyncio.to_thread(check_settings, campaign.scenario, campaign.compliance,
                                       campaign.retry_policy, _law(campaign))
    contacts = await db.pool.fetchval("SELECT count(*) FROM campaign_contacts WHERE campaign_id = $1", campaign_id)
    if not contacts:
        problems.append("no contacts: import some with `minibot contacts import FILE --campaign "
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
    to `warnings`."""
    campaign = await get_campaign(db.pool, campaign_id)
    verdict = check_caller_id_for(_law(campaign), default_caller_id)
    if verdict.refusals:
        raise CampaignNotReady("\n".join(verdict.refusals))
    if warnings is not None:
        warnings.extend(verdict.warnings)
    if campaign.status is CampaignStatus.DRAFT:
        await make_ready(db, campaign_id)
    return await change_status(db.pool, campaign_id, "start")


async def act(db: Database, campaign_id: int, action: str) -> Campaign:
    """pause, resume, stop (= cancel), complete; TransitionError for a wrong status. An operator's
    pause is noted as theirs (the breaker never resumes it); a resume clears the breaker's reason."""
    campaign = await change_status(db.pool, campaign_id, "cancel" if action == "stop" else action)
    await pauses.note_operator(db.pool, campaign_id, action)
    return await get_campaign(db.pool, campaign_id) if action in ("pause", "resume") else campaign
