"""Campaigns over HTTP, as `minibot campaign` does them: list, create (optionally with its contacts),
read, start / pause / resume / stop, and figures.

A wrong state change is a 409 (TransitionError), and so is starting a campaign that is not ready
(CampaignNotReady, with its reasons); the error middleware maps both.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ...campaign import control
from ...campaign.lifecycle import CampaignStatus
from ...campaign.retries import RetryPolicy
from ...compliance.campaign import LEGAL_FIELDS, CampaignLaw, legal_problems
from ...compliance.rules import ComplianceRules
from ...contacts.importer import ImportReport, check_region, store_checked
from ...dialog.scenario.authoring import NAME
from ...store.campaigns import Campaign, campaign_stats, create_campaign, get_campaign, list_campaigns
from ..context import context, uploaded_scenario
from ..errors import ApiError, Handler
from . import Answer, Route, parse_body, parse_query, path_id, reply
from .contacts import INLINE_NAME, ContactIn, ImportReportOut, check_received, scratch, write_inline


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    # A shipped scenario's name only: the CLI also takes a file path, but a path from an HTTP client
    # would let it make the server read any file.
    scenario: str = Field(pattern=NAME.pattern, description="a shipped or uploaded scenario's name "
                          "(GET /api/scenarios, PUT /api/scenarios/{name})")
    max_concurrent_calls: int = Field(5, ge=1, le=10_000, description="simultaneous calls of this campaign")
    calls_per_second: float = Field(1.0, ge=0.01, le=1000, description="new calls per second at most")
    variables: dict[str, str] = Field(default_factory=dict, description="values every call gets")
    compliance: dict[str, Any] | None = Field(None, description="overrides of the compliance rules, "
                                              'e.g. {"require_consent": true}')
    retry_policy: dict[str, Any] | None = Field(None, description="overrides of the retry policy, e.g. "
                                                '{"no_answer": {"delay_minutes": 60, "max_retries": 1}}')
    contacts: list[ContactIn] | None = Field(None, description="contacts to import and enrol, checked like a JSON "
                                             "contact file (item i is line i + 2 in the report)")
    region: str = Field("FR", description="country of the contacts' numbers written without +country code")
    # The law (bot.compliance.campaign): a basis is required, there is no default.
    legal_basis: Literal["consent", "contract", "b2b", "not_prospecting"] = Field(
        description="consent: consumers who consented; contract: customers with a contract in progress; "
                    "b2b: professional numbers; not_prospecting: no sales content")
    sector: str | None = Field(None, description="the campaign's sector; banned ones are refused")
    advertiser: str | None = Field(None, description="the company the calls are for (consents name it)")
    purpose: str | None = Field(None, description="what the calls are for (consents list purposes)")
    contract_subject: str | None = Field(None, description="basis contract: the contract's subject")
    no_sales_declared: bool = Field(False, description="basis not_prospecting: no sales content, declared")
    caller_id: str | None = Field(None, description="the number presented (default: the dial settings')")
    legal_ground: str | None = Field(None, description="why overrides that loosen French rules are lawful")


class CampaignOut(BaseModel):
    """bot.store.campaigns.Campaign.to_json()."""

    id: int
    name: str
    scenario: str
    status: CampaignStatus
    max_concurrent_calls: int
    calls_per_second: float
    retry_policy: dict[str, Any]
    compliance: dict[str, Any]
    variables: dict[str, str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    legal_basis: str | None = None
    sector: str | None = None
    advertiser: str | None = None
    purpose: str | None = None
    contract_subject: str | None = None
    no_sales_declared: bool = False
    caller_id: str | None = None
    legal_ground: str | None = None


class CampaignCreated(BaseModel):
    campaign: CampaignOut
    import_: ImportReportOut | None = Field(alias="import")


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]


class CampaignFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: CampaignStatus | None = None


class CampaignStats(BaseModel):
    campaign: CampaignOut
    stats: dict[str, Any] = Field(description="bot.store.campaigns.campaign_stats: contacts by status, calls by "
                                  "outcome and result, attempts by status, answer rate, durations, latency p95")


async def list_all(request: web.Request) -> web.Response:
    query = parse_query(request, CampaignFilter)
    campaigns = await list_campaigns(context(request).db.pool)
    if query.status is not None:
        campaigns = [c for c in campaigns if c.status is query.status]
    return reply({"campaigns": [c.to_json() for c in campaigns]})


async def _check_settings(body: CampaignCreate, scenario: str) -> None:
    """control.check_settings, field by field so a 400 names the one at fault. Loading the scenario and
    the objection library costs ~0.3 s of CPU: in a thread, not on the loop the calls run on."""
    for name, check in (("compliance", ComplianceRules.for_campaign), ("retry_policy", RetryPolicy.for_campaign)):
        try:
            check(getattr(body, name))
        except ValueError as exc:
            where = str(exc).partition(":")[0]
            raise ApiError(400, str(exc), field=where if where.startswith(name) else name) from None
    for field, message in legal_problems(CampaignLaw.of(body.model_dump(include=set(LEGAL_FIELDS))),
                                         body.compliance):
        raise ApiError(400, message, field=field)
    problems = await asyncio.to_thread(control.check_settings, scenario, None, None)
    if problems:
        raise ApiError(400, "; ".join(problems), field="scenario")


async def create(request: web.Request) -> web.Response:
    """control.new_campaign, with its checks run off the loop, then the inline contacts if any. The
    contacts are checked before the campaign is written, and a failed import removes it again, so a
    refused request leaves nothing behind."""
    ctx = context(request)
    body = await parse_body(request, CampaignCreate)
    # An uploaded scenario is stored by its server-side path (what the dialer loads); the name
    # a client sends is only ever looked up, never used as a path.
    uploaded = uploaded_scenario(ctx, body.scenario)
    scenario = str(uploaded) if uploaded else body.scenario
    await _check_settings(body, scenario)
    settings = body.model_dump(include={"max_concurrent_calls", "calls_per_second", "variables", "compliance",
                                        "retry_policy", *LEGAL_FIELDS})
    try:
        region = check_region(body.region)
    except ValueError as exc:
        raise ApiError(400, str(exc).replace("--region", "region"), field="region") from None
    if not body.contacts:
        campaign = await create_campaign(ctx.db.pool, body.name, scenario, **settings)
        return _created(campaign, None)
    async with scratch() as folder:
        path = write_inline(body.contacts, folder)
        checked = await check_received(path, INLINE_NAME, mapping={}, region=region, body_field="contacts")
        campaign = await create_campaign(ctx.db.pool, body.name, scenario, **settings)
        try:
            report = await store_checked(ctx.db, checked, campaign_id=campaign.id)
        except BaseException:
            await asyncio.shield(ctx.db.pool.execute("DELETE FROM campaigns WHERE id = $1", campaign.id))
            raise
    report.file = INLINE_NAME
    return _created(campaign, report)


def _created(campaign: Campaign, report: ImportReport | None) -> web.Response:
    return reply({"campaign": campaign.to_json(), "import": report.to_json() if report else None}, status=201,
                 headers={"Location": f"/api/campaigns/{campaign.id}"})


async def get_one(request: web.Request) -> web.Response:
    return reply((await get_campaign(context(request).db.pool, path_id(request))).to_json())


async def stats(request: web.Request) -> web.Response:
    pool, campaign_id = context(request).db.pool, path_id(request)
    campaign = await get_campaign(pool, campaign_id)
    return reply({"campaign": campaign.to_json(), "stats": await campaign_stats(pool, campaign_id)})


def _action(action: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        db, campaign_id = context(request).db, path_id(request)
        if action == "start":
            # NB: control.make_ready loads the scenario on the loop (~0.3 s) when starting a DRAFT
            campaign = await control.start(db, campaign_id, default_caller_id=context(request).caller_id)
        else:
            campaign = await control.act(db, campaign_id, action)
        return reply(campaign.to_json())

    handler.__name__ = handler.__qualname__ = f"{action}_campaign"
    return handler


_ACTIONS = {
    "start": ("Start a campaign", "DRAFT or READY → RUNNING; a DRAFT is checked first (scenario, rules, contacts) "
              "and a 409 lists what stops it. Dialling is done by the dialer workers."),
    "pause": ("Pause a campaign", "RUNNING → PAUSED: nothing new is dialled; calls in progress finish."),
    "resume": ("Resume a campaign", "PAUSED → RUNNING."),
    "stop": ("Stop a campaign", "→ CANCELLED: scheduled attempts are dropped; calls in progress finish."),
}
_ONE = (Answer(200, "the campaign", schema=CampaignOut),)

ROUTES = (
    Route("GET", "/api/campaigns", list_all, "List campaigns", "campaigns", query=CampaignFilter,
          answers=(Answer(200, "every campaign, oldest first", schema=CampaignList),), errors=(400,)),
    Route("POST", "/api/campaigns", create, "Create a campaign (DRAFT), optionally with its contacts", "campaigns",
          description="The scenario and the rules are checked first (400 naming the field). With `contacts`, they "
                      "are imported and enrolled in the same request, and `import` is the import report.",
          body={"application/json": CampaignCreate},
          answers=(Answer(201, "created; Location names it", schema=CampaignCreated),), errors=(400, 413)),
    Route("GET", "/api/campaigns/{id}", get_one, "Get a campaign", "campaigns", answers=_ONE, errors=(404,)),
    *(Route("POST", f"/api/campaigns/{{id}}/{action}", _action(action), summary, "campaigns", description=text,
            answers=_ONE, errors=(404, 409))
      for action, (summary, text) in _ACTIONS.items()),
    Route("GET", "/api/campaigns/{id}/stats", stats, "A campaign's figures", "campaigns",
          answers=(Answer(200, "the campaign and its figures", schema=CampaignStats),), errors=(404,)),
)
