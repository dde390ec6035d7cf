"""The number a canvassing campaign presents: ARCEP's dedicated ranges only.

Since 1 January 2023 (ARCEP decision n° 2022-1583 on the numbering plan), automated canvassing calls
must present a geographic-looking number of the ranges set aside for them: 01 62, 01 63, 02 70, 02 71,
03 77, 03 78, 04 24, 04 25, 05 68, 05 69, 09 48, 09 49, and overseas 09 475 to 09 479. Never a mobile
number (06, 07), never a withheld number: the person must be able to recognise a canvassing call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .law import ARCEP

# National significant numbers (without the leading 0) that start a canvassing range.
CANVASSING_PREFIXES = ("162", "163", "270", "271", "377", "378", "424", "425", "568", "569", "948", "949",
                       "9475", "9476", "9477", "9478", "9479")
_ANGLE = re.compile(r"<([^>]*)>")


@dataclass(frozen=True)
class CallerIdCheck:
    ok: bool
    number: str | None  # the E.164 number read, None when withheld or unreadable
    problem: str = ""  # French, for operators; names the rule
    rule: str = ARCEP


def presented_number(caller_id: str | None) -> str | None:
    """'Agence <+33162000000>' → '+33162000000'; '0162000000' → '+33162000000'; None when withheld."""
    if not caller_id:
        return None
    match = _ANGLE.search(caller_id)
    raw = match.group(1) if match else caller_id
    digits = re.sub(r"[\s.\-()]", "", raw)
    if digits.lower() in ("", "anonymous", "withheld", "restricted", "unknown", "masque", "masqué"):
        return None
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"0[1-9]\d{8}", digits):
        digits = "+33" + digits[1:]
    return digits if re.fullmatch(r"\+[1-9]\d{6,14}", digits) else None


def check_caller_id(caller_id: str | None) -> CallerIdCheck:
    """Whether the caller ID may present a canvassing campaign, with the reason when it may not."""
    number = presented_number(caller_id)
    if number is None:
        what = "aucun numéro présenté (masqué)" if not caller_id else f"numéro présenté illisible: {caller_id!r}"
        return CallerIdCheck(False, None, f"{what}; le démarchage doit présenter un numéro des tranches "
                                          f"dédiées ({ARCEP})")
    if not number.startswith("+33"):
        return CallerIdCheck(False, number, f"{number} n'est pas un numéro français des tranches dédiées au "
                                            f"démarchage ({ARCEP})")
    national = number[3:]
    if national[:1] in ("6", "7"):
        return CallerIdCheck(False, number, f"{number} est un numéro mobile; le démarchage ne peut présenter "
                                            f"qu'un numéro des tranches dédiées ({ARCEP})")
    if not national.startswith(CANVASSING_PREFIXES):
        return CallerIdCheck(False, number, f"{number} n'est pas dans les tranches dédiées au démarchage "
                                            "(01 62, 01 63, 02 70, 02 71, 03 77, 03 78, 04 24, 04 25, 05 68, "
                                            f"05 69, 09 48, 09 49, 09 475 à 09 479) ({ARCEP})")
    return CallerIdCheck(True, number)
