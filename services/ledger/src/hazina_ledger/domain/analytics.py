"""The arithmetic behind the staff analytics: percentages, period-on-period change, expected loss.

Every figure is integer cents or a percentage rounded to two places; a ratio over nothing is 0,
never null (the dashboard's figures must always be numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal

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
