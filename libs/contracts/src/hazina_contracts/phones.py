"""Kenyan mobile numbers (MSISDNs) in the one form M-Pesa and all of Hazina use: 2547XXXXXXXX / 2541XXXXXXXX.

``+254712345678``, ``254712345678``, ``0712345678``, ``712345678`` and ``0712 345-678`` are the
same person. ``Msisdn`` is a ``str`` subclass whose constructor is the one parser: whatever form
comes in, the value is the 12-digit international form without ``+``, and only a number in
Kenya's mobile ranges (as the ``phonenumbers`` library knows them) is accepted. Constructing one
from an ``Msisdn`` returns it unchanged, so code further in never normalises a phone again.

The common forms are read by a short regex and checked against the mobile ranges taken from
``phonenumbers``' own metadata; anything else (``+254 (0) 712 ...``, full-width digits, ``tel:``)
goes to ``phonenumbers`` itself, so exactly what it accepts is accepted, and the busy path stays
cheap. ``phonenumbers`` is imported on first use: most services never read a phone.

Daraja's C2B callbacks send the payer's number masked or hashed; those are not an ``Msisdn`` and
stay as sent (``PaymentReceived.msisdn``).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Self

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

# Longer raw text is refused before any parsing (phonenumbers' own limit).
_MAX_RAW = 250
# A national number (9 digits, 1 or 7 first) after an optional +254, 254 or trunk 0, once spaces
# and dashes are gone. Anything else is left to phonenumbers.
_COMMON = re.compile(r"(?:\+?254|0)?([17][0-9]{8})", re.ASCII)
_SEPARATORS = str.maketrans("", "", " -")


class MsisdnError(ValueError):
    """Text that is not a Kenyan mobile number."""


@functools.cache
def _mobile_range() -> re.Pattern[str]:
    """Kenya's mobile national numbers, from the metadata ``phonenumbers`` validates with."""
    from phonenumbers import PhoneMetadata  # imported on first use (see above)

    metadata = PhoneMetadata.metadata_for_region("KE")
    mobile = metadata.mobile if metadata is not None else None
    if mobile is None or mobile.national_number_pattern is None:  # pragma: no cover
        raise RuntimeError("phonenumbers has no metadata for Kenyan mobiles")
    return re.compile(mobile.national_number_pattern, re.ASCII)


def _by_phonenumbers(text: str, subject: str) -> str:
    """The number as ``phonenumbers`` reads it with Kenya as the default region."""
    import phonenumbers  # imported on first use (see above)

    shown = f"'{text}' " if len(text) <= _MAX_RAW and text.isprintable() else ""
    try:
        number = phonenumbers.parse(text, "KE")
    except phonenumbers.NumberParseException:
        raise MsisdnError(f"{subject}{shown}is not a phone number") from None
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != "KE"
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise MsisdnError(f"{subject}{shown}is not a valid Kenyan mobile number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    if len(e164) != 12 or not e164.startswith(("2547", "2541")):
        raise MsisdnError(f"{subject}{shown}is not a valid Kenyan mobile number")
    return e164


class Msisdn(str):
    """A Kenyan mobile number, ``2547XXXXXXXX`` or ``2541XXXXXXXX``."""

    __slots__ = ()

    def __new__(cls, value: object, field: str | None = None) -> Self:
        if isinstance(value, cls):
            return value
        subject = f"{field} " if field else ""
        if not isinstance(value, str):
            raise MsisdnError(f"{subject or 'a phone number '}must be text")
        text = value.strip()
        if not text:
            raise MsisdnError(f"{subject or 'a phone number '}is required")
        if len(text) > _MAX_RAW:
            raise MsisdnError(f"{subject or 'the phone number '}is too long to be a phone number")
        common = _COMMON.fullmatch(text.translate(_SEPARATORS))
        if common is not None and _mobile_range().fullmatch(common.group(1)):
            return super().__new__(cls, "254" + common.group(1))
        return super().__new__(cls, _by_phonenumbers(text, subject))

    @classmethod
    def parse(cls, value: object, *, field: str | None = None) -> Self:
        """Read a phone number a person or a rail sent; ``field`` names it in the refusal."""
        return cls(value, field)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Checked and normalised after pydantic's own str check; the JSON Schema stays a string.
        return core_schema.no_info_after_validator_function(cls, core_schema.str_schema())
