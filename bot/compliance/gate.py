"""The compliance gate: asked before every dial, it allows a call or refuses it with named reasons.

Reasons are temporary (the time of day, the frequency cap, the rest after a refusal: the call may be
made later, and `retry_at` says when) or permanent (opt-out, blacklist, Bloctel, no consent: no date
will do until a person changes the registers). Every applicable reason is listed, in a fixed order,
so that an operator sees all that stands in the way and not only the first.

The dialer calls it before each dial, so a check is one SQL statement (bot.store.compliance.gate_facts)
and the rules are then applied in Python (`evaluate`, pure and testable on its own).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from bot.call.call import mask
from bot.contacts.headers import normalise
from bot.i18n import _
from bot.store import compliance as store

from .bloctel import BLOCTEL_MAX_AGE
from .hours import OUTSIDE_HOURS, PUBLIC_HOLIDAY, WEEKEND, CallingHours
from .law import BASIS_TEXT, DEFAULT_BASIS, LEGAL_TEXT, Basis, Regime, parse_basis, regime_at
from .overrides import french_floor, is_french
from .rules import MAX_CAP_DAYS, ComplianceRules
from .sectors import banned_for

log = logging.getLogger(__name__)
OPERATOR = "l'opérateur"  # a consent given to no named company: to the operator itself

FREQUENCY_CAP, REFUSAL_COOLOFF = "frequency_cap", "refusal_cooloff"
OPT_OUT, BLACKLIST, BLOCTEL, NO_CONSENT = "opt_out", "blacklist", "bloctel", "no_consent"
NO_CONTRACT, NO_COMPANY, NO_SALES_DECLARATION, BANNED_SECTOR = (
    "no_contract", "no_company", "no_sales_declaration", "banned_sector")
# The order reasons are listed in: time first, then history, then the registers, then the legal basis.
REASONS = (OUTSIDE_HOURS, WEEKEND, PUBLIC_HOLIDAY, FREQUENCY_CAP, REFUSAL_COOLOFF, OPT_OUT, BLACKLIST, BLOCTEL,
           NO_CONSENT, NO_CONTRACT, NO_COMPANY, NO_SALES_DECLARATION, BANNED_SECTOR)
PERMANENT = frozenset({OPT_OUT, BLACKLIST, BLOCTEL, NO_CONSENT, NO_CONTRACT, NO_COMPANY, NO_SALES_DECLARATION,
                       BANNED_SECTOR})
# Headers of contact columns (kept in contacts.extra) that hold a contract reference, compared folded.
CONTRACT_KEYS = ("contrat", "referencecontrat", "refcontrat", "numerocontrat", "ncontrat", "contractref",
                 "contract", "contractreference", "contractnumber")
# A call whose scenario ended on an opt-out: refused even if the opt_outs row was never written.
OPTED_OUT_RESULT = "OPTED_OUT"

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass
class Decision:
    allowed: bool
    reasons: list[str]
    retry_at: datetime | None = None  # when every temporary reason clears; None if allowed or permanent
    details: dict[str, str] = field(default_factory=dict)  # facts behind the reasons, for people
    # What the decision relied on, for the audit trail (bot.store.decisions); not in the JSON shape.
    regime: Regime = Regime.CONSENT
    basis: Basis = DEFAULT_BASIS
    rules: list[str] = field(default_factory=list)  # the legal texts behind the reasons, or the basis
    consent_id: int | None = None
    contract_ref: str | None = None
    caller_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "reasons": list(self.reasons),
                "retry_at": self.retry_at.isoformat() if self.retry_at else None, "details": dict(self.details)}


class ComplianceGate:
    """`await gate.check(phone, at, campaign_id=...)` → Decision. Holds only the pool."""

    def __init__(self, pool: store.Conn) -> None:
        self._pool = pool

    async def check(self, phone: str, at: datetime, *, campaign_id: int | None = None,
                    rules: ComplianceRules | None = None, basis: str | None = None,
                    sector: str | None = None, no_sales: bool = False) -> Decision:
        """May `phone` (E.164) be dialled at `at` (aware)? Rules: `rules`, else the campaign's, else France's.
        Legal basis and sector: those given, else the campaign's; no basis anywhere means `consent`.
        `no_sales`: the caller declares the call has no commercial content (basis not_prospecting); without
        it only the campaign's own declaration counts, and none is never taken as given.
        LookupError for an unknown campaign; ValueError for a campaign whose compliance settings are invalid."""
        if at.tzinfo is None:
            raise ValueError("the time to check must carry its time zone (e.g. 2026-11-23T10:30:00+01:00)")
        if not _E164.match(phone):
            raise ValueError(f"not an E.164 number: {mask(phone)} (normalise it with bot.contacts.phones.to_e164)")
        since = at - timedelta(days=rules.frequency_cap_days if rules else MAX_CAP_DAYS)
        facts = await store.gate_facts(self._pool, phone, at=at, since=since, campaign_id=campaign_id)
        if not facts.campaign_found:
            raise LookupError(f"no campaign with id {campaign_id}")
        if rules is None:
            try:
                rules = ComplianceRules.for_campaign(facts.campaign_compliance)
            except ValueError as exc:
                raise ValueError(f"campaign {campaign_id}: {exc}") from None
        decision = evaluate(at, rules, facts, basis=basis, sector=sector, no_sales=no_sales)
        if not decision.allowed:
            log.debug("gate refused %s at %s: %s", mask(phone), at.isoformat(), ",".join(decision.reasons))
        return decision


def evaluate(at: datetime, rules: ComplianceRules, facts: store.GateFacts, *, basis: str | None = None,
             sector: str | None = None, no_sales: bool = False) -> Decision:
    """Apply the rules to what the database knows: the decision, with every reason that applies.
    The law in force at `at` decides between the opposition (Bloctel) and the consent regime."""
    details: dict[str, str] = {}
    law = {**facts.campaign_law, "no_sales_declared": True} if no_sales else facts.campaign_law
    regime = regime_at(at)
    legal_basis = parse_basis(basis or law.get("legal_basis") or DEFAULT_BASIS)
    sector = sector or law.get("sector")
    consent = facts.consent
    details["regime"] = regime.value
    details["legal_basis"] = legal_basis.value
    details["legal_basis_law"] = BASIS_TEXT[legal_basis]
    if consent is not None:
        details["consent"] = (f"#{consent.id} du {consent.granted_at.date().isoformat()} ({consent.method}"
                              f", pour {consent.company or OPERATOR}"
                              + (f", preuve {consent.proof_ref}" if consent.proof_ref else "") + ")")
    if facts.phone and is_french(facts.phone):
        rules, held = french_floor(rules, legal_ground=law.get("legal_ground"),
                                   outside_hours_consent=bool(consent and consent.outside_hours))
        if held:
            details["french_floor"] = "; ".join(held)
        if consent and consent.outside_hours:
            details["outside_hours_consent"] = f"consentement #{consent.id} aux appels hors horaires légaux"
    hours = _contact_hours(rules.hours, facts.contact_timezone, details)
    local = at.astimezone(hours.zone)
    details["timezone"] = hours.timezone
    details["local_time"] = local.isoformat(timespec="minutes")
    reasons = set(hours.reasons(at))
    if reasons:
        details["calling_hours"] = _describe_hours(hours)
    if PUBLIC_HOLIDAY in reasons and hours.holiday_country:
        calendar = holidays.country_holidays(hours.holiday_country, subdiv=hours.holiday_subdivision, years=local.year)
        details["holiday"] = str(calendar.get(local.date(), ""))

    window = timedelta(days=rules.frequency_cap_days)
    times = [t for t in facts.attempt_times if t > at - window]
    frees_at = _cap_frees_at(times, at, rules)
    if rules.frequency_cap_attempts:
        details["attempts"] = _("{n} sur les {days} derniers jours (au plus {cap})").format(
            n=len(times), days=rules.frequency_cap_days, cap=rules.frequency_cap_attempts)
    if frees_at is not None:
        reasons.add(FREQUENCY_CAP)
        details["frequency_cap_frees_at"] = _iso(frees_at, hours)

    refusal = _last_refusal(rules, facts)
    cooloff_ends = refusal[1] + timedelta(days=rules.refusal_cooloff_days) if refusal else None
    if refusal and cooloff_ends and at < cooloff_ends:
        reasons.add(REFUSAL_COOLOFF)
        details["refusal"] = _("{what} le {when}").format(what=refusal[0], when=_iso(refusal[1], hours))
        details["cooloff_ends_at"] = _iso(cooloff_ends, hours)

    if facts.opt_out is not None:
        reasons.add(OPT_OUT)
        details["opt_out"] = _("enregistrée le {when} (source {source})").format(
            when=_iso(facts.opt_out.created_at, hours), source=facts.opt_out.source)
    elif OPTED_OUT_RESULT in facts.last_results:
        reasons.add(OPT_OUT)
        ended = _iso(facts.last_results[OPTED_OUT_RESULT], hours)
        details["opt_out"] = _("un appel s'est terminé en {result} le {when}").format(result=OPTED_OUT_RESULT,
                                                                                     when=ended)
    if facts.blacklist_reason is not None:
        reasons.add(BLACKLIST)
        details["blacklist"] = facts.blacklist_reason or _("(sans raison donnée)")
    contract_ref = _contract_ref(facts.contact_extra)
    _basis_reasons(at, regime, legal_basis, rules, facts, law, contract_ref, reasons, details)
    if rules.require_consent and consent is None:
        reasons.add(NO_CONSENT)
        details["consent"] = _("la campagne exige un consentement enregistré et il n'y en a aucun")
    banned = banned_for(sector, legal_basis)
    if banned is not None:
        reasons.add(BANNED_SECTOR)
        details["sector"] = f"{banned.label}: démarchage téléphonique interdit"
        details[f"law_{BANNED_SECTOR}"] = banned.legal_text

    ordered = [r for r in REASONS if r in reasons]
    for reason in ordered:
        details.setdefault(f"law_{reason}", LEGAL_TEXT.get(reason, ""))
    texts = [details[f"law_{r}"] for r in ordered] if ordered else [BASIS_TEXT[legal_basis]]
    retry_at = None
    if ordered and not reasons & PERMANENT:
        retry_at = _retry_at(at, hours, rules, facts.attempt_times, cooloff_ends)
        if retry_at is None:
            details["retry"] = _("aucune heure d'appel possible dans les 31 jours avec les autres limites")
    return Decision(allowed=not ordered, reasons=ordered, retry_at=retry_at, details=details, regime=regime,
                    basis=legal_basis, rules=list(dict.fromkeys(texts)),
                    consent_id=consent.id if consent else None, contract_ref=contract_ref,
                    caller_id=law.get("caller_id"))


def _basis_reasons(at: datetime, regime: Regime, basis: Basis, rules: ComplianceRules, facts: store.GateFacts,
                   law: dict[str, Any], contract_ref: str | None, reasons: set[str], details: dict[str, str]) -> None:
    """What the campaign's legal basis requires of this contact, under the regime in force."""
    if basis is Basis.CONSENT:
        if regime is Regime.CONSENT:
            if facts.consent is None:
                reasons.add(NO_CONSENT)
                details["consent"] = ("aucun consentement valide pour cette entreprise et cette finalité "
                                      "(consentement préalable requis depuis le 11 août 2026)")
        elif rules.check_bloctel:  # the opposition regime: Bloctel, for consumers canvassed
            if facts.in_bloctel:
                reasons.add(BLOCTEL)
            if facts.bloctel_imported_at is None:
                details["bloctel_warning"] = _("aucune liste Bloctel importée : les numéros opposés ne sont pas "
                                               "filtrés")
            elif at - facts.bloctel_imported_at > BLOCTEL_MAX_AGE:
                age = (at - facts.bloctel_imported_at).days
                details["bloctel_warning"] = _("la liste Bloctel date de {days} jours (la rafraîchir au moins tous les "
                                               "30 jours)").format(days=age)
    elif basis is Basis.CONTRACT:
        if not contract_ref:
            reasons.add(NO_CONTRACT)
            details["contract"] = "le contact ne porte aucune référence de contrat en cours"
        else:
            details["contract"] = f"contrat {contract_ref} (objet: {law.get('contract_subject') or 'non précisé'})"
    elif basis is Basis.B2B:
        if not facts.contact_company:
            reasons.add(NO_COMPANY)
            details["company"] = "le contact ne porte aucune entreprise: numéro professionnel non établi"
    elif basis is Basis.NOT_PROSPECTING and not law.get("no_sales_declared"):
        # Outside canvassing only when no commercial content is declared: a basis named without that
        # declaration (a campaign's, or one asked for at a check) is canvassing, never taken as lawful.
        reasons.add(NO_SALES_DECLARATION)
        details["purpose"] = "aucune déclaration d'absence de contenu commercial (--no-sales)"


