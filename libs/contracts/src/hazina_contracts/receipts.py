"""Receipt numbers: the key of every money-in, read and normalised once, where it comes in.

A ``ReceiptNumber`` is what the ledger keys a payment on: an M-Pesa receipt, a bank reference or
a staff transaction id (``CASH-0042``). An ``MpesaReceipt`` is the stricter shape Daraja sends
(``TAF2K9LMNP``: 6 to 20 letters and digits) and is also a ``ReceiptNumber``.

Both are ``str`` subclasses whose constructor is the one parser: it trims, upper-cases (staff
typing ``taf2k9lmnp`` mean the same payment) and checks the shape, so a value of either type is
always normalised and valid. Constructing one from a value of the type returns it unchanged, so
code further in takes the type and never normalises or checks again. Used as a pydantic field
type they validate the same way, and their JSON Schema stays ``{"type": "string"}``: on the wire
they are the same strings as before.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

# Longer raw text is refused before it is copied, trimmed or upper-cased.
_MAX_RAW = 256


class ReceiptError(ValueError):
    """Text that is not a receipt number of the shape asked for."""


def _shown(value: str) -> str:
    """The refused text, quoted, when it is short and printable (never echo control characters)."""
    return f"'{value}' " if len(value) <= 40 and value.isprintable() else ""


class ReceiptNumber(str):
    """A payment's receipt number: 1-64 upper-case letters, digits or ``. _ : / -``, starting
    with a letter or digit (an M-Pesa receipt, a bank reference or a staff transaction id)."""

    __slots__ = ()

    _SHAPE: ClassVar[re.Pattern[str]] = re.compile(r"[A-Z0-9][A-Z0-9._:/-]{0,63}", re.ASCII)
    _RULE: ClassVar[str] = (
        "must be 1-64 letters, digits or . _ : / - (an M-Pesa receipt or bank reference)"
    )

    def __new__(cls, value: object) -> Self:
        if isinstance(value, cls):
            return value  # already read (a stricter subtype is one too)
        if not isinstance(value, str):
            raise ReceiptError(f"a receipt number is text; {cls._RULE}")
        if len(value) > _MAX_RAW:
            raise ReceiptError(f"the receipt number is too long: it {cls._RULE}")
        text = value.strip().upper()
        if not text:
            raise ReceiptError("a receipt number must not be empty")
        if not cls._SHAPE.fullmatch(text):
            raise ReceiptError(f"receipt number {_shown(value.strip())}{cls._RULE}")
        return super().__new__(cls, text)

    @classmethod
    def parse(cls, value: object) -> Self:
        """Read a receipt number from what a rail or a person sent; raises ``ReceiptError``."""
        return cls(value)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Checked and normalised after pydantic's own str check; the JSON Schema stays a string.
        return core_schema.no_info_after_validator_function(cls, core_schema.str_schema())


class MpesaReceipt(ReceiptNumber):
    """An M-Pesa transaction id (TransID, MpesaReceiptNumber): 6 to 20 letters and digits."""

    __slots__ = ()

    _SHAPE: ClassVar[re.Pattern[str]] = re.compile(r"[A-Z0-9]{6,20}", re.ASCII)
    _RULE: ClassVar[str] = "must be 6 to 20 letters and digits (an M-Pesa receipt)"
