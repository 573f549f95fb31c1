"""The arithmetic behind the staff analytics: percentages, period-on-period change, expected loss.

Every figure is integer cents or a percentage rounded to two places; a ratio over nothing is 0,
never null (the dashboard's figures must always be numbers).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from hazina_ledger.domain.arrears import AGING_BUCKETS, PAR_THRESHOLDS, aging_bucket

# Provisioning rates of the Central Bank of Kenya's prudential guidelines for microfinance
# (Normal, Watch, Substandard, Doubtful, Loss), in basis points of the outstanding principal,
# per aging bucket of ``domain.arrears.AGING_BUCKETS``.
EXPECTED_LOSS_BASIS_POINTS: dict[str, int] = {
    "current": 100,
    "1-30": 500,
    "31-60": 2500,
    "61-90": 5000,
    "91-180": 10_000,
    "181-360": 10_000,
    "over_360": 10_000,
}

# Credit-assessment total scores (5 criteria of 1-5 each, so 5-25) in the bands the page charts.
SCORE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("5-9", 5, 9),
    ("10-14", 10, 14),
    ("15-19", 15, 19),
    ("20-25", 20, 25),
)

_HUNDREDTHS = Decimal("0.01")


def percent(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, two places; 0 when ``whole`` is 0."""
    if whole == 0:
        return 0.0
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(_HUNDREDTHS, ROUND_HALF_EVEN))


def change_percent(now: int, before: int) -> float:
    """Growth from the previous period to this one; 0 when the previous period had nothing."""
    if before == 0:
        return 0.0
    return percent(now - before, before)


def points(now: float, before: float) -> float:
    """The change of a rate in percentage points."""
    return float((Decimal(str(now)) - Decimal(str(before))).quantize(_HUNDREDTHS))


def expected_loss_cents(aging_cents: Mapping[str, int]) -> int:
    """Outstanding principal per aging bucket times its provisioning rate, rounded once."""
    total = sum(
        Decimal(cents) * EXPECTED_LOSS_BASIS_POINTS[bucket] / 10_000
        for bucket, cents in aging_cents.items()
    )
    return int(Decimal(total).quantize(Decimal(1), ROUND_HALF_EVEN))


def score_band(total_score: int) -> str:
    for name, low, high in SCORE_BANDS:
        if low <= total_score <= high:
            return name
    return "other"


def default_rate_percent(
    written_off_cents: int, defaulted_outstanding_cents: int, disbursed_cents: int
) -> float:
    """Principal of defaulted loans still owed, plus principal written off, over all principal
    disbursed by then (the portfolio report's ``defaultRate``), in percent."""
    return percent(written_off_cents + defaulted_outstanding_cents, disbursed_cents)


class Position(Protocol):
    """One loan as of a date, as the analytics read it."""

    @property
    def loan_id(self) -> uuid.UUID: ...
    @property
    def outstanding_principal_cents(self) -> int: ...
    @property
    def days_past_due(self) -> int: ...


def non_performing(
    positions: Iterable[Position],
    defaulted_after_days: int,
    written_off_cents: Mapping[uuid.UUID, int],
) -> dict[uuid.UUID, int]:
    """Each loan's principal counted non-performing: the outstanding principal of a loan at least
    ``defaulted_after_days`` late, or the principal written off."""
    found = {
        p.loan_id: p.outstanding_principal_cents
        for p in positions
        if p.days_past_due >= defaulted_after_days and p.outstanding_principal_cents > 0
    }
    found.update(written_off_cents)
    return found


def month_start(today: dt.date, months_back: int) -> dt.date:
    """The first day of the month ``months_back`` months before ``today``'s."""
    index = today.year * 12 + today.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class RiskFigures:
    aging_cents: dict[str, int]
    expected_loss_cents: int
    top_drivers: list[tuple[str, float, int]]  # (driver, percent of PAR30, cents at risk)


def risk_figures(
    positions: Iterable[Position], drivers_of: Mapping[uuid.UUID, Iterable[str]], top: int = 5
) -> RiskFigures:
    """Outstanding principal by aging bucket, its expected loss, and the ``top`` drivers (product,
    officer, ...) of the principal more than 30 days past due, each as a share of that PAR30."""
    aging = {name: 0 for name, _, _ in AGING_BUCKETS}
    at_risk: dict[str, int] = defaultdict(int)
    par30_total = 0
    for p in positions:
        aging[aging_bucket(p.days_past_due)] += p.outstanding_principal_cents
        if p.days_past_due > PAR_THRESHOLDS["PAR30"]:
            par30_total += p.outstanding_principal_cents
            for driver in drivers_of[p.loan_id]:
                at_risk[driver] += p.outstanding_principal_cents
    drivers = sorted(at_risk.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return RiskFigures(
        aging,
        expected_loss_cents(aging),
        [(name, percent(cents, par30_total), cents) for name, cents in drivers],
    )
