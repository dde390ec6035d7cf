"""Sectors where telephone canvassing is banned outright, whatever the consent.

- energy renovation work (rénovation énergétique): L. 223-1 C. consom. as amended by loi n° 2020-901
  du 24 juillet 2020, save calls within the performance of a contract in progress;
- work adapting housing to disability or ageing (adaptation du logement): the same article as
  amended by loi n° 2025-594, with the same exception;
- training financed by the CPF (compte personnel de formation): L. 6323-8-1 du code du travail
  (loi n° 2022-1587 du 19 décembre 2022), no exception.

A campaign declares its sector (bot.compliance.campaign); creation and every dial refuse a banned one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .law import Basis


@dataclass(frozen=True)
class Sector:
    name: str
    label: str  # French, for operators
    banned: bool
    legal_text: str = ""
    contract_exception: bool = False  # calls within a contract in progress stay lawful


SECTORS: dict[str, Sector] = {s.name: s for s in (
    Sector("renovation_energetique", "rénovation énergétique", True,
           "L223-1 C. consom. (loi 2020-901 du 24 juillet 2020)", contract_exception=True),
    Sector("adaptation_logement", "adaptation du logement au handicap ou au vieillissement", True,
           "L223-1 C. consom. (loi 2025-594)", contract_exception=True),
    Sector("formation_cpf", "formation financée par le CPF", True,
           "L6323-8-1 C. trav. (loi 2022-1587 du 19 décembre 2022)"),
    Sector("assurance", "assurance", False),
    Sector("energie", "fourniture d'énergie", False),
    Sector("telecom", "télécommunications", False),
    Sector("banque", "banque et crédit", False),
    Sector("immobilier", "immobilier", False),
    Sector("sante", "santé et rendez-vous médicaux", False),
    Sector("commerce", "commerce et distribution", False),
    Sector("services", "services aux particuliers", False),
    Sector("autre", "autre", False),
)}


def sector(name: str | None) -> Sector | None:
    """The sector named (None for none); ValueError for an unknown name, listing the known ones."""
    if name is None:
        return None
    found = SECTORS.get(name)
    if found is None:
        raise ValueError(f"secteur {name!r} inconnu (un de: {', '.join(SECTORS)})")
    return found


def banned_for(name: str | None, basis: Basis) -> Sector | None:
    """The banned sector that forbids calls under `basis`, or None when the calls are allowed."""
    found = sector(name)
    if found is None or not found.banned:
        return None
    if basis is Basis.CONTRACT and found.contract_exception:
        return None
    return found
