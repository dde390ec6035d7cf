"""The callback time a person asked for, read from a phone transcript (bot.campaign.callback_time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.campaign.callback_time import parse_callback_time

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 11, 0, tzinfo=PARIS)  # Monday 23 November 2026, 11:00
EVENING = datetime(2026, 11, 23, 19, 0, tzinfo=PARIS)  # the same Monday, 19:00
FRIDAY = datetime(2026, 11, 27, 11, 0, tzinfo=PARIS)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


# (what the person said, when, expected time, an hour was given)
CASES = [
    # a day and an hour, digits and words, with and without accents and hyphens
    ("demain vers 18 heures", MONDAY, at(24, 18), True),
    ("demain vers dix-huit heures", MONDAY, at(24, 18), True),
    ("euh ben demain euh vers les dix huit heures", MONDAY, at(24, 18), True),
    ("Demain à 18h30.", MONDAY, at(24, 18, 30), True),
    ("demain a 18:30", MONDAY, at(24, 18, 30), True),
    ("demain à 18 h 30", MONDAY, at(24, 18, 30), True),
    ("demain a dix huit heures trente", MONDAY, at(24, 18, 30), True),
    ("demain à six heures du soir", MONDAY, at(24, 18), True),
    ("jeudi à 15h", MONDAY, at(26, 15), True),
    ("jeudi a quinze heures", MONDAY, at(26, 15), True),
    ("lundi prochain à 10h30", MONDAY, at(30, 10, 30), True),
    ("dans deux jours à 15 heures", MONDAY, at(25, 15), True),
    ("le premier décembre à 14h", MONDAY, at(1, 14, month=12), True),
    ("demain vers les 18h", MONDAY, at(24, 18), True),
    ("demain vers dix-huit trente", MONDAY, at(24, 18, 30), True),
    # an hour alone: today if still ahead, else tomorrow
    ("rappelez-moi à dix-sept heures", MONDAY, at(23, 17), True),
    ("à 17h", MONDAY, at(23, 17), True),
    ("18:30", MONDAY, at(23, 18, 30), True),
    ("quatorze heures quinze", MONDAY, at(23, 14, 15), True),
    ("vingt et une heures", MONDAY, at(23, 21), True),
    ("dix sept heures moins le quart", MONDAY, at(23, 16, 45), True),
    ("six heures du soir", MONDAY, at(23, 18), True),
    ("à 9 heures", MONDAY, at(24, 9), True),  # gone today
    ("à 6 heures", MONDAY, at(24, 6), True),  # kept as said; the dialer moves it into legal hours
    ("à 17h", EVENING, at(24, 17), True),
    ("ce soir à 8 heures", MONDAY, at(23, 20), True),  # the part of day says afternoon
    ("cet aprem vers 3 heures", MONDAY, at(23, 15), True),
    ("pas avant 18 heures", MONDAY, at(23, 18), True),
    ("demain avant midi", MONDAY, at(24, 11), True),
    ("midi", MONDAY, at(23, 12), True),
    ("à midi", MONDAY, at(23, 12), True),
    ("midi et demi", MONDAY, at(23, 12, 30), True),
    ("midi", FRIDAY, at(27, 12), True),
    # "dans ..."
    ("dans 10 minutes", MONDAY, at(23, 11, 10), True),
    ("dans une heure", MONDAY, at(23, 12), True),
    ("dans une demi-heure", MONDAY, at(23, 11, 30), True),
    ("dans une demi heure", MONDAY, at(23, 11, 30), True),
    ("dans un quart d'heure", MONDAY, at(23, 11, 15), True),
    ("dans une heure et demie", MONDAY, at(23, 12, 30), True),
    ("dans 2 heures", EVENING, at(23, 21), True),
    ("dans deux jours", MONDAY, at(25, 10), False),
    ("dans deux ou trois jours", MONDAY, at(26, 10), False),
    ("dans une semaine", MONDAY, at(30, 10), False),
    # a day alone: 10:00 that day
    ("demain", MONDAY, at(24, 10), False),
    ("après-demain", MONDAY, at(25, 10), False),
    ("apres demain", MONDAY, at(25, 10), False),
    ("mardi", MONDAY, at(24, 10), False),
    ("lundi", MONDAY, at(30, 10), False),  # today's name: next week's
    ("lundi prochain", MONDAY, at(30, 10), False),
    ("mardi en huit", MONDAY, at(1, 10, month=12), False),
    ("mardi de la semaine prochaine", MONDAY, at(1, 10, month=12), False),
    ("la semaine prochaine", MONDAY, at(30, 10), False),
    ("la semaine prochaine", FRIDAY, at(30, 10), False),
    ("vendredi", FRIDAY, at(4, 10, month=12), False),
    ("lundi", FRIDAY, at(30, 10), False),
    ("demain", FRIDAY, at(28, 10), False),  # Saturday: the dialer moves it
    ("le 3 décembre", MONDAY, at(3, 10, month=12), False),
    ("le mois prochain", MONDAY, at(1, 10, month=12), False),
    ("aujourd'hui", MONDAY, at(23, 12), False),  # 10:00 is gone: in an hour
    ("pas demain plutôt jeudi", MONDAY, at(26, 10), False),
    # parts of day
    ("demain matin", MONDAY, at(24, 10), False),
    ("demain en fin de matinée", MONDAY, at(24, 11, 30), False),
    ("en début d'après-midi", MONDAY, at(23, 14), False),
    ("en debut d apres midi", MONDAY, at(23, 14), False),
    ("dans l'après-midi", MONDAY, at(23, 14, 30), False),
    ("cet après-midi", MONDAY, at(23, 14, 30), False),
    ("vendredi après-midi", MONDAY, at(27, 14, 30), False),
    ("en fin de journée", MONDAY, at(23, 17, 30), False),
    ("fin d'après-midi", MONDAY, at(23, 17, 30), False),
    ("ce soir", MONDAY, at(23, 18, 30), False),
    ("demain soir", MONDAY, at(24, 18, 30), False),
    ("ce soir", EVENING, at(23, 19, 30), False),  # the evening has begun: in half an hour
    ("cet après-midi", EVENING, at(24, 14, 30), False),  # over: tomorrow's
    ("ce matin", FRIDAY, at(27, 11, 30), False),
]


@pytest.mark.parametrize(("said", "now", "expected", "precise"), CASES, ids=[f"{c[0]}@{c[1]:%a%H}" for c in CASES])
def test_reads_the_time_asked_for(said: str, now: datetime, expected: datetime, precise: bool) -> None:
    found = parse_callback_time(said, now)
    assert found is not None, said
    assert found.at == expected
    assert found.at.tzinfo is not None and found.at > now
    assert found.precise is precise
    assert found.matched  # the words read, for the call's record


@pytest.mark.parametrize("said", [
    "non merci", "je sais pas", "rappelez jamais", "ne me rappelez plus", "pas demain", "", "   ",
    "rappelez moi à un moment plus calme", "j'ai deux enfants", "25 heures", "le 31 février", "dans 99999 mois",
    "le 45", "????", "1" * 5000, "dans 0 minute",
])
def test_nothing_recognisable_is_none(said: str) -> None:
    assert parse_callback_time(said, MONDAY) is None


def test_odd_input_never_raises() -> None:
    for said in (None, 42, "\x00\ufffd", "dans dans dans", "h h h 18 h h", "midi moins 75", "à 99h99"):
        parse_callback_time(said, MONDAY)  # type: ignore[arg-type]


def test_matched_names_the_words_read() -> None:
    found = parse_callback_time("oui rappelez moi plutôt demain vers dix-huit heures merci", MONDAY)
    assert found is not None and found.matched == "demain vers 18 heures"


def test_now_in_another_zone_and_the_result_in_the_zone_asked() -> None:
    utc_now = MONDAY.astimezone(UTC)
    found = parse_callback_time("demain à 18h", utc_now)
    assert found is not None and found.at == at(24, 18) and found.at.tzinfo == PARIS
    montreal = ZoneInfo("America/Montreal")
    found = parse_callback_time("demain à 9h", utc_now, zone=montreal)
    assert found is not None and (found.at.hour, found.at.tzinfo) == (9, montreal)


def test_daylight_saving_change_keeps_the_wall_clock() -> None:
    saturday = datetime(2026, 10, 24, 11, 0, tzinfo=PARIS)  # clocks go back on Sunday 25 October
    found = parse_callback_time("lundi à 10h", saturday)
    assert found is not None and found.at == datetime(2026, 10, 26, 10, 0, tzinfo=PARIS)
    assert found.at.utcoffset() == timedelta(hours=1)


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse_callback_time("demain", datetime(2026, 11, 23, 11, 0))
