"""A loan's instalments as far as the ledger's events tell them: equal shares of the total owed
(the last takes the remainder), one per period from the disbursement date. The ledger publishes
its totals, count and dates, not each row, so this is what the borrower is told and reminded of."""

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


def instalments(
    total_cents: int, count: int, disbursed_on: date, frequency: str, paid_cents: int
) -> list[Instalment]:
    """Every instalment with what is still unpaid of it, paying the earliest first."""
    share = total_cents // count
    amounts = [share] * (count - 1) + [total_cents - share * (count - 1)]
    left = paid_cents
    rows = []
    for number, (due_on, amount) in enumerate(
        zip(due_dates(disbursed_on, count, frequency), amounts, strict=True), start=1
    ):
        covered = min(left, amount)
        left -= covered
        rows.append(Instalment(number, due_on, amount, amount - covered))
    return rows


def next_instalment(
    total_cents: int, count: int, disbursed_on: date, frequency: str, paid_cents: int
) -> Instalment | None:
    for row in instalments(total_cents, count, disbursed_on, frequency, paid_cents):
        if row.unpaid_cents > 0:
            return row
    return None
