"""Kenyan mobile numbers in the one form M-Pesa and the rest of Hazina use: 2547XXXXXXXX / 2541XXXXXXXX."""

from __future__ import annotations

import phonenumbers

from hazina_origination.domain.errors import InvalidInputError


def normalise_phone(raw: str, *, field: str = "phone") -> str:
    """Accept 07…, 01…, 7…, +254…, 254… (spaces and dashes allowed); refuse anything not a Kenyan mobile."""
    text = (raw or "").strip()
    if not text:
        raise InvalidInputError(f"{field} is required")
    try:
        number = phonenumbers.parse(text, "KE")
    except phonenumbers.NumberParseException:
        raise InvalidInputError(f"{field} '{text}' is not a phone number") from None
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != "KE"
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise InvalidInputError(f"{field} '{text}' is not a valid Kenyan mobile number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    if not (e164.startswith("2547") or e164.startswith("2541")) or len(e164) != 12:
        raise InvalidInputError(f"{field} '{text}' is not a valid Kenyan mobile number")
    return e164
