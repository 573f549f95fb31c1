"""Repayment schedules: flat, declining balance with equal instalments, declining with equal principal.

Amounts are exact fractions until each component is rounded to cents, once, under the tenant's
rounding mode; the last instalment absorbs every residue, so principal sums to the loan exactly.
This is lending.md §1.7, which reproduces Apache Fineract's expected schedules to the cent.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum
from fractions import Fraction

from hazina_ledger.domain.errors import ScheduleTermsError
from hazina_ledger.domain.rounding import RoundingMode, round_to_int, round_to_multiple

MAX_TERM = 520  # ten years of weekly instalments
MAX_RATE_PERCENT = Decimal(1000)


class InterestMethod(StrEnum):
    FLAT = "flat"
    DECLINING_EQUAL_INSTALMENTS = "declining_equal_instalments"
    DECLINING_EQUAL_PRINCIPAL = "declining_equal_principal"


class Frequency(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class RatePeriod(StrEnum):
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class WeeklyMonthConvention(StrEnum):
    """How a "per month" rate applies to weekly loans (lending.md §1.5).

    ``calendar``: Fineract's reading, monthly x 12 / 52 per week.
    ``four_weeks``: the common Kenyan reading, a month is four weeks (monthly / 4 per week).
    """

    CALENDAR = "calendar"
    FOUR_WEEKS = "four_weeks"


class FeeKind(StrEnum):
    FLAT = "flat"
    PERCENT = "percent"


@dataclass(frozen=True)
class LoanFee:
    """A fee charged on the loan: a flat KES amount or a percent of the principal."""

    name: str
    kind: FeeKind
    value: Decimal

    def amount_cents(self, principal_cents: int, mode: RoundingMode) -> int:
        if self.kind is FeeKind.FLAT:
            return round_to_int(Fraction(self.value) * 100, mode)
        return round_to_int(Fraction(principal_cents) * Fraction(self.value) / 100, mode)


@dataclass(frozen=True)
class ScheduleTerms:
    """The terms a schedule is built from; stored on the loan account as approved."""

    method: InterestMethod
    rate_percent: Decimal
    rate_period: RatePeriod
    frequency: Frequency
    term: int
    instalment_multiple_of_cents: int = 1
    fees: tuple[LoanFee, ...] = ()
    rounding: RoundingMode = RoundingMode.HALF_EVEN
    weekly_month_convention: WeeklyMonthConvention = WeeklyMonthConvention.CALENDAR

    def __post_init__(self) -> None:
        if not 1 <= self.term <= MAX_TERM:
            raise ScheduleTermsError(f"term must be between 1 and {MAX_TERM} periods")
        if not self.rate_percent.is_finite() or not 0 <= self.rate_percent <= MAX_RATE_PERCENT:
            raise ScheduleTermsError(
                f"interest rate must be between 0 and {MAX_RATE_PERCENT} percent"
            )
        if self.instalment_multiple_of_cents < 1:
            raise ScheduleTermsError("instalment multiple must be at least one cent")
        for fee in self.fees:
            if not fee.value.is_finite() or fee.value < 0:
                raise ScheduleTermsError(f"fee '{fee.name}' must not be negative")

    @property
    def rate_per_period(self) -> Fraction:
        """The exact interest rate of one repayment period, as a fraction (0.02 = 2 %)."""
        rate = Fraction(self.rate_percent) / 100
        weekly = self.frequency is Frequency.WEEKLY
        if self.rate_period is RatePeriod.YEAR:
            return rate / (52 if weekly else 12)
        if self.rate_period is RatePeriod.WEEK:
            return rate if weekly else rate * 52 / 12
        if not weekly:
            return rate
        if self.weekly_month_convention is WeeklyMonthConvention.FOUR_WEEKS:
            return rate / 4
        return rate * 12 / 52


@dataclass(frozen=True)
class Instalment:
    number: int
    due_on: dt.date
    principal_cents: int
    interest_cents: int
    fee_cents: int = 0

    @property
    def total_cents(self) -> int:
        return self.principal_cents + self.interest_cents + self.fee_cents


@dataclass(frozen=True)
class Schedule:
    principal_cents: int
    disbursed_on: dt.date
    rate_per_period: Fraction
    instalments: tuple[Instalment, ...] = field(default_factory=tuple)

    @property
    def interest_cents(self) -> int:
        return sum(i.interest_cents for i in self.instalments)

    @property
    def fee_cents(self) -> int:
        return sum(i.fee_cents for i in self.instalments)

    @property
    def total_cents(self) -> int:
        return sum(i.total_cents for i in self.instalments)

    @property
    def maturity_on(self) -> dt.date:
        return self.instalments[-1].due_on


def add_months(start: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def due_date(disbursed_on: dt.date, frequency: Frequency, number: int) -> dt.date:
    """Instalment ``number`` falls ``number`` periods after disbursement (the first one period after)."""
    if frequency is Frequency.WEEKLY:
        return disbursed_on + dt.timedelta(weeks=number)
    return add_months(disbursed_on, number)


def build_schedule(principal_cents: int, disbursed_on: dt.date, terms: ScheduleTerms) -> Schedule:
    """The repayment schedule of a loan of ``principal_cents`` disbursed on ``disbursed_on``."""
    if principal_cents <= 0:
        raise ScheduleTermsError("principal must be greater than zero")
    if terms.method is InterestMethod.FLAT:
        parts = _flat(principal_cents, terms)
    elif terms.method is InterestMethod.DECLINING_EQUAL_INSTALMENTS:
        parts = _equal_instalments(principal_cents, terms)
    else:
        parts = _equal_principal(principal_cents, terms)
    fees = _spread(
        sum(f.amount_cents(principal_cents, terms.rounding) for f in terms.fees), len(parts), terms
    )
    instalments = tuple(
        Instalment(
            number=k,
            due_on=due_date(disbursed_on, terms.frequency, k),
            principal_cents=principal,
            interest_cents=interest,
            fee_cents=fees[k - 1],
        )
        for k, (principal, interest) in enumerate(parts, start=1)
    )
    return Schedule(principal_cents, disbursed_on, terms.rate_per_period, instalments)


def _spread(total_cents: int, n: int, terms: ScheduleTerms) -> list[int]:
    """Equal parts rounded to cents, the residue in the last part.

    When rounding up would hand out more than the total before the last part (a few cents spread
    over many instalments), the parts stop at the total: no part is ever negative.
    """
    each = round_to_int(Fraction(total_cents, n), terms.rounding)
    parts, remaining = [], total_cents
    for _ in range(n - 1):
        part = min(each, remaining)
        parts.append(part)
        remaining -= part
    return [*parts, remaining]


def _flat(principal_cents: int, terms: ScheduleTerms) -> list[tuple[int, int]]:
    n, mode, multiple = terms.term, terms.rounding, terms.instalment_multiple_of_cents
    total_interest = round_to_int(principal_cents * terms.rate_per_period * n, mode)
    interest = _spread(total_interest, n, terms)
    principal = _spread(principal_cents, n, terms)
    if multiple > 1:
        # Fineract: principal' = round_m(principal) + round_m(interest) - interest, so that each
        # instalment is a multiple of m; the last instalment still takes the residue. On a loan too
        # small for its multiple, principal is capped at what remains (never negative, never more).
        remaining = principal_cents
        for k in range(n - 1):
            shifted = (
                round_to_multiple(principal[k], multiple, mode)
                + round_to_multiple(interest[k], multiple, mode)
                - interest[k]
            )
            principal[k] = min(max(shifted, 0), remaining)
            remaining -= principal[k]
        principal[-1] = remaining
    return list(zip(principal, interest, strict=True))


def equal_instalment_cents(principal_cents: int, terms: ScheduleTerms) -> int:
    """The fixed instalment (EMI) of a declining-balance loan, rounded as Fineract rounds it."""
    r, n, mode = terms.rate_per_period, terms.term, terms.rounding
    if r == 0:
        emi = round_to_int(Fraction(principal_cents, n), mode)
    else:
        growth = (1 + r) ** n
        emi = round_to_int(principal_cents * r * growth / (growth - 1), mode)
    return round_to_multiple(emi, terms.instalment_multiple_of_cents, mode)


def _equal_instalments(principal_cents: int, terms: ScheduleTerms) -> list[tuple[int, int]]:
    r, n, mode = terms.rate_per_period, terms.term, terms.rounding
    emi = equal_instalment_cents(principal_cents, terms)
    balance, parts = principal_cents, []
    for k in range(1, n + 1):
        interest = round_to_int(balance * r, mode)
        principal = balance if k == n else min(max(emi - interest, 0), balance)
        parts.append((principal, interest))
        balance -= principal
        if balance == 0:
            break  # a rounded-up instalment can repay the loan a period early
    return parts


def _equal_principal(principal_cents: int, terms: ScheduleTerms) -> list[tuple[int, int]]:
    r, mode = terms.rate_per_period, terms.rounding
    principal = _spread(principal_cents, terms.term, terms)
    balance, parts = principal_cents, []
    for part in principal:
        parts.append((part, round_to_int(balance * r, mode)))
        balance -= part
    return parts


def effective_rate_per_period(schedule: Schedule) -> Decimal:
    """The rate per period at which the instalments repay the principal (IRR), for disclosure.

    For a flat loan this is the true declining-balance cost: 10 % flat a month over six months
    costs about 15.34 % a month (lending.md §1.1).
    """
    flows = [i.total_cents for i in schedule.instalments]
    principal = schedule.principal_cents
    if sum(flows) <= principal:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 40

        def present_value(rate: Decimal) -> Decimal:
            factor, total = Decimal(1) / (1 + rate), Decimal(0)
            discount = Decimal(1)
            for flow in flows:
                discount *= factor
                total += flow * discount
            return total

        low, high = Decimal(0), Decimal(1)
        while present_value(high) > principal:
            high *= 2
            if high > 1000:
                raise ScheduleTermsError("the schedule's effective rate is out of range")
        for _ in range(80):
            mid = (low + high) / 2
            if present_value(mid) > principal:
                low = mid
            else:
                high = mid
        try:
            return ((low + high) / 2).quantize(Decimal("0.00000001"))
        except InvalidOperation:  # pragma: no cover - the bounds above keep it representable
            raise ScheduleTermsError("the schedule's effective rate is out of range") from None
