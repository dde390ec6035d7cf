"""Which French law governs a dial, and the legal text behind each rule the gate applies.

Telephone canvassing of consumers changed regime on 11 August 2026 (loi n° 2025-594 du 30 juin 2025,
art. 13, rewriting art. L. 223-1 du code de la consommation): before that day a consumer could be
canvassed unless registered on the Bloctel opposition list (opt-out); from that day only with the
consumer's prior consent, which the professional must prove (opt-in), save calls within a contract in
progress about that contract's subject. The Bloctel concession ended the same day. The hours and
frequency rules of the decree of 13 October 2022 apply under both regimes.

The gate decides by the law in force at the moment of the dial (`regime_at`), never by today's date,
so a dial planned before the change and one after it are judged each by its own law.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
# Loi 2025-594, art. 13, II: the new L. 223-1 applies from 11 August 2026 (French time).
CONSENT_REGIME_FROM = datetime(2026, 8, 11, tzinfo=PARIS)


class Regime(StrEnum):
    OPPOSITION = "opposition"  # Bloctel: call unless the consumer objected
    CONSENT = "consent"  # call only with a prior, provable consent


class Basis(StrEnum):
    """Why a campaign may call these people at all, stated at its creation."""

    CONSENT = "consent"  # consumers who consented (for this company and purpose)
    CONTRACT = "contract"  # customers with a contract in progress, about its subject
    B2B = "b2b"  # professional numbers of companies
    NOT_PROSPECTING = "not_prospecting"  # reminders, surveys: no sales content


# A campaign that states none (created before the law's columns existed) is held to the strictest.
DEFAULT_BASIS = Basis.CONSENT
# Bases under which the calls are canvassing (démarchage): the ARCEP numbering rule binds them.
PROSPECTING = frozenset({Basis.CONSENT, Basis.B2B})

L223_1 = "L223-1 C. consom. (loi 2025-594)"
L223_1_OLD = "L223-1 C. consom. (rédaction antérieure à la loi 2025-594), liste Bloctel"
D223_8 = "D223-8 C. consom. (décret 2022-1313 du 13 octobre 2022)"
D223_9 = "D223-9 C. consom. (décret 2022-1313 du 13 octobre 2022)"
RGPD_21 = "art. 21 RGPD et L223-1 C. consom. (droit d'opposition)"
ARCEP = "plan de numérotation ARCEP, décision n° 2022-1583 (numéros dédiés au démarchage)"
AI_ACT = "règlement (UE) 2024/1689 (AI Act), art. 50 §1"
RGPD_17 = "art. 17 RGPD (droit à l'effacement)"

# reason → the legal text it applies (what the reasons and the audit name).
LEGAL_TEXT: dict[str, str] = {
    "outside_hours": D223_8,
    "weekend": D223_8,
    "public_holiday": D223_8,
    "frequency_cap": D223_9,
    "refusal_cooloff": D223_9,
    "opt_out": RGPD_21,
    "blacklist": "liste d'exclusion interne de l'opérateur",
    "bloctel": L223_1_OLD,
    "no_consent": L223_1,
    "no_contract": L223_1 + ", exception du contrat en cours",
    "no_company": L223_1 + " (protège le consommateur: un appel b2b vise un professionnel)",
    "no_sales_declaration": L223_1 + " (hors démarchage: aucun contenu commercial déclaré)",
    "banned_sector": "",  # per sector: bot.compliance.sectors
}

# The legal basis → the text that permits calling under it.
BASIS_TEXT: dict[Basis, str] = {
    Basis.CONSENT: L223_1 + ", consentement préalable",
    Basis.CONTRACT: L223_1 + ", contrat en cours",
    Basis.B2B: "L223-1 C. consom. (consommateurs seulement): démarchage entre professionnels",
    Basis.NOT_PROSPECTING: "hors démarchage (L223-1 C. consom. ne s'applique pas)",
}


def regime_at(at: datetime) -> Regime:
    """The regime in force at `at` (aware)."""
    return Regime.CONSENT if at >= CONSENT_REGIME_FROM else Regime.OPPOSITION


def parse_basis(value: str | None) -> Basis:
    """ValueError naming the accepted values."""
    try:
        return Basis(value)
    except ValueError:
        raise ValueError(f"base légale {value!r} inconnue (une de: {', '.join(b.value for b in Basis)})") from None
