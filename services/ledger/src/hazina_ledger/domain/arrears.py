"""Days past due, arrears, aging and portfolio at risk, as of any date (lending.md §3).

An instalment is overdue when its due date is before the business date and it is not fully
paid; on its due date it is not yet overdue. PAR_x counts the whole outstanding principal of
every loan more than x days past due (PAR1: at least one day), over the gross outstanding
principal; written-off loans are in neither.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from hazina_ledger.domain.allocation import Components, due_of
from hazina_ledger.domain.errors import InvalidRequestError
from hazina_ledger.domain.schedule import Instalment


class ArrearsStatus(StrEnum):
    CURRENT = "current"
    IN_ARREARS = "in_arrears"
    DEFAULTED = "defaulted"


@dataclass(frozen=True)
class ArrearsPolicy:
    """When a late loan is ``in_arrears`` and when ``defaulted``; configurable per tenant."""

    in_arrears_after_days: int = 1
    defaulted_after_days: int = 90
    tolerance_cents: int = 0  # arrears up to this amount are ignored for ageing

    def __post_init__(self) -> None:
        if not 1 <= self.in_arrears_after_days <= self.defaulted_after_days:
            raise InvalidRequestError("arrears days must satisfy 1 <= in_arrears <= defaulted")
        if self.tolerance_cents < 0:
            raise InvalidRequestError("arrears tolerance must not be negative")

    def status(self, days_past_due: int) -> ArrearsStatus:
        if days_past_due >= self.defaulted_after_days:
            return ArrearsStatus.DEFAULTED
        if days_past_due >= self.in_arrears_after_days:
            return ArrearsStatus.IN_ARREARS
        return ArrearsStatus.CURRENT


@dataclass(frozen=True)
class ArrearsPosition:
    days_past_due: int
    arrears_cents: int
    overdue_instalments: int
    oldest_overdue_on: dt.date | None


def arrears_position(
    schedule: Sequence[Instalment],
    paid: Sequence[Components],
    as_of: dt.date,
    tolerance_cents: int = 0,
) -> ArrearsPosition:
    oldest: dt.date | None = None
    arrears, count = 0, 0
    for instalment, already in zip(schedule, paid, strict=True):
        unpaid = (due_of(instalment) - already).total_cents
        if instalment.due_on < as_of and unpaid > 0:
            arrears += unpaid
            count += 1
            oldest = instalment.due_on if oldest is None else min(oldest, instalment.due_on)
    if oldest is None or arrears <= tolerance_cents:
        return ArrearsPosition(0, arrears, count, oldest)
    return ArrearsPosition((as_of - oldest).days, arrears, count, oldest)


AGING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("181-360", 181, 360),
    ("over_360", 361, None),
)

PAR_THRESHOLDS = {"PAR1": 0, "PAR30": 30, "PAR90": 90}  # more than this many days past due


def aging_bucket(days_past_due: int) -> str:
    for name, low, high in AGING_BUCKETS:
        if days_past_due >= low and (high is None or days_past_due <= high):
            return name
    raise InvalidRequestError("days past due must not be negative")


def ratio(part_cents: int, whole_cents: int) -> Decimal:
    """part / whole to four decimal places (0.6667 = 66.67 %); zero when the whole is zero."""
    if whole_cents == 0:
        return Decimal("0.0000")
    return (Decimal(part_cents) / Decimal(whole_cents)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)


@dataclass(frozen=True)
class PortfolioRisk:
    gross_outstanding_principal_cents: int
    at_risk_cents: dict[str, int]
    aging_cents: dict[str, int]
    aging_counts: dict[str, int]

    def par(self) -> dict[str, Decimal]:
        total = self.gross_outstanding_principal_cents
        return {name: ratio(cents, total) for name, cents in self.at_risk_cents.items()}


def portfolio_risk(loans: Iterable[tuple[int, int]]) -> PortfolioRisk:
    """``loans`` as (outstanding principal cents, days past due) of every live loan."""
    gross = 0
    at_risk = dict.fromkeys(PAR_THRESHOLDS, 0)
    aging = {name: 0 for name, _, _ in AGING_BUCKETS}
    counts = {name: 0 for name, _, _ in AGING_BUCKETS}
    for principal_cents, days in loans:
        gross += principal_cents
        for name, threshold in PAR_THRESHOLDS.items():
            if days > threshold:
                at_risk[name] += principal_cents
        bucket = aging_bucket(days)
        aging[bucket] += principal_cents
        counts[bucket] += 1
    return PortfolioRisk(gross, at_risk, aging, counts)
