"""When a contact may be called: the calling-hours part of the compliance gate.

Defaults follow the French decree of 13 October 2022 on telephone canvassing: Monday to Friday,
10:00–13:00 and 14:00–20:00 in the contact's time zone, never on a public holiday. Holidays come
from the `holidays` package (Easter-based ones computed per year). Other countries: other rules.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, Field, field_validator

OUTSIDE_HOURS, WEEKEND, PUBLIC_HOLIDAY = "outside_hours", "weekend", "public_holiday"


class CallingHours(BaseModel, frozen=True):
    timezone: str = "Europe/Paris"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    windows: tuple[tuple[time, time], ...] = ((time(10), time(13)), (time(14), time(20)))  # [start, end)
    holiday_country: str | None = "FR"
    holiday_subdivision: str | None = Field(None, description="e.g. '57' for Moselle's extra holidays")

    @field_validator("windows")
    @classmethod
    def _ordered(cls, windows: tuple[tuple[time, time], ...]) -> tuple[tuple[time, time], ...]:
        for start, end in windows:
            if start >= end:
                raise ValueError(f"a calling window must end after it starts ({start}–{end})")
        return tuple(sorted(windows))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_holiday(self, day: date) -> bool:
        if self.holiday_country is None:
            return False
        return day in _calendar(self.holiday_country, self.holiday_subdivision, day.year)

    def reasons(self, at: datetime) -> list[str]:
        """Why `at` (timezone-aware) is not a calling time; empty when it is."""
        if at.tzinfo is None:
            raise ValueError("the time to check must carry its time zone (e.g. 2026-11-23T10:30:00+01:00)")
        local = at.astimezone(self.zone)
        found = []
        if local.weekday() not in self.weekdays:
            found.append(WEEKEND)
        if self.is_holiday(local.date()):
            found.append(PUBLIC_HOLIDAY)
        if not any(start <= local.time() < end for start, end in self.windows):
            found.append(OUTSIDE_HOURS)
        return found

    def next_allowed(self, at: datetime, *, horizon_days: int = 31) -> datetime | None:
        """The first calling time at or after `at` (in the contact's zone), None within the horizon."""
        local = at.astimezone(self.zone)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self.weekdays or self.is_holiday(day):
                continue
            for start, end in self.windows:
                opens = datetime.combine(day, start, self.zone)
                closes = datetime.combine(day, end, self.zone)
                if local < closes:
                    return max(local, opens)
        return None


@lru_cache(maxsize=64)
def _calendar(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision, years=year)
