"""Allocation follows lending.md §2.3's worked vector under each of the three readings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from hazina_ledger.domain.allocation import (
    AllocationStrategy,
    Payment,
    fold,
    parse_strategy,
)
from hazina_ledger.domain.errors import InvalidRequestError
from hazina_ledger.domain.schedule import (
    Frequency,
    InterestMethod,
    RatePeriod,
    ScheduleTerms,
    build_schedule,
)

EXAMPLE_A = build_schedule(
    2_000_000,
    dt.date(2025, 1, 1),
    ScheduleTerms(InterestMethod.FLAT, Decimal(10), RatePeriod.MONTH, Frequency.MONTHLY, 6),
).instalments

PAYMENTS = [
    Payment("P1", 500_000, dt.date(2025, 2, 1)),
    Payment("P2", 600_000, dt.date(2025, 3, 5)),
    Payment("P3", 200_000, dt.date(2025, 4, 1)),
    Payment("P4", 1_950_000, dt.date(2025, 7, 1)),
]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (
            AllocationStrategy.LOAN_LEVEL,
            [(500_000, 0, 0), (600_000, 0, 0), (100_000, 100_000, 0), (0, 1_900_000, 50_000)],
        ),
        (
            AllocationStrategy.PER_INSTALMENT,
            [
                (200_000, 300_000, 0),
                (233_334, 366_666, 0),
                (166_666, 33_334, 0),
                (600_000, 1_300_000, 50_000),
            ],
        ),
        (
            AllocationStrategy.DUE_FIRST,
            [
                (200_000, 300_000, 0),
                (200_000, 400_000, 0),
                (200_000, 0, 0),
                (600_000, 1_300_000, 50_000),
            ],
        ),
    ],
)
def test_worked_vector_interest_principal_suspense(
    strategy: AllocationStrategy, expected: list[tuple[int, int, int]]
) -> None:
    paid, allocations = fold(EXAMPLE_A, PAYMENTS, strategy)
    assert [
        (a.interest_cents, a.principal_cents, a.suspense_cents) for a in allocations
    ] == expected
    for allocation, payment in zip(allocations, PAYMENTS, strict=True):
        assert allocation.parts.total_cents + allocation.suspense_cents == payment.amount_cents
    assert sum(p.total_cents for p in paid) == 3_200_000  # fully repaid, the 500 over in suspense


def test_per_instalment_allocation_names_the_instalments_it_paid() -> None:
    _, allocations = fold(EXAMPLE_A, PAYMENTS[:2], AllocationStrategy.PER_INSTALMENT)
    second = allocations[1]
    assert [
        (line.number, line.parts.interest_cents, line.parts.principal_cents)
        for line in second.lines
    ] == [
        (1, 0, 33_333),
        (2, 200_000, 333_333),
        (3, 33_334, 0),
    ]


def test_a_due_payment_no_larger_than_the_oldest_interest_is_all_interest_in_every_reading() -> (
    None
):
    for strategy in AllocationStrategy:
        _, (allocation,) = fold(EXAMPLE_A, [Payment("X", 150_000, dt.date(2025, 2, 1))], strategy)
        assert (allocation.interest_cents, allocation.principal_cents) == (150_000, 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, AllocationStrategy.PER_INSTALMENT),
        ("interest_principal_per_instalment", AllocationStrategy.PER_INSTALMENT),
        ("mifos-standard-strategy", AllocationStrategy.PER_INSTALMENT),
        ("A", AllocationStrategy.LOAN_LEVEL),
        ("rbi-india-strategy", AllocationStrategy.DUE_FIRST),
    ],
)
def test_strategy_names(name: str | None, expected: AllocationStrategy) -> None:
    assert parse_strategy(name) is expected


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        parse_strategy("rule-of-78")


def test_due_first_sends_money_paid_in_advance_to_principal() -> None:
    _, (allocation,) = fold(
        EXAMPLE_A, [Payment("X", 150_000, dt.date(2025, 1, 20))], AllocationStrategy.DUE_FIRST
    )
    assert (allocation.interest_cents, allocation.principal_cents) == (0, 150_000)
