"""Phone numbers as MiniBot stores and dials them: E.164, parsed by `phonenumbers`."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    """The text is not a callable number; the message says why."""


def to_e164(raw: str, region: str = "FR") -> str:
    """'06 12 34 56 78' → '+33612345678'. InvalidPhone with the reason otherwise."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("empty phone number")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {text!r} ({exc})") from None
    if not phonenumbers.is_possible_number(number):
        country = phonenumbers.region_code_for_number(number) or region
        raise InvalidPhone(f"wrong length for a {country} number: {text!r}")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"no such number in its numbering plan: {text!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