def _contract_ref(extra: dict[str, Any]) -> str | None:
    """The contact's contract reference, from the imported column that holds one."""
    for key, value in extra.items():
        if normalise(key) in CONTRACT_KEYS and str(value).strip():
            return str(value).strip()
    return None


def _iso(at: datetime, hours: CallingHours) -> str:
    """A time as the contact's clock shows it: what an operator reading the details compares with."""
    return at.astimezone(hours.zone).isoformat(timespec="minutes")


def _describe_hours(hours: CallingHours) -> str:
    """'lun–ven 10:00–13:00, 14:00–20:00 Europe/Paris, pas les jours fériés FR'."""
    names = tuple(_(d) for d in ("lun", "mar", "mer", "jeu", "ven", "sam", "dim"))
    days, run = [], []
    for day in sorted(set(hours.weekdays)) + [None]:
        if run and (day is None or day != run[-1] + 1):
            days.append(names[run[0]] if len(run) == 1 else f"{names[run[0]]}–{names[run[-1]]}")
            run = []
        if day is not None:
            run.append(day)
    windows = ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in hours.windows)
    text = f"{' '.join(days) or _('aucun jour')} {windows} {hours.timezone}"
    return text + (_(", pas les jours fériés {country}").format(country=hours.holiday_country)
                   if hours.holiday_country else "")


