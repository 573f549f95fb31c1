"""A loan's instalments and what is unpaid of each, paying the earliest first.

The ledger's ``LoanAccountOpened`` v2 carries the schedule itself (each instalment's date and
amounts); for a loan opened with v1 (totals, count and dates only) the instalments are equal
shares of the total owed (the last takes the remainder), one per period from disbursement."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Instalment:
    number: int
    due_on: date
    amount_cents: int
    unpaid_cents: int


def _add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    year = start.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def due_dates(disbursed_on: date, count: int, frequency: str) -> list[date]:
    if frequency == "weekly":
        return [disbursed_on + timedelta(weeks=i) for i in range(1, count + 1)]
    return [_add_months(disbursed_on, i) for i in range(1, count + 1)]


def equal_shares(
    total_cents: int, count: int, disbursed_on: date, frequency: str
) -> list[tuple[date, int]]:
    """A v1 loan's instalments: equal shares of the total, the last takes the remainder."""
    share = total_cents // count
    amounts = [share] * (count - 1) + [total_cents - share * (count - 1)]
    return list(zip(due_dates(disbursed_on, count, frequency), amounts, strict=True))


def instalments(schedule: list[tuple[date, int]], paid_cents: int) -> list[Instalment]:
    """Every instalment (date, amount) with what is still unpaid of it, paying the earliest first."""
    left = paid_cents
    rows = []
    for number, (due_on, amount) in enumerate(schedule, start=1):
        covered = min(left, amount)
        left -= covered
        rows.append(Instalment(number, due_on, amount, amount - covered))
    return rows


def next_instalment(schedule: list[tuple[date, int]], paid_cents: int) -> Instalment | None:
    for row in instalments(schedule, paid_cents):
        if row.unpaid_cents > 0:
            return row
    return None
