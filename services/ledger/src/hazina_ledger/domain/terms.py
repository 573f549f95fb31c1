"""Loan terms as stored on the loan account (JSON-friendly), and the schedule terms they give."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hazina_contracts.money import MoneyParseError, parse_kes_to_cents, parse_plain_decimal
from hazina_ledger.domain.errors import ScheduleTermsError
from hazina_ledger.domain.rounding import RoundingMode, parse_rounding_mode
from hazina_ledger.domain.schedule import (
    FeeKind,
    Frequency,
    Instalment,
    InterestMethod,
    LoanFee,
    RatePeriod,
    ScheduleTerms,
    WeeklyMonthConvention,
)


def _decimal(value: object, what: str) -> Decimal:
    """A stored or requested rate or fee value, read by the one bounded decimal parser."""
    try:
        return parse_plain_decimal(value, what=what, allow_negative=True)
    except MoneyParseError as exc:
        raise ScheduleTermsError(str(exc)) from None


def kes_to_cents(value: object, what: str) -> int:
    """A KES amount in the terms (the instalment multiple), read by the one amount parser."""
    try:
        return parse_kes_to_cents(value, allow_negative=True)
    except MoneyParseError as exc:
        raise ScheduleTermsError(f"{what}: {exc}") from None


def _choice(enum: type[Any], value: object, what: str) -> Any:
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        names = ", ".join(e.value for e in enum)
        raise ScheduleTermsError(f"{what} '{value}' is not one of {names}") from None


def schedule_terms(stored: dict[str, Any]) -> ScheduleTerms:
    """Build validated schedule terms from their stored (or requested) form."""
    fees = tuple(
        LoanFee(
            name=str(fee.get("name", "fee")),
            kind=_choice(FeeKind, fee.get("kind", "flat"), "fee kind"),
            value=_decimal(fee.get("value", "0"), "fee value"),
        )
        for fee in stored.get("fees", [])
    )
    multiple = stored.get("instalment_multiple_of_cents")
    if multiple is None:
        multiple = kes_to_cents(stored.get("instalment_multiple_of", "0.01"), "instalment multiple")
    term = stored.get("term")
    if not isinstance(term, int) or isinstance(term, bool):
        raise ScheduleTermsError("term must be a whole number of periods")
    return ScheduleTerms(
        method=_choice(InterestMethod, stored.get("interest_method"), "interest method"),
        rate_percent=_decimal(stored.get("interest_rate_percent"), "interest rate"),
        rate_period=_choice(
            RatePeriod, stored.get("interest_rate_period", "month"), "interest rate period"
        ),
        frequency=_choice(
            Frequency, stored.get("repayment_frequency", "monthly"), "repayment frequency"
        ),
        term=term,
        instalment_multiple_of_cents=int(multiple),
        fees=fees,
        rounding=parse_rounding_mode(str(stored.get("rounding", RoundingMode.HALF_EVEN.value))),
        weekly_month_convention=_choice(
            WeeklyMonthConvention,
            stored.get("weekly_month_convention", WeeklyMonthConvention.CALENDAR.value),
            "weekly month convention",
        ),
    )


def instalment_rows(instalments: tuple[Instalment, ...] | list[Instalment]) -> list[list[Any]]:
    """Stored form: ``[[number, due_on, principal, interest, fee], ...]``."""
    return [
        [i.number, i.due_on.isoformat(), i.principal_cents, i.interest_cents, i.fee_cents]
        for i in instalments
    ]


def instalments_from_rows(rows: list[list[Any]]) -> list[Instalment]:
    return [
        Instalment(int(n), dt.date.fromisoformat(str(d)), int(p), int(i), int(f))
        for n, d, p, i, f in rows
    ]
