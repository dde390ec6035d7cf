"""Campaign operations the CLI and the API share: create, check, start, pause, resume, stop."""

from __future__ import annotations

import asyncio

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


def check_settings(scenario: str, compliance: dict | None, retry_policy: dict | None) -> list[str]:
    """What is wrong with a campaign's settings (empty when nothing)."""
    problems = []
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
    # Loading the scenario and the objection library takes a few hundred ms: off the event loop.
    problems = await asyncio.to_thread(check_settings, scenario, settings.get("compliance"),
                                       settings.get("retry_policy"))
    if problems:
        raise CampaignNotReady("\n".join(problems))
    return await create_campaign(db.pool, name, scenario, **settings)


async def make_ready(db: Database, campaign_id: int) -> Campaign:
    """DRAFT → READY once its scenario and rules check out and it has someone to call."""
    campaign = await get_campaign(db.pool, campaign_id)
    problems = await asyncio.to_thread(check_settings, campaign.scenario, campaign.compliance,
                                       campaign.retry_policy)
    contacts = await db.pool.fetchval("SELECT count(*) FROM campaign_contacts WHERE campaign_id = $1", campaign_id)
    if not contacts:
        problems.append("no contacts: import some with `minibot contacts import FILE --campaign "
                        f"{campaign_id}`")
    if problems:
        raise CampaignNotReady("\n".join(problems))
    return await change_status(db.pool, campaign_id, "ready")


async def start(db: Database, campaign_id: int) -> Campaign:
    """READY → RUNNING; a DRAFT is checked and made ready first."""
    campaign = await get_campaign(db.pool, campaign_id)
    if campaign.status is CampaignStatus.DRAFT:
        await make_ready(db, campaign_id)
    return await change_status(db.pool, campaign_id, "start")


async def act(db: Database, campaign_id: int, action: str) -> Campaign:
    """pause, resume, stop (= cancel), complete; TransitionError for a wrong status. An operator's
    pause is noted as theirs (the breaker never resumes it); a resume clears the breaker's reason."""
    campaign = await change_status(db.pool, campaign_id, "cancel" if action == "stop" else action)
    await pauses.note_operator(db.pool, campaign_id, action)
    return await get_campaign(db.pool, campaign_id) if action in ("pause", "resume") else campaign