def _contact_hours(hours: CallingHours, timezone: str | None, details: dict[str, str]) -> CallingHours:
    """The calling hours in the contact's own time zone when it has one (contacts.timezone)."""
    if not timezone or timezone == hours.timezone:
        return hours
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        # A broken contact field must not stop the dialer; the campaign's zone is the safer guess.
        details["contact_timezone"] = _("fuseau horaire inconnu {zone!r}, {used} utilisé").format(
            zone=timezone, used=hours.timezone)
        return hours
    return hours.model_copy(update={"timezone": timezone})


def _cap_frees_at(times: list[datetime], at: datetime, rules: ComplianceRules) -> datetime | None:
    """None when the cap allows a dial at `at`; else the moment enough attempts have left the window.
    `times` are the attempts up to the check, oldest first; the window is (at - days, at]."""
    cap = rules.frequency_cap_attempts
    if not cap:
        return None
    window = timedelta(days=rules.frequency_cap_days)
    inside = [t for t in times if at - window < t <= at]
    if len(inside) < cap:
        return None
    # Dropping below the cap takes the oldest len - cap + 1 attempts out of the window.
    return inside[len(inside) - cap] + window


def _last_refusal(rules: ComplianceRules, facts: store.GateFacts) -> tuple[str, datetime] | None:
    if not rules.refusal_cooloff_days:
        return None
    found = [(t, r) for r, t in facts.last_results.items() if r in rules.refusal_results]
    if not found:
        return None
    when, result = max(found)
    return result, when


def _retry_at(at: datetime, hours: CallingHours, rules: ComplianceRules, times: list[datetime],
              cooloff_ends: datetime | None) -> datetime | None:
    """The earliest time every temporary reason has cleared at once. Each limit can push the time into
    another's (the cap frees on a Sunday, the next window opens...), so move forward until all agree."""
    t = at
    for _step in range(100):
        later = t
        if hours.reasons(later):
            opens = hours.next_allowed(later)
            if opens is None:
                return None
            later = opens
        frees_at = _cap_frees_at(times, later, rules)
        if frees_at is not None:
            later = max(later, frees_at)
        if cooloff_ends is not None and later < cooloff_ends:
            later = cooloff_ends
        if later == t:
            return t.astimezone(hours.zone)
        t = later
    return None
