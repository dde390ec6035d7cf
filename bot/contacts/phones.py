"""Phone numbers as MiniBot stores and dials them: E.164, parsed by `phonenumbers`."""

from __future__ import annotations

import phonenumbers

from ..i18n import _


class InvalidPhone(ValueError):
    """The text is not a callable number; the message says why."""


def to_e164(raw: str, region: str = "FR") -> str:
    """'06 12 34 56 78' → '+33612345678'. InvalidPhone with the reason otherwise."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone(_("numéro vide"))
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        # phonenumbers' own reason is English: the operator reads only ours
        raise InvalidPhone(_("pas un numéro de téléphone : {text!r}").format(text=text)) from None
    if not phonenumbers.is_possible_number(number):
        country = phonenumbers.region_code_for_number(number) or region
        raise InvalidPhone(_("longueur incorrecte pour un numéro {country} : {text!r}").format(
            country=country, text=text))
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(_("numéro inexistant dans son plan de numérotation : {text!r}").format(text=text))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
