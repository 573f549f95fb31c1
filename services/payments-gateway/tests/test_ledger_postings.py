"""What the ledger posted, remembered in batches for reconciliation: each posting once, whether
its event comes twice in one batch or the whole batch is delivered again; withdrawals and
non-M-Pesa repayments are not postings to compare."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from payments_harness import Gateway, envelope

from hazina_contracts.events import ledger
from hazina_payments_gateway.adapters.subscriptions import on_ledger_event, on_ledger_events


def deposit(receipt: str, cents: int, client_id: uuid.UUID) -> ledger.SavingsBalanceChanged:
    return ledger.SavingsBalanceChanged(
        occurred_at=datetime.now(UTC),
        client_id=client_id,
        transaction_id=receipt,
        change_cents=cents,
        balance_cents=abs(cents),
        reason="deposit",
    )


def test_a_batch_of_postings_delivered_twice_is_remembered_once(gateway: Gateway) -> None:
    client_id = uuid.uuid4()
    first, second = deposit("TBP0000001", 1500, client_id), deposit("TBP0000002", 700, client_id)
    withdrawal = deposit(str(uuid.uuid4()), -300, client_id).model_copy(
        update={"reason": "withdrawal"}
    )
    opened = ledger.LoanAccountOpened(
        occurred_at=datetime.now(UTC),
        loan_id=uuid.uuid4(),
        client_id=client_id,
        principal_cents=50_000,
        total_interest_cents=0,
        total_fees_cents=0,
        instalments=6,
        disbursed_on=date(2026, 11, 30),
        maturity_on=date(2027, 5, 30),
    )
    batch = [envelope(e) for e in (first, second, withdrawal, opened)]
    batch.append(batch[0])  # the same event twice in one batch
    with gateway.container.pool.connection() as conn:
        with conn.transaction():
            assert on_ledger_events(batch, conn) == {}
        with conn.transaction():
            assert on_ledger_events(batch, conn) == {}  # the whole batch again
        on_ledger_event(batch[1], conn)  # and one of them alone
        rows = conn.execute(
            "SELECT key, kind, receipt, amount_cents FROM ledger_postings WHERE client_id = %s "
            "ORDER BY key",
            (client_id,),
        ).fetchall()
    assert rows == [
        ("deposit:TBP0000001", "savings_deposit", "TBP0000001", 1500),
        ("deposit:TBP0000002", "savings_deposit", "TBP0000002", 700),
        (f"disbursement:{opened.loan_id}", "disbursement", None, 50_000),
    ]


def test_a_batch_of_repayments_and_deposits_of_any_size_is_remembered_in_one_statement(
    gateway: Gateway,
) -> None:
    """Repayments carry ``AmountCents``, deposits plain ints: psycopg refused the mixed list (and
    typed a list of amounts by one of them), so the whole batch failed and the consumer fell
    back to one message at a time."""
    client_id, loan_id = uuid.uuid4(), uuid.uuid4()
    repayments = [
        ledger.RepaymentPosted(
            occurred_at=datetime.now(UTC),
            loan_id=loan_id,
            client_id=client_id,
            receipt=receipt,
            amount_cents=cents,  # validated into AmountCents, as every consumer reads it
            interest_cents=0,
            principal_cents=cents,
            suspense_cents=0,
            outstanding_cents=1_000_000,
            payment_method="mpesa",
        )
        for receipt, cents in (("TBP0000011", 224_400), ("TBP0000012", 5))
    ]
    batch = [envelope(e) for e in (*repayments, deposit("TBP0000013", 3_000_000_000, client_id))]
    with gateway.container.pool.connection() as conn:
        with conn.transaction():
            assert on_ledger_events(batch, conn) == {}
        rows = conn.execute(
            "SELECT key, amount_cents FROM ledger_postings WHERE client_id = %s ORDER BY key",
            (client_id,),
        ).fetchall()
    assert rows == [
        ("deposit:TBP0000013", 3_000_000_000),
        ("repayment:TBP0000011", 224_400),
        ("repayment:TBP0000012", 5),
    ]
