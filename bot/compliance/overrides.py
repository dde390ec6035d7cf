"""Campaign overrides that loosen the French rules, and the floor the gate holds French numbers to.

A campaign may change its rules (bot.compliance.rules), but for French numbers it may not make them
laxer than the decree of 13 October 2022 (art. D223-8 and D223-9 C. consom.: Monday to Friday 10–13 h
and 14–20 h, no public holiday, at most 4 dials in 30 days, 60 days of rest after a refusal) unless it
states the legal ground that allows it. Wider hours are lawful only for a person who consented to be
called outside them, so even with a ground the gate lifts the hours only for contacts whose consent
says so; the other loosenings apply once the campaign states its ground.
"""

from __future__ import annotations

from .hours import CallingHours
from .law import D223_8, D223_9
from .rules import ComplianceRules

FRENCH = ComplianceRules()
# Country codes of numbers the French decree protects: metropolitan France and the overseas departments.
FRENCH_PREFIXES = ("+33", "+262", "+508", "+590", "+594", "+596", "+269")


def is_french(phone: str) -> bool:
    return phone.startswith(FRENCH_PREFIXES)


def wider_hours(hours: CallingHours) -> bool:
    """Whether `hours` allow a moment the French grid does not (in the same local time)."""
    french = FRENCH.hours
    if set(hours.weekdays) - set(french.weekdays):
        return True
    if hours.holiday_country not in ("FR",):
        return True
    return any(not any(fs <= start and end <= fe for fs, fe in french.windows) for start, end in hours.windows)


def laxer_history(rules: ComplianceRules) -> list[str]:
    """The frequency and rest rules that are laxer than the decree's (French, for operators)."""
    found = []
    if rules.frequency_cap_attempts == 0 or rules.frequency_cap_attempts > FRENCH.frequency_cap_attempts:
        found.append(f"plus de {FRENCH.frequency_cap_attempts} appels en {FRENCH.frequency_cap_days} jours "
                     f"({D223_9})")
    elif rules.frequency_cap_days < FRENCH.frequency_cap_days:
        found.append(f"fenêtre de plafond plus courte que {FRENCH.frequency_cap_days} jours ({D223_9})")
    if rules.refusal_cooloff_days < FRENCH.refusal_cooloff_days:
        found.append(f"repos après un refus plus court que {FRENCH.refusal_cooloff_days} jours ({D223_9})")
    if not set(FRENCH.refusal_results) <= set(rules.refusal_results):
        found.append(f"un refus ({', '.join(FRENCH.refusal_results)}) ne compte plus comme refus ({D223_9})")
    return found


def loosening(rules: ComplianceRules) -> list[str]:
    """Every way `rules` are laxer than the French ones, in French; empty when none."""
    found = [f"horaires plus larges que lun.–ven. 10 h–13 h et 14 h–20 h hors jours fériés ({D223_8})"] \
        if wider_hours(rules.hours) else []
    return found + laxer_history(rules)


def french_floor(rules: ComplianceRules, *, legal_ground: str | None, outside_hours_consent: bool
                 ) -> tuple[ComplianceRules, list[str]]:
    """The rules a French number is dialled under, and what was held back (for the decision's details).
    Hours: the campaign's only for a contact who consented to calls outside the legal hours. Caps and
    rest: the campaign's only when it states its legal ground."""
    update, held = {}, []
    if wider_hours(rules.hours) and not outside_hours_consent:
        update["hours"] = FRENCH.hours.model_copy(update={"timezone": rules.hours.timezone,
                                                          "holiday_subdivision": rules.hours.holiday_subdivision})
        held.append("horaires élargis non appliqués: pas de consentement aux appels hors horaires légaux")
    if laxer_history(rules) and not legal_ground:
        update.update(frequency_cap_attempts=FRENCH.frequency_cap_attempts,
                      frequency_cap_days=FRENCH.frequency_cap_days,
                      refusal_cooloff_days=max(rules.refusal_cooloff_days, FRENCH.refusal_cooloff_days),
                      refusal_results=tuple(sorted(set(rules.refusal_results) | set(FRENCH.refusal_results))))
        held.append("plafond et repos du décret appliqués: la campagne n'indique aucun fondement légal")
    return (rules.model_copy(update=update) if update else rules), held
