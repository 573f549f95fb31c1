"""Money properties, for any loan and any sequence of payments (hypothesis):
allocations sum to what was paid, outstanding never goes negative, every journal entry balances,
and a replay of the events reproduces the live state exactly."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from eventsourcing.application import project_aggregate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hazina_ledger.application.commands import PostRepayment, ReverseReceipt
from hazina_ledger.domain.allocation import AllocationStrategy, due_of
from hazina_ledger.domain.journal import JournalEntry
from hazina_ledger.domain.loan_account import LoanAccount
from hazina_ledger.domain.rounding import RoundingMode
from hazina_ledger.domain.schedule import (
    Frequency,
    InterestMethod,
    RatePeriod,
    ScheduleTerms,
    build_schedule,
)

START = dt.date(2025, 1, 31)

terms_strategy = st.builds(
    ScheduleTerms,
    method=st.sampled_from(list(InterestMethod)),
    rate_percent=st.decimals(min_value=0, max_value=60, places=2).map(Decimal),
    rate_period=st.sampled_from(list(RatePeriod)),
    frequency=st.sampled_from(list(Frequency)),
    term=st.integers(min_value=1, max_value=36),
    instalment_multiple_of_cents=st.sampled_from([1, 1, 100, 500]),
    rounding=st.sampled_from([RoundingMode.HALF_EVEN, RoundingMode.HALF_UP]),
)
principal_strategy = st.integers(min_value=100_00, max_value=500_000_00)


@settings(max_examples=200, deadline=None)
@given(terms=terms_strategy, principal_cents=principal_strategy)
def test_every_schedule_repays_exactly_the_principal(
    terms: ScheduleTerms, principal_cents: int
) -> None:
    schedule = build_schedule(principal_cents, START, terms)
    rows = schedule.instalments
    assert sum(i.principal_cents for i in rows) == principal_cents
    assert all(i.principal_cents >= 0 and i.interest_cents >= 0 and i.fee_cents >= 0 for i in rows)
    assert 1 <= len(rows) <= terms.term
    assert schedule.total_cents == principal_cents + schedule.interest_cents + schedule.fee_cents
    assert [i.due_on for i in rows] == sorted({i.due_on for i in rows})
    assert rows[0].due_on > START


payments_strategy = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=2_000_000), st.integers(min_value=0, max_value=400)
    ),
    min_size=1,
    max_size=12,
)


def _loan(terms: ScheduleTerms, principal_cents: int, strategy: AllocationStrategy) -> LoanAccount:
    loan = LoanAccount(
        loan_id=str(uuid.uuid4()),
        client_id=str(uuid.uuid4()),
        group_id=None,
        loan_officer_id=None,
        account_number="X",
        approved_principal_cents=principal_cents,
        terms={
            "interest_method": terms.method.value,
            "interest_rate_percent": str(terms.rate_percent),
            "interest_rate_period": terms.rate_period.value,
            "repayment_frequency": terms.frequency.value,
            "term": terms.term,
            "instalment_multiple_of_cents": terms.instalment_multiple_of_cents,
            "rounding": terms.rounding.value,
        },
        strategy=strategy.value,
        approved_at="2025-01-01T00:00:00+00:00",
    )
    loan.open(
        disbursement_id="d",
        amount_cents=principal_cents,
        charge_cents=1_300,
        mpesa_receipt="B",
        disbursed_on=START,
    )
    return loan


@settings(max_examples=150, deadline=None)
@given(
    terms=terms_strategy,
    principal_cents=principal_strategy,
    strategy=st.sampled_from(list(AllocationStrategy)),
    payments=payments_strategy,
    reverse=st.lists(st.integers(min_value=0, max_value=11), max_size=3, unique=True),
)
def test_any_payments_allocate_exactly_and_balance(
    terms: ScheduleTerms,
    principal_cents: int,
    strategy: AllocationStrategy,
    payments: list[tuple[int, int]],
    reverse: list[int],
) -> None:
    loan = _loan(terms, principal_cents, strategy)
    for k, (amount, day) in enumerate(payments):
        record = loan.post_repayment(
            receipt=f"R{k}",
            amount_cents=amount,
            paid_on=START + dt.timedelta(days=day),
            method="mpesa",
            source_account="1020",
        )
        allocation = record.allocation
        assert (
            allocation.parts.total_cents + allocation.suspense_cents == amount
        )  # sums to what was paid
        assert allocation.suspense_cents >= 0
        assert all(
            min(line.parts.fee_cents, line.parts.interest_cents, line.parts.principal_cents) >= 0
            for line in allocation.lines
        )
        for instalment, paid in zip(
            loan.schedule, loan.paid, strict=True
        ):  # outstanding never negative
            owed = due_of(instalment) - paid
            assert min(owed.fee_cents, owed.interest_cents, owed.principal_cents) >= 0
    for k in reverse:
        if k < len(payments):
            loan.reverse_repayment(
                receipt=f"R{k}", reason="test", reversed_by="x", reversed_on=START
            )
    live = [r for r in loan.repayments.values() if not r.reversed]
    assert sum(r.allocation.parts.total_cents + r.suspense_cents for r in live) == sum(
        r.amount_cents for r in live
    )
    assert loan.outstanding.total_cents >= 0
    events = loan.collect_events()
    totals: dict[str, int] = {}
    for event in events:
        legs = getattr(event, "journal", None)
        if legs:
            entry = JournalEntry.from_legs(legs)  # every entry balances, or this raises
            for posting in entry.postings:
                totals[posting.account_id] = (
                    totals.get(posting.account_id, 0) + posting.amount_cents
                )
    receivable = sum(v for a, v in totals.items() if a.split(":")[0] in {"1100", "1110", "1120"})
    assert receivable == loan.outstanding.total_cents  # the books agree with the schedule
    replayed = project_aggregate(None, events)
    assert replayed is not None
    assert replayed.paid == loan.paid
    assert replayed.status == loan.status
    assert {r: v.allocation for r, v in replayed.repayments.items()} == {
        r: v.allocation for r, v in loan.repayments.items()
    }


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    loans=st.lists(
        st.tuples(
            st.sampled_from(list(InterestMethod)),
            st.lists(st.integers(min_value=1, max_value=1_500_000), min_size=1, max_size=5),
            st.booleans(),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_replay_of_the_event_store_reproduces_the_live_read_models(
    container: Any, h: Any, loans: Any
) -> None:
    from hazina_ledger.cli import replay

    for method, amounts, reverse_first in loans:
        loan_id, _ = h.open_loan(container, 1_000_000, interest_method=method.value)
        for k, amount in enumerate(amounts):
            container.ledger.post_repayment(
                PostRepayment(
                    loan_id=loan_id,
                    receipt=f"P{loan_id.hex[:8]}{k}",
                    amount_cents=amount,
                    method="cash",
                    paid_at=dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC) + dt.timedelta(days=9 * k),
                )
            )
        if reverse_first:
            container.ledger.reverse_receipt(
                ReverseReceipt(
                    receipt=f"P{loan_id.hex[:8]}0", reason="bounced", reversed_by=uuid.uuid4()
                )
            )
    container.projection.catch_up()
    report = replay(container, quiet=True)
    assert report.ok, report.details
    assert report.checks["rebuilt_equals_live"] == 0
    assert report.checks["loan_outstanding_equals_schedule_minus_allocations"] == 0
