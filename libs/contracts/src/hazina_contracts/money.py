"""Money as integer minor units (cents) with a currency; read exactly from text, never via float.

Amounts come in from people and rails as JSON numbers or decimal strings. Every one is read by
``parse_kes_to_cents``: the text's shape is checked with a short regex over a bounded length
*before* anything is converted, so no input (``1e999999``, a megabyte of digits) can make Decimal
do heavy work, and nothing ambiguous (``1,000``, `` 12``, ``0x10``, ``1e5``) is guessed at.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, GetCoreSchemaHandler, PlainSerializer
from pydantic_core import core_schema

KES: Literal["KES"] = "KES"
CENTS_PER_UNIT = 100
# Far above any loan a microlender writes, far below int64: rejects typos and overflow alike.
MAX_CENTS = 10**15
# The longest amount text read at all: a sign, 20 digits, a point and 2 decimals, with room for
# grouping commas. Anything longer is refused before any conversion.
MAX_AMOUNT_TEXT = 32

_PLAIN = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)
_GROUPED = re.compile(r"(-?)([0-9]{1,3}(?:,[0-9]{3})+)(?:\.([0-9]+))?", re.ASCII)
_NOT_FINITE = {"nan", "snan", "inf", "infinity"}


class MoneyParseError(ValueError):
    """An amount that cannot be read as an exact sum of money."""


def _shown(value: str) -> str:
    """The refused text, quoted, when it is short and printable (never echo control characters)."""
    return f"'{value}' " if len(value) <= MAX_AMOUNT_TEXT and value.isprintable() else ""


def _amount_text(value: object) -> str:
    """The decimal text of an amount given as an int, float, Decimal or string (shape not yet checked)."""
    if isinstance(value, bool):
        raise MoneyParseError("amount must be a number, not a boolean")
    if isinstance(value, int):
        if abs(value) > MAX_CENTS:  # before str(): a huge int is refused without formatting it
            raise MoneyParseError("amount is too large")
        return str(value)
    if isinstance(value, float):
        text = repr(value)  # the shortest decimal form that round-trips
        if "e" in text or "inf" in text or "nan" in text:
            raise MoneyParseError("amount must be an ordinary decimal number")
        return text
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyParseError("amount must be a finite number")
        if not value:
            return "0"
        if value.adjusted() > 20:  # cheap, before any formatting or rounding
            raise MoneyParseError("amount is too large")
        if value.adjusted() < -3:
            raise MoneyParseError("amount may have at most 2 decimal places")
        exponent = value.as_tuple().exponent
        exact = (
            value.quantize(Decimal("0.01"))
            if isinstance(exponent, int) and exponent < -2
            else value
        )
        if exact != value:
            raise MoneyParseError("amount may have at most 2 decimal places")
        return format(exact, "f")
    if isinstance(value, str):
        if len(value) > MAX_AMOUNT_TEXT:
            raise MoneyParseError("amount is too long to be an amount of money")
        return value
    raise MoneyParseError("amount must be a number or a decimal string")


def _refusal(text: str) -> MoneyParseError:
    """Say what is wrong with an amount's text in words the person who typed it can act on."""
    lowered = text.lower().lstrip("+-")
    if lowered in _NOT_FINITE:
        return MoneyParseError("amount must be a finite number")
    if text != text.strip() or any(ch.isspace() for ch in text):
        return MoneyParseError("amount must not contain spaces")
    if "," in text:
        return MoneyParseError(f"amount {_shown(text)}must not contain thousands separators")
    if "e" in lowered and set(lowered) <= set("0123456789.e-+"):
        return MoneyParseError(f"amount {_shown(text)}must be written out in digits, no exponent")
    if text.startswith("+"):
        return MoneyParseError("amount must not start with '+'")
    return MoneyParseError(
        f"{_shown(text) or 'the text given '}is not a valid amount: write digits with at most "
        "two decimal places, e.g. 1200.50"
    )


