"""Splitting a repayment over a loan's instalments: what each shilling pays, and what is left over.

Three readings of the seed's rule "interest first, principal next, overpayment to suspense"
(lending.md §2.3) are available as named strategies. Whatever the strategy, the parts of an
allocation sum to the amount paid, no part is negative, and nothing is paid beyond what is due:
money beyond the whole outstanding goes to the client's suspense account.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from hazina_ledger.domain.errors import InvalidRequestError
from hazina_ledger.domain.schedule import Instalment


class AllocationStrategy(StrEnum):
    """B is the product default; A and C are the other readings, by name."""

    PER_INSTALMENT = (
        "interest_principal_per_instalment"  # B: oldest instalment first, fee, interest, principal
    )
    LOAN_LEVEL = "interest_first_loan_level"  # A: all interest on the loan, then principal
    DUE_FIRST = (
        "due_interest_principal_then_advance_principal"  # C: what is due, then principal ahead
    )


_ALIASES = {
    "b": AllocationStrategy.PER_INSTALMENT,
    "per_instalment": AllocationStrategy.PER_INSTALMENT,
    "mifos-standard-strategy": AllocationStrategy.PER_INSTALMENT,
    "interest-principal-penalties-fees-order-strategy": AllocationStrategy.PER_INSTALMENT,
    "a": AllocationStrategy.LOAN_LEVEL,
    "loan_level": AllocationStrategy.LOAN_LEVEL,
    "c": AllocationStrategy.DUE_FIRST,
    "due_based": AllocationStrategy.DUE_FIRST,
    "rbi-india-strategy": AllocationStrategy.DUE_FIRST,
}


def parse_strategy(value: str | None) -> AllocationStrategy:
    if not value:
        return AllocationStrategy.PER_INSTALMENT
    key = value.strip()
    try:
        return AllocationStrategy(key)
    except ValueError:
        pass
    try:
        return _ALIASES[key.lower()]
    except KeyError:
        names = ", ".join(s.value for s in AllocationStrategy)
        raise InvalidRequestError(f"allocation strategy '{value}' is not one of {names}") from None


@dataclass(frozen=True)
class Components:
    """Fee, interest and principal of one instalment (due, paid or allocated), in cents."""

    fee_cents: int = 0
    interest_cents: int = 0
    principal_cents: int = 0

    @property
    def total_cents(self) -> int:
        return self.fee_cents + self.interest_cents + self.principal_cents

    def __add__(self, other: Components) -> Components:
        return Components(
            self.fee_cents + other.fee_cents,
            self.interest_cents + other.interest_cents,
            self.principal_cents + other.principal_cents,
        )

    def __sub__(self, other: Components) -> Components:
        return Components(
            self.fee_cents - other.fee_cents,
            self.interest_cents - other.interest_cents,
            self.principal_cents - other.principal_cents,
        )


def due_of(instalment: Instalment) -> Components:
    return Components(instalment.fee_cents, instalment.interest_cents, instalment.principal_cents)


@dataclass(frozen=True)
class AllocationLine:
    """What one repayment paid on one instalment."""

    number: int
    parts: Components


@dataclass(frozen=True)
class Allocation:
    """How one repayment was split; ``suspense_cents`` is what exceeded the whole outstanding."""

    amount_cents: int
    lines: tuple[AllocationLine, ...]
    suspense_cents: int

    @functools.cached_property
    def parts(self) -> Components:
        total = Components()
        for line in self.lines:
            total = total + line.parts
        return total

    @property
    def fee_cents(self) -> int:
        return self.parts.fee_cents

    @property
    def interest_cents(self) -> int:
        return self.parts.interest_cents

    @property
    def principal_cents(self) -> int:
        return self.parts.principal_cents


_FEE, _INTEREST, _PRINCIPAL = 0, 1, 2


def allocate(
    schedule: Sequence[Instalment],
    paid: Sequence[Components],
    amount_cents: int,
    paid_on: dt.date,
    strategy: AllocationStrategy = AllocationStrategy.PER_INSTALMENT,
) -> Allocation:
    """Split ``amount_cents`` paid on ``paid_on`` given what each instalment has had so far.

    The amount is positive: the loan account refuses any other before it allocates.
    """
    # What is still owed per instalment, as [fee, interest, principal]; fully paid ones are skipped.
    owed: dict[int, list[int]] = {}
    for i, (instalment, already) in enumerate(zip(schedule, paid, strict=True)):
        parts = [
            instalment.fee_cents - already.fee_cents,
            instalment.interest_cents - already.interest_cents,
            instalment.principal_cents - already.principal_cents,
        ]
        if parts[0] or parts[1] or parts[2]:
            owed[i] = parts
    taken: dict[int, list[int]] = {}
    left = amount_cents

    def take(i: int, component: int) -> None:
        nonlocal left
        amount = min(owed[i][component], left)
        if amount > 0:
            owed[i][component] -= amount
            taken.setdefault(i, [0, 0, 0])[component] += amount
            left -= amount

    order = sorted(owed)
    if strategy is AllocationStrategy.PER_INSTALMENT:
        for i in order:
            for component in (_FEE, _INTEREST, _PRINCIPAL):
                take(i, component)
            if left == 0:
                break
    elif strategy is AllocationStrategy.LOAN_LEVEL:
        for component in (_FEE, _INTEREST, _PRINCIPAL):
            for i in order:
                take(i, component)
    else:
        due = [i for i in order if schedule[i].due_on <= paid_on]
        ahead = [i for i in order if schedule[i].due_on > paid_on]
        for component in (_FEE, _INTEREST):
            for i in due:
                take(i, component)
        for i in due + ahead:
            take(i, _PRINCIPAL)
        for i in ahead:
            for component in (_FEE, _INTEREST):
                take(i, component)
    lines = tuple(
        AllocationLine(number=schedule[i].number, parts=Components(*taken[i]))
        for i in sorted(taken)
        if any(taken[i])
    )
    return Allocation(amount_cents=amount_cents, lines=lines, suspense_cents=left)


def paid_after(
    schedule: Sequence[Instalment], paid: Sequence[Components], allocation: Allocation
) -> list[Components]:
    """Per-instalment paid amounts once ``allocation`` is applied."""
    by_number = {line.number: line.parts for line in allocation.lines}
    return [p + by_number.get(i.number, Components()) for i, p in zip(schedule, paid, strict=True)]


@dataclass(frozen=True)
class Payment:
    """A repayment as the fold sees it: amount, value date, and its receipt."""

    receipt: str
    amount_cents: int
    paid_on: dt.date


def fold(
    schedule: Sequence[Instalment], payments: Sequence[Payment], strategy: AllocationStrategy
) -> tuple[list[Components], list[Allocation]]:
    """Allocate payments in order from an unpaid schedule: the pure definition of a loan's state.

    A reversal removes a payment and re-folds the rest; it never edits an earlier allocation.
    """
    paid = [Components() for _ in schedule]
    allocations = []
    for payment in payments:
        allocation = allocate(schedule, paid, payment.amount_cents, payment.paid_on, strategy)
        paid = paid_after(schedule, paid, allocation)
        allocations.append(allocation)
    return paid, allocations
