"""Rounding exact amounts to whole cents (or to a multiple of cents) under one named mode.

Amounts are computed as exact fractions of a cent and rounded once per component, as Fineract
does; the tenant's mode defaults to HALF_EVEN (Fineract's ``rounding-mode`` 6).
"""

from __future__ import annotations

import math
from enum import StrEnum
from fractions import Fraction

from hazina_ledger.domain.errors import ScheduleTermsError


class RoundingMode(StrEnum):
    HALF_EVEN = "HALF_EVEN"
    HALF_UP = "HALF_UP"
    HALF_DOWN = "HALF_DOWN"
    UP = "UP"
    DOWN = "DOWN"
    CEILING = "CEILING"
    FLOOR = "FLOOR"


def parse_rounding_mode(value: str) -> RoundingMode:
    try:
        return RoundingMode(value.strip().upper())
    except ValueError:
        names = ", ".join(mode.value for mode in RoundingMode)
        raise ScheduleTermsError(f"rounding mode '{value}' is not one of {names}") from None


def round_to_int(value: Fraction | int, mode: RoundingMode) -> int:
    """Round an exact value to an integer (of cents) under ``mode``."""
    value = Fraction(value)
    if value.denominator == 1:
        return value.numerator
    floor = math.floor(value)
    ceiling = floor + 1
    if mode is RoundingMode.FLOOR:
        return floor
    if mode is RoundingMode.CEILING:
        return ceiling
    if mode is RoundingMode.DOWN:
        return floor if value > 0 else ceiling
    if mode is RoundingMode.UP:
        return ceiling if value > 0 else floor
    remainder = value - floor
    if remainder < Fraction(1, 2):
        return floor
    if remainder > Fraction(1, 2):
        return ceiling
    if mode is RoundingMode.HALF_EVEN:
        return floor if floor % 2 == 0 else ceiling
    if mode is RoundingMode.HALF_UP:  # ties away from zero
        return ceiling if value > 0 else floor
    return floor if value > 0 else ceiling  # HALF_DOWN: ties towards zero


def round_to_multiple(value_cents: Fraction | int, multiple_cents: int, mode: RoundingMode) -> int:
    """Round to the nearest multiple of ``multiple_cents`` (e.g. 100 = whole shillings)."""
    if multiple_cents <= 1:
        return round_to_int(value_cents, mode)
    return round_to_int(Fraction(value_cents) / multiple_cents, mode) * multiple_cents
