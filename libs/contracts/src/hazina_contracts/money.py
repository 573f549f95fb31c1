"""Money as integer minor units (cents) with a currency; parsed from text with Decimal, never float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

KES: Literal["KES"] = "KES"
CENTS_PER_UNIT = 100
# Far above any loan a microlender writes, far below int64: rejects typos and overflow alike.
MAX_CENTS = 10**15


class MoneyParseError(ValueError):
    """An amount that cannot be read as an exact sum of money."""


def parse_kes_to_cents(
    value: object, *, allow_negative: bool = False, allow_zero: bool = True
) -> int:
    """Read a KES amount given as a decimal string, int or float into integer cents.

    Floats are accepted only when their shortest decimal form has at most two places
    (``1200.5`` is fine, ``0.1 + 0.2`` is binary noise and is refused).
    """
    if isinstance(value, bool):
        raise MoneyParseError("amount must be a number, not a boolean")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)  # shortest round-tripping decimal form
        if "e" in text or "E" in text or "inf" in text or "nan" in text:
            raise MoneyParseError("amount must be an ordinary decimal number")
    elif isinstance(value, str | Decimal):
        text = str(value).strip().replace(",", "") if isinstance(value, str) else str(value)
    else:
        raise MoneyParseError("amount must be a number or a decimal string")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyParseError(f"'{value}' is not a valid amount") from None
    if not amount.is_finite():
        raise MoneyParseError("amount must be a finite number")
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int) or (
        exponent < -2 and amount != amount.quantize(Decimal("0.01"))
    ):
        raise MoneyParseError("amount may have at most 2 decimal places")
    if amount < 0 and not allow_negative:
        raise MoneyParseError("amount must not be negative")
    if amount == 0 and not allow_zero:
        raise MoneyParseError("amount must be greater than zero")
    cents = int(amount * CENTS_PER_UNIT)
    if abs(cents) > MAX_CENTS:
        raise MoneyParseError("amount is too large")
    return cents


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


class Money(BaseModel):
    """An exact sum of money in minor units."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_cents: int = Field(ge=-MAX_CENTS, le=MAX_CENTS)
    currency: Literal["KES"] = KES

    @classmethod
    def kes(cls, value: object) -> Money:
        return cls(amount_cents=parse_kes_to_cents(value, allow_negative=True))

    def __add__(self, other: Money) -> Money:
        return Money(amount_cents=self.amount_cents + other.amount_cents, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(amount_cents=self.amount_cents - other.amount_cents, currency=self.currency)

    def __str__(self) -> str:
        return f"{self.currency} {format_cents(self.amount_cents)}"


def _positive_kes(value: Any) -> int:
    return parse_kes_to_cents(value, allow_zero=False)


def _non_negative_kes(value: Any) -> int:
    return parse_kes_to_cents(value)


# For request schemas: a KES amount as a number or decimal string, validated into integer cents.
PositiveKesCents = Annotated[int, BeforeValidator(_positive_kes)]
NonNegativeKesCents = Annotated[int, BeforeValidator(_non_negative_kes)]
