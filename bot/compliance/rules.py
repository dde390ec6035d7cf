"""The compliance rules one campaign dials under: what the gate (bot.compliance.gate) enforces.

Defaults are France's: the decree of 13 October 2022 (calling hours, at most 4 attempts per contact
in 30 days, 60 days of rest after a refusal), the Bloctel opposition list, and the disclosure that
the caller is an automated assistant. A campaign changes them through its `compliance` jsonb column,
which holds overrides of these fields (calling hours nested under "hours").

Other countries are presets written as overrides. For example, a campaign calling Belgian numbers
(illustrative values; check the local law before using them):

    {"check_bloctel": false,
     "frequency_cap_attempts": 3, "frequency_cap_days": 30, "refusal_cooloff_days": 90,
     "hours": {"timezone": "Europe/Brussels", "holiday_country": "BE",
               "weekdays": [0, 1, 2, 3, 4, 5], "windows": [["09:00", "20:00"]]}}

A campaign calling customers who opted in: {"require_consent": true}.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .hours import CallingHours

# The gate fetches this much attempt history in one query, so a cap window cannot be longer.
MAX_CAP_DAYS = 366


class ComplianceRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hours: CallingHours = CallingHours()
    frequency_cap_attempts: int = Field(4, ge=0, description="dials per contact within the window; 0: no cap")
    frequency_cap_days: int = Field(30, ge=1, le=MAX_CAP_DAYS, description="the cap's sliding window, days")
    refusal_cooloff_days: int = Field(60, ge=0, le=3650, description="rest after a refusal, days; 0: none")
    refusal_results: tuple[str, ...] = Field(("NOT_INTERESTED",), description="call results that count as a refusal")
    check_bloctel: bool = Field(True, description="refuse numbers on the imported Bloctel opposition list")
    require_consent: bool = Field(False, description="refuse numbers without a consent in the ledger")
    # Recorded, not enforced here: the scenario validator checks that the greeting says the caller is an
    # automated assistant; this flag states that the campaign requires it (exports and audits read it).
    disclosure_required: bool = Field(True, description="the greeting must disclose an automated assistant")

    @field_validator("hours")
    @classmethod
    def _usable(cls, hours: CallingHours) -> CallingHours:
        # CallingHours accepts any string; a typo must fail when the campaign is configured, not mid-dial.
        try:
            ZoneInfo(hours.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"hours.timezone: unknown time zone {hours.timezone!r} (e.g. 'Europe/Paris')") from None
        if any(not 0 <= d <= 6 for d in hours.weekdays):
            raise ValueError(f"hours.weekdays: days are 0 (Monday) to 6 (Sunday), got {list(hours.weekdays)}")
        if hours.holiday_country is not None:
            try:
                hours.is_holiday(date.today())
            except NotImplementedError as exc:
                raise ValueError(f"hours.holiday_country/holiday_subdivision: {exc}") from None
        return hours

    @classmethod
    def for_campaign(cls, overrides: dict[str, Any] | None) -> ComplianceRules:
        """The rules of a campaign from its `compliance` jsonb. ValueError naming each bad field."""
        overrides = dict(overrides or {})
        hours = overrides.get("hours")
        if hours is not None:
            if not isinstance(hours, dict):
                raise ValueError("compliance.hours: expected an object such as {\"timezone\": \"Europe/Paris\"}")
            # CallingHours ignores unknown keys; in a compliance setting a misspelt key must not pass silently.
            unknown = sorted(set(hours) - set(CallingHours.model_fields))
            if unknown:
                known = ", ".join(CallingHours.model_fields)
                raise ValueError(f"compliance.hours.{unknown[0]}: unknown setting (known: {known})")
        try:
            return cls.model_validate(overrides)
        except ValidationError as exc:
            raise ValueError("; ".join(_describe(e) for e in exc.errors())) from None


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if where and message.startswith(where + "."):  # the validator named the nested field itself
        return f"compliance.{message}"
    return f"compliance.{where}: {message}" if where else f"compliance: {message}"
