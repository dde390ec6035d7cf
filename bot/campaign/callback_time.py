"""When the person asked to be called back, read from what they said ("demain vers 18 heures").

The text is a phone recogniser's transcript: lowercase, often without accents, hyphens or
punctuation, numbers in digits ("18h30", "18 h 30", "18:30") or in words ("dix-huit heures trente").
Hand-written because dateparser (1.5, checked) reads "18 heures" as a duration (18 hours from
now), "dix-huit heures" as 19:00, and finds nothing in "demain vers 18 heures".

How it reads (``now`` is the moment of the call; everything in ``zone``, Europe/Paris by default):

- Days: aujourd'hui, demain, après-demain, "dans N jours/semaines/mois", "la semaine prochaine"
  (Monday of next week), "en fin de semaine" (Friday), "le mois prochain" (its 1st), "le 3 (décembre)",
  weekday names. A weekday is its next occurrence after today: "lundi" said on a Monday is next
  Monday (someone meaning today says "aujourd'hui" or "ce soir"), unless "ce lundi"; "lundi
  prochain" is the same nearest Monday (what most speakers mean), "lundi en huit" the one after,
  "mardi de la semaine prochaine" the Tuesday of next week.
- Hours: "18h", "18 h 30", "18 heures 15", "dix-huit trente", "six heures du soir", "midi et demi",
  "17 heures moins le quart", "vers/à/aux alentours de 18 heures" (the approximation words change
  nothing), "avant 18 heures" (an hour earlier), "après 18 heures" (18:00). A number without
  "heures" ("vers dix-huit", "à dix-huit trente") is an hour only from 8 to 23, so that "à un
  moment plus calme" is not 01:00. A small hour is kept as
  said ("à 6 heures" is 06:00) unless "du soir", "de l'après-midi" or a part of day ("ce soir à 8
  heures") says afternoon. Noon and midnight are hours (precise).
- Parts of day, no hour (precise=False): matin 10:00, début de matinée 09:00, fin de matinée
  11:30, début d'après-midi 14:00, après-midi 14:30, fin d'après-midi / fin de journée 17:30,
  soir 18:30; a day alone is 10:00 that day.
- "dans N minutes/heures", "dans une demi-heure", "dans une heure et demie": now plus that.

Never in the past: a bare hour already gone today ("à 9 heures" at 11:00) is tomorrow's; a part of day
already begun today ("ce soir" at 19:00) is in half an hour while it lasts, tomorrow's once over; a day
alone that is today ("aujourd'hui") is 10:00, or in an hour once 10:00 has gone.

This reads only what the person said. French law forbids canvassing at 13:00-14:00 and after 20:00;
the dialer moves the time into a legal window afterwards (bot.compliance.hours).
Nothing recognisable, or a negated time only ("pas demain", "rappelez jamais"): None.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..dialog.nlu.normalize import normalize
from ..dialog.nlu.spoken_time import repair_time_words

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class CallbackTime:
    at: datetime  # aware, in the zone asked for
    matched: str  # the words read, from the normalised transcript (accent-free, numbers in digits)
    precise: bool  # an hour was given (not only a day or a part of day)


# -- numbers in words → digits -------------------------------------------------------------------
# bot.dialog.freestyle.numbers reads number words too, but sums any run of them ("dix-huit trente"
# would be 48, the way callers say 18:30) and importing it loads the LLM client; times only need 0-99.
_UNITS = {"zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
          "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
          "seize": 16}
_TENS = {"vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60}


def _continues(total: int, last: int, word: str) -> bool:
    """Whether `word` goes on the number spoken so far (else it starts a new one)."""
    if word in _TENS:
        return last == 4 and word.startswith("vingt") and total == 4  # quatre-vingt
    value = _UNITS[word]
    if last == 10:
        return 7 <= value <= 9 and total % 10 == 0  # dix-sept, soixante-dix-huit
    return last >= 20 and 1 <= value <= 16  # vingt-deux, soixante-douze, quatre-vingt-dix


def _digits(words: list[str]) -> list[str]:
    out: list[str] = []
    total = last = -1  # -1: no number under way
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word == "et" and last >= 20 and nxt in ("un", "une", "onze"):  # vingt et un
            continue
        if word not in _UNITS and word not in _TENS:
            if total >= 0:
                out.append(str(total))
                total = last = -1
            out.append(word)
            continue
        value = _UNITS.get(word) or _TENS.get(word, 0)
        if total >= 0 and _continues(total, last, word):
            total = 80 if word.startswith("vingt") else total + value
        else:
            if total >= 0:
                out.append(str(total))
            total = value
        last = 20 if total == 80 else value
    if total >= 0:
        out.append(str(total))
    return out


def _prepare(text: str) -> str:
    """Accent-free, filler-free words with numbers as digits and "18h30" as "18 h 30"."""
    text = repair_time_words(text)  # "des 8 heures" → "dix-huit heures" (bot.dialog.nlu.spoken_time)
    text = re.sub(r"(\d{1,2})\s*[:hH]\s*(\d{2})\b", r"\1 h \2", text)  # 18:30, 18h30
    text = re.sub(r"\b(\d{1,2})[hH]\b", r"\1 h", text)
    words = normalize(text).replace("aujourd hui", "aujourdhui").split()
    text = " ".join(_digits(words))
    return re.sub(r"\b(\d{1,2})(h|er)\b", r"\1 \2", text)


# -- the grammar, on prepared text -----------------------------------------------------------------
_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS = ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre",
           "novembre", "decembre")
_AFTERNOON = r"(?:apres midi|aprem)"
_MINUTES = r"(?:minutes?|min|mn)"
_NOT_UNIT = r"(?!\d| ?(?:h|heures?|jours?|semaines?|mois|min|mn|minutes?|ans?|fois|euros?|pour cent)\b)"

_REL = (rf"(?:dans|de ici|dici) (?:(?P<rn>\d{{1,3}}) (?:ou |a )?(?:(?P<rn2>\d{{1,3}}) )?)?(?:petite |bonne )?"
        rf"(?P<ru>demi heure|quart de heure|{_MINUTES}|heures?|h|jours?|semaines?|mois)"
        rf"(?: et (?P<rf>demie?|quart)| (?P<rm>\d{{1,2}})(?: {_MINUTES})?{_NOT_UNIT})?")
_QUALIFIER = rf" (?P<qual>du matin|du soir|de le soir|de le {_AFTERNOON}|de la {_AFTERNOON})"
_FRACTION = r"(?: et (?P<q>quart|demie?)| moins (?:le )?(?P<mq>quart)| moins (?P<mm>\d{1,2}))"
_HOUR = (rf"(?:(?P<pasavant>pas )?(?P<avant>avant) (?:(?:a|vers) )?)?"
         rf"(?:(?P<h>\d{{1,2}}) (?:h|heures?)(?: (?P<m>\d{{1,2}})(?: {_MINUTES})?{_NOT_UNIT})?"
         rf"|(?P<noon>midi|minuit)(?: (?P<nm>\d{{1,2}}){_NOT_UNIT})?"
         rf"|(?:vers|a|pour|a partir de|aux alentours de)(?: les)? "
         rf"(?P<bh>[89]|1\d|2[0-3])(?: (?P<bm>\d{{2}}))?{_NOT_UNIT})"
         rf"{_FRACTION}?(?:{_QUALIFIER})?")
_DAY = (rf"(?P<d2>apres demain)|(?P<d1>demain)|(?P<d0>aujourdhui|ce jour)"
        rf"|(?P<wce>ce |cette )?(?P<wd>{'|'.join(_WEEKDAYS)})"
        rf"(?: (?P<wnext>prochain|en huit|en 8|de la semaine prochaine|la semaine prochaine|semaine prochaine))?"
        rf"|(?P<nextweek>(?:la |en |dans la )?semaine prochaine|la semaine de apres)"
        rf"|(?P<endweek>(?:en )?fin de semaine)"
        rf"|(?P<nextmonth>(?:le |au )?(?:debut de |debut du )?mois prochain)"
        rf"|le (?P<dom>\d{{1,2}}|premier)(?: er)?(?: (?P<mon>{'|'.join(_MONTHS)}))?{_NOT_UNIT}")
_PART = (rf"(?P<pce>ce |cet |cette )?(?:"
         rf"(?P<p0900>tot le matin|(?:en )?debut de matinee)"
         rf"|(?P<p1130>(?:en )?fin de matinee)"
         rf"|(?P<p1400>(?:en )?debut de (?:le )?{_AFTERNOON})"
         rf"|(?P<p1730>(?:en )?fin de (?:le )?{_AFTERNOON}|(?:en )?fin de (?:la )?journee)"
         rf"|(?P<p1430>(?:dans le |le |en |durant le )?{_AFTERNOON})"
         rf"|(?P<p1830>(?:en |dans la )?(?:debut de )?soiree|(?:le |dans le )?soir)"
         rf"|(?P<p1000>(?:le |dans la |en |dans le )?(?:matinee|matin))"
         rf"|(?P<pday>dans la journee|en journee|(?:dans le )?courant de la journee))")
_GRAMMAR = re.compile(rf"\b(?:(?P<rel>{_REL})|(?P<hour>{_HOUR})|(?P<day>{_DAY})|(?P<part>{_PART}))\b")
_NEGATED = re.compile(r"\b(?:pas|jamais|surtout pas)(?: (?:a|vers|le|la|ce|cette|avant))?$")

# part of day → (its default time, when it is over)
_PARTS = {
    "p0900": (time(9), time(11)), "p1000": (time(10), time(12)), "p1130": (time(11, 30), time(12, 30)),
    "p1400": (time(14), time(15)), "p1430": (time(14, 30), time(18)), "p1730": (time(17, 30), time(20)),
    "p1830": (time(18, 30), time(23)), "pday": (time(10), time(20)),
}
_PM_PARTS = {"p1400", "p1430", "p1730", "p1830"}
_DEFAULT_HOUR = time(10)


@dataclass
class _Found:
    """What the grammar matched, the first of each kind that is not negated."""

    rel: re.Match[str] | None = None
    hour: re.Match[str] | None = None
    days: list[re.Match[str]] = field(default_factory=list)
    part: re.Match[str] | None = None

    def spans(self) -> list[tuple[int, int]]:
        used = [m for m in (self.rel, self.hour, self.part) if m is not None] + self.days
        return [m.span() for m in used]


def parse_callback_time(text: str, now: datetime, *, zone: ZoneInfo = PARIS) -> CallbackTime | None:
    """The time the person asked to be called back at, or None when they gave none.
    `now` must be timezone-aware (a naive one is a programming error: ValueError)."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone")
    if not isinstance(text, str) or not text.strip():
        return None
    prepared = _prepare(text[:2000])  # a transcript line; the cap keeps a runaway one cheap
    found = _scan(prepared)
    try:
        result = _resolve(found, now, zone)
    except (ValueError, OverflowError):  # "dans 999 mois", "le 31" of a short month: no usable time
        return None
    if result is None:
        return None
    at, precise = result
    spans = found.spans()
    matched = prepared[min(s for s, _ in spans):max(e for _, e in spans)]
    return CallbackTime(at=at, matched=matched, precise=precise)