def parse_kes_to_cents(
    value: object,
    *,
    allow_negative: bool = False,
    allow_zero: bool = True,
    allow_grouping: bool = False,
) -> int:
    """Read a KES amount into integer cents: the one parser for every amount that comes in.

    Accepted: a JSON int; a float whose shortest decimal form has at most two places (``1200.5``
    is fine, ``0.1 + 0.2`` is binary noise and is refused); a string of ASCII digits with an
    optional ``.`` and one or two decimals, with a leading ``-`` only when ``allow_negative``.
    Refused: exponents, thousands separators (unless ``allow_grouping``: a document such as an
    M-Pesa statement writes ``1,200.00``, and only correct three-digit groups are read), spaces,
    ``+``, a leading or trailing ``.``, NaN and infinities, booleans, and anything longer than
    ``MAX_AMOUNT_TEXT``. At most ``MAX_CENTS`` either way.
    """
    text = _amount_text(value)
    match = _PLAIN.fullmatch(text) or (_GROUPED.fullmatch(text) if allow_grouping else None)
    if match is None:
        raise _refusal(text)
    sign, whole, fraction = match.groups()
    fraction = fraction or ""
    if len(fraction) > 2:
        raise MoneyParseError("amount may have at most 2 decimal places")
    # Exact integer arithmetic on at most MAX_AMOUNT_TEXT checked digits: no rounding, no float.
    cents = int(whole.replace(",", "")) * CENTS_PER_UNIT + int(fraction.ljust(2, "0"))
    if sign and cents and not allow_negative:
        raise MoneyParseError("amount must not be negative")
    if cents == 0 and not allow_zero:
        raise MoneyParseError("amount must be greater than zero")
    if cents > MAX_CENTS:
        raise MoneyParseError("amount is too large")
    return -cents if sign else cents


_DECIMAL = re.compile(r"(-?)([0-9]{1,15})(?:\.([0-9]+))?", re.ASCII)
MAX_DECIMAL_TEXT = 40


def parse_plain_decimal(
    value: object, *, what: str = "", max_places: int = 12, allow_negative: bool = False
) -> Decimal:
    """Read a rate, percentage or ratio (not money) exactly, with the same bounded shape check.

    Up to 15 integer digits and ``max_places`` decimals (trailing zeros not counted); no
    exponent, separators, spaces or '+'. Raises ``MoneyParseError`` (a ``ValueError``) whose
    message starts with ``what`` (or with the verb, for a caller that names the field itself).
    """
    subject = f"{what} " if what else ""
    if isinstance(value, bool):
        raise MoneyParseError(f"{subject}must be a number, not a boolean")
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int):
        if abs(value) >= 10**15:
            raise MoneyParseError(f"{subject}is too large")
        text = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyParseError(f"{subject}must be a finite number")
        if value and not -max_places - 1 <= value.adjusted() < 15:
            raise MoneyParseError(f"{subject}is out of range")
        text = format(value, "f") if value else "0"
    elif isinstance(value, str):
        text = value
    else:
        raise MoneyParseError(f"{subject}must be a number or a decimal string")
    if len(text) > MAX_DECIMAL_TEXT:
        raise MoneyParseError(f"{subject}is too long to be a number")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        if text.lower().lstrip("+-") in _NOT_FINITE:
            raise MoneyParseError(f"{subject}must be a finite number")
        raise MoneyParseError(
            f"{subject}{_shown(text) or 'the text given '}is not a plain decimal number "
            "(digits with an optional '.')"
        )
    sign, whole, fraction = match.groups()
    fraction = (fraction or "").rstrip("0")
    if len(fraction) > max_places:
        raise MoneyParseError(f"{subject}may have at most {max_places} decimal places")
    number = Decimal(f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}")
    if number < 0 and not allow_negative:
        raise MoneyParseError(f"{subject}must not be negative")
    return number


