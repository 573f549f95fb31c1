"""Kenyan mobile numbers in the one form M-Pesa and the rest of Hazina use: 2547XXXXXXXX / 2541XXXXXXXX.

The rule itself is ``hazina_contracts.phones.Msisdn``, shared with every service; this only says
it in origination's error.
"""

from __future__ import annotations

from hazina_contracts.phones import Msisdn, MsisdnError
from hazina_origination.domain.errors import InvalidInputError


def normalise_phone(raw: str, *, field: str = "phone") -> Msisdn:
    """Accept 07…, 01…, 7…, +254…, 254… (spaces and dashes allowed); refuse anything not a Kenyan mobile."""
    try:
        return Msisdn.parse(raw or "", field=field)
    except MsisdnError as exc:
        raise InvalidInputError(str(exc)) from None