def _scan(text: str) -> _Found:
    found = _Found()
    for m in _GRAMMAR.finditer(text):
        if _NEGATED.search(text[:m.start()].rstrip()) and not m["pasavant"]:
            continue
        kind = m.lastgroup
        if kind == "day":
            found.days.append(m)
        elif getattr(found, kind) is None:
            setattr(found, kind, m)
    return found


def _resolve(found: _Found, now: datetime, zone: ZoneInfo) -> tuple[datetime, bool] | None:
    now = now.astimezone(zone)
    day = _day(found.days, now.date())
    if found.rel is not None:
        relative = _relative(found.rel, now)
        if isinstance(relative, datetime):  # minutes, hours: the moment itself
            return relative, True
        if relative is None:
            found.rel = None
        else:
            day = relative  # days, weeks, months: an hour or a part of day may follow
    part = next(k for k, v in found.part.groupdict().items() if v and k in _PARTS) if found.part else None
    if found.hour is not None:
        clock = _clock(found.hour, pm=part in _PM_PARTS)
        if clock is None:
            found.hour = None
        else:
            at = _at(day or now.date(), clock, zone)
            if at <= now:  # a bare hour already gone today (or "ce lundi à 9 h" said at 11:00)
                at = _at((day or now.date()) + timedelta(days=1), clock, zone)
            return at, True
    if part is not None:
        start, end = _PARTS[part]
        if day is not None and day != now.date():
            return _at(day, start, zone), False
        return _soonest(now, start, end, zone), False
    if day is not None:
        if day == now.date():
            return _soonest(now, _DEFAULT_HOUR, time(23), zone, later=timedelta(hours=1)), False
        return _at(day, _DEFAULT_HOUR, zone), False
    return None


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def _soonest(now: datetime, start: time, end: time, zone: ZoneInfo, *,
             later: timedelta = timedelta(minutes=30)) -> datetime:
    """Today's `start` if still ahead; `later` from now while the period lasts; else tomorrow's `start`."""
    today = now.date()
    if _at(today, start, zone) > now:
        return _at(today, start, zone)
    soon = (now + later).replace(second=0, microsecond=0)
    if soon < _at(today, end, zone):
        return soon
    return _at(today + timedelta(days=1), start, zone)


