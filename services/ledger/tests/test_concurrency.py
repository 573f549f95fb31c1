"""Concurrent writers: the same receipt posts once; different repayments on one loan all post.

Two containers stand for two service processes against one database: each has its own
group-commit writer and aggregate cache, so they collide on the loan's version and must retry.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import pytest

from hazina_ledger.application.commands import PostRepayment
from hazina_ledger.bootstrap import Container, build
from hazina_ledger.domain.allocation import Components, Payment, fold
from hazina_ledger.domain.errors import ReceiptConflictError

PAID_AT = dt.datetime(2025, 2, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def other(settings: Any, clock: Any, verifier: Any) -> Iterator[Container]:
    """A second process's ledger on the same database."""
    with closing(build(settings, clock=clock, verifier=verifier)) as built:
        yield built


def all_at_once(actions: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = actions[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def repayment(loan_id: uuid.UUID, receipt: str, amount_cents: int) -> PostRepayment:
    return PostRepayment(
        loan_id=loan_id,
        receipt=receipt,
        amount_cents=amount_cents,
        method="mpesa",
        paid_at=PAID_AT,
        channel="c2b",
    )


def test_the_same_c2b_receipt_five_times_at_once_posts_once(
    container: Container, other: Container, h: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    event = h.payment_received("RACE5", 500_000, loan_id=loan_id)
    deliveries = [
        (
            lambda c=c: h.deliver(c, h.envelope(event))
        )  # five deliveries, five envelope ids, one receipt
        for c in (container, other, container, other, container)
    ]
    results = all_at_once(deliveries)
    assert not [r for r in results if isinstance(r, Exception)]
    loan = container.ledger.loan(loan_id)
    assert list(loan.repayments) == ["RACE5"]
    assert loan.total_paid_cents == 500_000
    container.projection.catch_up()
    assert len(container.views.repayments(loan_id)) == 1
    assert container.views.account("1020", None, None, None, 0)["debit_cents"] == 500_000


def test_the_same_receipt_racing_with_different_amounts_posts_one_and_flags_the_rest(
    container: Container, other: Container, h: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    ledgers = [container.ledger, other.ledger] * 2
    results = all_at_once(
        [
            (lambda lg=lg, i=i: lg.post_repayment(repayment(loan_id, "RACEX", 100_000 * (i + 1))))
            for i, lg in enumerate(ledgers)
        ]
    )
    posted = [r for r in results if not isinstance(r, Exception) and r.status == "posted"]
    assert len(posted) == 1
    assert all(isinstance(r, ReceiptConflictError) for r in results if isinstance(r, Exception))
    assert container.ledger.loan(loan_id).total_paid_cents in {100_000, 200_000, 300_000, 400_000}
    assert len(container.ledger.loan(loan_id).repayments) == 1


def test_eight_different_repayments_on_one_loan_at_once_all_post_with_exact_balances(
    container: Container, other: Container, h: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    amounts = [111_111, 222_222, 50_000, 75_025, 400_000, 1_000, 99_999, 333_333]
    ledgers = [container.ledger, other.ledger]
    results = all_at_once(
        [
            (lambda i=i, a=a: ledgers[i % 2].post_repayment(repayment(loan_id, f"EIGHT{i}", a)))
            for i, a in enumerate(amounts)
        ]
    )
    assert [r.status for r in results] == ["posted"] * 8, results
    loan = other.ledger.loan(loan_id)
    assert sorted(loan.repayments) == sorted(f"EIGHT{i}" for i in range(8))
    # Payments on one day fill the same waterfall whatever their order: compare with all at once.
    expected_paid, _ = fold(
        loan.schedule, [Payment("ALL", sum(amounts), PAID_AT.date())], loan.allocation_strategy
    )
    assert loan.paid == expected_paid
    assert loan.outstanding.total_cents == 3_200_000 - sum(amounts)
    container.projection.catch_up()
    views = container.views
    assert views.loan(loan_id)["outstanding_cents"] == 3_200_000 - sum(amounts)
    assert views.account(f"1100:{loan_id}", None, None, None, 0)["credit_cents"] == sum(
        p.principal_cents for p in expected_paid
    )
    balances = views.account_balances()
    assert sum(balances.values()) == 0
    assert balances == views.posted_balances()


def test_a_writer_holding_a_stale_loan_retries_and_loses_nothing(
    container: Container, other: Container, h: Any
) -> None:
    loan_id, _ = h.open_loan(container)
    container.ledger.post_repayment(
        repayment(loan_id, "STALE1", 100_000)
    )  # container's writer now caches the loan
    other.ledger.post_repayment(
        repayment(loan_id, "STALE2", 100_000)
    )  # another process moves it on
    fallbacks = container.ledger.writer.fallbacks
    container.ledger.post_repayment(
        repayment(loan_id, "STALE3", 100_000)
    )  # built on a stale version
    assert container.ledger.writer.fallbacks == fallbacks + 1
    loan = container.ledger.loan(loan_id)
    assert list(loan.repayments) == ["STALE1", "STALE2", "STALE3"]
    assert loan.paid_total == Components(
        0, 200_000, 100_000
    )  # instalment 1: interest, then principal
