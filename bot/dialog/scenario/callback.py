"""A callback time as the bot confirms it aloud: read from the caller's words, moved into the
legal calling hours when it falls outside them, and said back in plain French ("demain à 18
heures", "lundi 8 décembre à 10 heures 30").

The reading itself is bot.campaign.callback_time (which also repairs recognition errors, see
bot.dialog.nlu.spoken_time); the hours are bot.compliance.hours (French defaults: weekdays
10:00-13:00 and 14:00-20:00, no public holidays).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ...campaign.callback_time import CallbackTime, parse_callback_time
from ...compliance.hours import CallingHours

_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")
# A correction that names no day ("non, plutôt 19 heures") keeps the day said before.
_DAY_WORDS = re.compile(
    r"\b(aujourd ?hui|demain|apres demain|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|semaine|mois"
    r"|le \d{1,2}|le premier|dans \d+ jours?)\b"
)


@dataclass(frozen=True)
class Proposal:
    asked: CallbackTime  # what the caller said
    at: datetime  # the time the bot proposes: what they said, or the nearest legal slot
    legal: bool  # what they said is within the calling hours

    def question(self, now: datetime) -> str:
        when = spoken_when(self.at, now, precise=self.asked.precise or not self.legal)
        if self.legal:
            return f"Je vous rappelle {when}, c'est bien ça ?"
        asked = spoken_when(self.asked.at, now, precise=self.asked.precise)
        return (f"Je ne peux pas appeler {asked}, c'est en dehors des horaires autorisés. "
                f"Je peux vous rappeler {when}, cela vous convient ?")

    def confirmed(self, now: datetime) -> str:
        return f"C'est noté, je vous rappelle {spoken_when(self.at, now, precise=True)}. Bonne journée."


def propose(text: str, now: datetime, hours: CallingHours | None = None, *,
            before: CallbackTime | None = None) -> Proposal | None:
    """The callback the caller asked for in `text` (None: no time in it). `before` is the time
    proposed earlier: a correction without a day keeps its day."""
    hours = hours or CallingHours()
    asked = parse_callback_time(text, now, zone=hours.zone)
    if asked is None:
        return None
    if before is not None and not _DAY_WORDS.search(asked.matched):
        day = before.at.astimezone(hours.zone).date()
        moved = datetime.combine(day, asked.at.astimezone(hours.zone).timetz())
        if moved > now:
            asked = CallbackTime(moved, asked.matched, asked.precise)
    legal = not hours.reasons(asked.at)
    at = asked.at if legal else hours.next_allowed(asked.at)
    if at is None:
        return None
    return Proposal(asked, at, legal)


def spoken_when(at: datetime, now: datetime, *, precise: bool = True) -> str:
    """ "aujourd'hui à 18 heures", "demain à 10 heures 30", "jeudi à 14 heures", "lundi 8 décembre
    à 10 heures" (`at` and `now` in the same zone)."""
    at = at.astimezone(now.tzinfo)
    days = (at.date() - now.date()).days
    if days == 0:
        day = "aujourd'hui"
    elif days == 1:
        day = "demain"
    elif days == 2:
        day = "après-demain"
    elif days < 7:
        day = _WEEKDAYS[at.weekday()]
    else:
        day = f"{_WEEKDAYS[at.weekday()]} {at.day} {_MONTHS[at.month - 1]}"
    if not precise and at.hour < 12:
        return f"{day} matin"
    if not precise and at.hour < 17:
        return f"{day} après-midi"
    if not precise:
        return f"{day} en fin de journée" if at.hour < 18 else f"{day} soir"
    minutes = f" {at.minute:02d}" if at.minute else ""
    clock = "midi" if (at.hour, at.minute) == (12, 0) else f"{at.hour} heures{minutes}"
    return f"{day} à {clock}"
