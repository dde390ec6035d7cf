"""Shared by the campaign tests: a calling day, a clock for the dialer, campaigns with contacts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.campaign import control
from bot.compliance.hours import CallingHours
from bot.store.campaigns import create_campaign

PARIS = ZoneInfo("Europe/Paris")


def weekday_morning() -> datetime:
    """10:30 in Paris on the next calling day (a weekday that is not a holiday), close to now:
    the stored rows' real timestamps stay inside the gate's windows."""
    day = CallingHours().next_allowed(datetime.now(UTC) + timedelta(days=1))
    return day.astimezone(PARIS).replace(hour=10, minute=30, second=0, microsecond=0)


class Clock:
    """Business time for the dialer: a chosen calling day, moving on with real time (the pace
    needs it to), plus whatever a test skips ahead. `frozen` stops it (exact due times)."""

    def __init__(self, at: datetime, *, frozen: bool = False) -> None:
        self.at, self.frozen, self.started = at, frozen, time.monotonic()

    def __call__(self) -> datetime:
        return self.at if self.frozen else self.at + timedelta(seconds=time.monotonic() - self.started)

    def advance(self, **kw) -> None:
        self.at += timedelta(**kw)


CANVASSING_NUMBER = "+33162000000"  # in ARCEP's canvassing ranges (01 62)


async def running_campaign(db, numbers, **settings) -> int:
    """A RUNNING campaign of the demo scenario with these numbers due now, and no pace to wait for.
    A lawful one: consumers who consented (a day before the real now, so before any dial), and a caller
    ID of the canvassing ranges."""
    settings = {"legal_basis": "consent", "caller_id": CANVASSING_NUMBER, **settings}
    campaign = await create_campaign(db.pool, "test", "demo", **settings)
    for phone in numbers:
        kid = await db.pool.fetchval("INSERT INTO contacts (phone, first_name) VALUES ($1, 'Test') RETURNING id", phone)
        await db.pool.execute(
            "INSERT INTO consents (phone, source, evidence, method, wording, granted_at) "
            "VALUES ($1, 'test', 'formulaire de test', 'web_form', 'J''accepte d''être appelé.', "
            "now() - interval '1 day')",
            phone)
        await db.pool.execute("INSERT INTO campaign_contacts (campaign_id, contact_id) VALUES ($1, $2)",
                              campaign.id, kid)
        await db.pool.execute("INSERT INTO attempts (campaign_id, contact_id, due_at) VALUES ($1, $2, '-infinity')",
                              campaign.id, kid)
    await db.pool.execute("UPDATE campaigns SET next_dial_at = '-infinity' WHERE id = $1", campaign.id)
    await control.start(db, campaign.id)
    return campaign.id


def phones(n: int, start: int = 0) -> list[str]:
    return [f"+336120{i:05d}" for i in range(start, start + n)]
