"""Calling hours of the French compliance gate, and phone numbers in E.164."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.compliance.hours import OUTSIDE_HOURS, PUBLIC_HOLIDAY, WEEKEND, CallingHours
from bot.contacts.phones import InvalidPhone, to_e164

PARIS = ZoneInfo("Europe/Paris")
RULES = CallingHours()


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("at", "reasons"),
    [
        (paris(2026, 11, 23, 10, 0), []),  # Monday, opening time
        (paris(2026, 11, 23, 9, 59), [OUTSIDE_HOURS]),
        (paris(2026, 11, 23, 13, 30), [OUTSIDE_HOURS]),  # the lunch break
        (paris(2026, 11, 23, 19, 59), []),
        (paris(2026, 11, 23, 20, 0), [OUTSIDE_HOURS]),  # windows end exclusive
        (paris(2026, 11, 28, 11, 0), [WEEKEND]),  # Saturday
        (paris(2026, 7, 14, 11, 0), [PUBLIC_HOLIDAY]),  # a Tuesday, National Day
        (paris(2027, 3, 29, 11, 0), [PUBLIC_HOLIDAY]),  # Easter Monday 2027, computed
        (paris(2026, 11, 22, 21, 0), [WEEKEND, OUTSIDE_HOURS]),
    ],
)
def test_french_calling_hours(at, reasons) -> None:
    assert RULES.reasons(at) == reasons


def test_the_contacts_time_zone_decides_not_the_servers() -> None:
    utc_morning = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("UTC"))  # 10:30 in Paris (winter)
    assert RULES.reasons(utc_morning) == []
    reunion = CallingHours(timezone="Indian/Reunion")  # UTC+4: 13:30 there, the lunch break
    assert reunion.reasons(utc_morning) == [OUTSIDE_HOURS]
    summer = datetime(2026, 7, 1, 8, 30, tzinfo=ZoneInfo("UTC"))  # 10:30 in Paris (summer time)
    assert RULES.reasons(summer) == []
    with pytest.raises(ValueError, match="time zone"):
        RULES.reasons(datetime(2026, 11, 23, 10, 30))


def test_next_allowed_skips_breaks_weekends_and_holidays() -> None:
    assert RULES.next_allowed(paris(2026, 11, 23, 10, 30)) == paris(2026, 11, 23, 10, 30)
    assert RULES.next_allowed(paris(2026, 11, 23, 13, 5)) == paris(2026, 11, 23, 14, 0)
    assert RULES.next_allowed(paris(2026, 11, 27, 20, 30)) == paris(2026, 11, 30, 10, 0)  # Friday night
    assert RULES.next_allowed(paris(2026, 12, 24, 20, 0)) == paris(2026, 12, 28, 10, 0)  # past Christmas
    assert CallingHours(weekdays=()).next_allowed(paris(2026, 11, 23, 10, 0)) is None


def test_rules_are_configurable_and_checked() -> None:
    moselle = CallingHours(holiday_subdivision="57")  # Good Friday is a holiday there
    assert moselle.reasons(paris(2026, 4, 3, 11, 0)) == [PUBLIC_HOLIDAY]
    assert RULES.reasons(paris(2026, 4, 3, 11, 0)) == []
    with pytest.raises(ValueError, match="end after it starts"):
        CallingHours(windows=((time(14), time(10)),))


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("06 12 34 56 78", "+33612345678"), ("+33 1 42 68 53 00", "+33142685300"), ("0033612345678", "+33612345678"),
     ("06.12.34.56.78", "+33612345678"), ("+32 470 12 34 56", "+32470123456")],
)
def test_phones_become_e164(raw, e164) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize(("raw", "why"), [("", "vide"), ("bonjour", "pas un numéro"),
                                          ("06 12 34", "longueur incorrecte"),
                                          ("+33 0 00 00 00 00", "plan de numérotation")])
def test_bad_phones_say_why(raw, why) -> None:
    with pytest.raises(InvalidPhone, match=why):
        to_e164(raw)