def _relative(m: re.Match[str], now: datetime) -> datetime | date | None:
    """ "dans ...": a moment (minutes, hours), a day (days, weeks, months), or None."""
    unit = m["ru"]
    n = int(m["rn2"] or m["rn"] or 1)  # "deux ou trois jours": the later one
    if unit in ("demi heure", "quart de heure"):
        delta = timedelta(minutes=30 if unit == "demi heure" else 15)
    elif unit.startswith(("min", "mn")):
        delta = timedelta(minutes=n)
    elif unit.startswith("h"):
        delta = timedelta(hours=n, minutes={"demi": 30, "demie": 30, "quart": 15}.get(m["rf"] or "", int(m["rm"] or 0)))
    else:
        delta = None
    if delta is not None:  # "dans 0 minute": not a time
        return (now + delta).replace(second=0, microsecond=0) if delta >= timedelta(minutes=1) else None
    if m["rm"] or m["rf"] or n == 0:  # "dans 2 jours 10", "dans 0 jour": not a reading we trust
        return None
    today = now.date()
    if unit.startswith("jour"):
        return today + timedelta(days=n)
    if unit.startswith("semaine"):
        return today + timedelta(weeks=n)
    return _add_months(today, n)


def _add_months(day: date, n: int) -> date:
    month0 = day.month - 1 + n
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _day(days: list[re.Match[str]], today: date) -> date | None:
    next_monday = today + timedelta(days=7 - today.weekday())
    weekday = next((m for m in days if m["wd"]), None)
    if weekday is not None and any(m["nextweek"] for m in days):  # "mardi, la semaine prochaine"
        return next_monday + timedelta(days=_WEEKDAYS.index(weekday["wd"]))
    if not days:
        return None
    m = days[0]
    if m["d0"]:
        return today
    if m["d1"]:
        return today + timedelta(days=1)
    if m["d2"]:
        return today + timedelta(days=2)
    if m["wd"]:
        target = _WEEKDAYS.index(m["wd"])
        ahead = (target - today.weekday()) % 7
        suffix = m["wnext"] or ""
        if "semaine" in suffix:
            return next_monday + timedelta(days=target)
        if ahead == 0 and not m["wce"]:
            ahead = 7  # "lundi" said on a Monday: next week's
        return today + timedelta(days=ahead + (7 if suffix in ("en huit", "en 8") else 0))
    if m["nextweek"]:
        return next_monday
    if m["endweek"]:
        return today + timedelta(days=(4 - today.weekday()) % 7)
    if m["nextmonth"]:
        return _add_months(today.replace(day=1), 1)
    return _day_of_month(1 if m["dom"] == "premier" else int(m["dom"]), m["mon"], today)