def format_cents(cents: int) -> str:
    """Render cents as a KES decimal string, e.g. 120050 -> '1200.50'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), CENTS_PER_UNIT)
    return f"{sign}{whole}.{part:02d}"


def kes_number(cents: int) -> int | Decimal:
    """Cents as the KES JSON number the staff frontend's ``amount``/``amountKES`` fields expect.

    Whole shillings stay integers; otherwise an exact two-place Decimal, which the JSON encoder
    writes as the same short number. Display only: the ``*_cents`` fields carry the amounts.
    """
    whole, part = divmod(cents, CENTS_PER_UNIT)
    return whole if part == 0 else Decimal(cents).scaleb(-2)


def kes_json(cents: int) -> int | float:
    """Cents as the shillings JSON number a page shows (display only; ``*_cents`` carry amounts).

    Always a JSON number, never text, which a page would concatenate instead of add: whole
    shillings as an integer, otherwise the float of the exact two-place amount (a whole number
    of cents prints back exactly: ``1200.5``).
    """
    value = kes_number(cents)
    return value if isinstance(value, int) else float(value)


# For response models: a field that holds cents and is written as ``kes_json`` of them.
KesNumber = Annotated[int, PlainSerializer(kes_json, return_type=int | float)]


def format_kes(cents: int, *, unit: bool = True, drop_zero_cents: bool = False) -> str:
    """KES as people read it: ``KES 1,200.50`` (grouped thousands, two decimals).

    ``unit=False`` leaves out the ``KES`` (a text that writes it itself); ``drop_zero_cents``
    writes whole shillings without decimals (``1,250``), as borrowers write them in an SMS.
    """
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), CENTS_PER_UNIT)
    number = f"{whole:,}" if drop_zero_cents and part == 0 else f"{whole:,}.{part:02d}"
    return f"KES {sign}{number}" if unit else f"{sign}{number}"


class AmountCents(int):
    """A sum of money that moves: a positive whole number of cents, at most ``MAX_CENTS``.

    The constructor is the one check (a bool, a float or text is refused: amounts people type
    are read by ``AmountCents.from_kes``); constructing one from an ``AmountCents`` returns it
    unchanged, so code further in takes the type and does not check again. Arithmetic gives a
    plain ``int`` (a difference may be zero or negative). As a pydantic field type it validates
    like ``int = Field(gt=0)`` and has that JSON Schema: on the wire it is the same integer.
    """

    __slots__ = ()

    def __new__(cls, value: object) -> Self:
        if type(value) is cls:
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            raise MoneyParseError("an amount in cents must be a whole number of cents")
        if value <= 0:
            raise MoneyParseError("amount must be greater than zero")
        if value > MAX_CENTS:
            raise MoneyParseError("amount is too large")
        return super().__new__(cls, value)

    @classmethod
    def from_kes(cls, value: object) -> Self:
        """A positive KES amount (number or decimal text, see ``parse_kes_to_cents``) in cents."""
        return cls(parse_kes_to_cents(value, allow_zero=False))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(cls, core_schema.int_schema(gt=0))


def _positive_kes(value: Any) -> AmountCents:
    return AmountCents.from_kes(value)


def _signed_kes(value: Any) -> int:
    return parse_kes_to_cents(value, allow_negative=True)


# For request schemas: a KES amount as a number or decimal string, validated into integer cents.
PositiveKesCents = Annotated[AmountCents, BeforeValidator(_positive_kes)]
SignedKesCents = Annotated[int, BeforeValidator(_signed_kes)]


def _decimal_text(value: Any) -> str:
    return format(parse_plain_decimal(value, allow_negative=True), "f")


# For request schemas: a rate, percentage or ratio sent as a number or a decimal string, kept as
# plain decimal text ("8.5", "0.2", "12") for the domain to range-check; exponents, separators
# and over-long text are refused at the edge.
DecimalText = Annotated[str, BeforeValidator(_decimal_text)]
