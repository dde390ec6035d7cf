"""What a campaign must state about the law before it exists, and before it starts.

At creation (`check_legal`): a legal basis (no default), what that basis needs (the contract's
subject; the declaration that a non-prospecting campaign has no sales content), a sector that is not
banned for that basis, and a legal ground for any override that loosens the French rules. At start
(`check_caller_id_for`): the number presented, which a prospecting campaign must take from ARCEP's
canvassing ranges. Messages are French: operators read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .caller_id import check_caller_id
from .law import PROSPECTING, Basis, parse_basis
from .overrides import loosening
from .rules import ComplianceRules
from .sectors import banned_for, sector


@dataclass(frozen=True)
class CampaignLaw:
    """The legal statements of one campaign (the columns of migration 0004)."""

    legal_basis: str | None = None
    sector: str | None = None
    advertiser: str | None = None
    purpose: str | None = None
    contract_subject: str | None = None
    no_sales_declared: bool = False
    caller_id: str | None = None
    legal_ground: str | None = None

    @classmethod
    def of(cls, settings: dict[str, Any]) -> CampaignLaw:
        return cls(**{k: settings.get(k) for k in LEGAL_FIELDS if settings.get(k) is not None})

    def as_settings(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in LEGAL_FIELDS}


# The campaign's legal columns, in one place: the store reads and writes exactly these.
LEGAL_FIELDS = tuple(f.name for f in fields(CampaignLaw))


@dataclass
class CallerIdVerdict:
    refusals: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_legal(law: CampaignLaw, compliance: dict | None) -> list[str]:
    """What the law refuses in these statements (French); empty when nothing."""
    return [message for _, message in legal_problems(law, compliance)]


def legal_problems(law: CampaignLaw, compliance: dict | None) -> list[tuple[str, str]]:
    """(field, message) for each thing the law refuses: the API names the field at fault."""
    if not law.legal_basis:
        return [("legal_basis", "base légale requise: --basis consent (consentement préalable), contract (clients "
                "sous contrat), b2b (professionnels) ou not_prospecting (hors démarchage); aucune base par défaut "
                "(L223-1 C. consom., loi 2025-594)")]
    try:
        basis = parse_basis(law.legal_basis)
    except ValueError as exc:
        return [("legal_basis", str(exc))]
    problems = []
    if basis is Basis.CONTRACT and not (law.contract_subject or "").strip():
        problems.append(("contract_subject", "base contract: indiquez l'objet du contrat en cours "
                         "(--contract-subject); seuls les appels sur cet objet sont permis "
                         "(L223-1 C. consom., loi 2025-594)"))
    if basis is Basis.NOT_PROSPECTING and not law.no_sales_declared:
        problems.append(("no_sales_declared", "base not_prospecting: déclarez que la campagne n'a aucun contenu "
                                              "commercial (--no-sales); sinon c'est du démarchage"))
    try:
        named = sector(law.sector)
    except ValueError as exc:
        problems.append(("sector", str(exc)))
        named = None
    if named is not None and banned_for(named.name, basis) is not None:
        allowed = " (seule la base contract, pour un contrat en cours, le permet)" if named.contract_exception else ""
        problems.append(("sector", f"secteur {named.name} ({named.label}): démarchage téléphonique interdit "
                                   f"({named.legal_text}){allowed}"))
    try:
        rules = ComplianceRules.for_campaign(compliance)
    except ValueError:
        return problems  # reported by the rules' own check
    laxer = loosening(rules)
    if laxer and not (law.legal_ground or "").strip():
        problems.append(("legal_ground", "ces réglages assouplissent les règles françaises sans fondement légal "
                                         "indiqué (--legal-ground): " + "; ".join(laxer)))
    return problems


def check_caller_id_for(law: CampaignLaw, default_caller_id: str | None) -> CallerIdVerdict:
    """The campaign's caller ID (its own, else the dial settings'): refused for a prospecting campaign
    outside the ARCEP ranges, a warning for other bases."""
    verdict = CallerIdVerdict()
    try:
        basis = parse_basis(law.legal_basis or "consent")
    except ValueError:
        basis = Basis.CONSENT
    checked = check_caller_id(law.caller_id or default_caller_id)
    if not checked.ok:
        if basis in PROSPECTING:
            verdict.refusals.append(f"numéro présenté refusé pour une campagne de démarchage ({basis.value}): "
                                    f"{checked.problem}")
        else:
            verdict.warnings.append(f"numéro présenté hors des tranches de démarchage ({basis.value}, permis hors "
                                    f"démarchage): {checked.problem}")
    return verdict