def _day_of_month(dom: int, month_name: str | None, today: date) -> date | None:
    """The next such date from today: "le 3" is this month's if not past, else next month's."""
    if not 1 <= dom <= 31:
        return None
    if month_name:
        month = _MONTHS.index(month_name) + 1
        for year in (today.year, today.year + 1, today.year + 2):
            if dom <= calendar.monthrange(year, month)[1] and date(year, month, dom) >= today:
                return date(year, month, dom)
        return None
    first = today.replace(day=1)
    for ahead in range(12):
        month = _add_months(first, ahead)
        if dom <= calendar.monthrange(month.year, month.month)[1] and month.replace(day=dom) >= today:
            return month.replace(day=dom)
    return None


def _clock(m: re.Match[str], *, pm: bool) -> time | None:
    """The hour said, as a time of day; None when it is not one ("25 heures")."""
    if m["noon"]:
        hour, minute = (12 if m["noon"] == "midi" else 0), int(m["nm"] or 0)
    else:
        hour, minute = int(m["h"] or m["bh"]), int(m["m"] or m["bm"] or 0)
    if m["q"]:
        minute = 15 if m["q"] == "quart" else 30
    qual = m["qual"] or ""
    if hour < 12 and not m["noon"] and (pm or "soir" in qual or "apres" in qual or "aprem" in qual):
        hour += 12
    if hour > 23 or minute > 59:
        return None
    total = hour * 60 + minute
    if m["mq"] or m["mm"]:
        total -= 15 if m["mq"] else int(m["mm"])
    if m["avant"] and not m["pasavant"]:
        total -= 60  # "avant 18 heures": an hour before the bound they gave
    total %= 24 * 60
    return time(total // 60, total % 60)
