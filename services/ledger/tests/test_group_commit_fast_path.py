"""The money loop's commands all take the group commit's fast path: not one falls back.

A fallback means a batch raised after its commands ran (most often a value the event store could
not encode, ``TranscodingNotRegisteredError``, e.g. in a savings account's snapshot). Each command
of the batch is then re-run alone, so the fast path silently became the slow one, and a snapshot
taken after the events were recorded made callers of posted commands hear "duplicate".
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hazina_ledger.application.commands import (
    AssignReceipt,
    DecideWithdrawal,
    DepositSavings,
    PostRepayment,
    RecordUnallocatedReceipt,
    RequestWithdrawal,
    ReverseReceipt,
    WriteOffLoan,
)
from hazina_ledger.application.group_commit import Job
from hazina_ledger.application.unit_of_work import UnitOfWork
from hazina_ledger.bootstrap import Container
from hazina_ledger.domain.errors import InvalidRequestError
from hazina_ledger.domain.loan_account import LoanAccount
from hazina_ledger.domain.savings_account import SavingsAccount

PAID_AT = dt.datetime(2025, 2, 1, 9, 0, tzinfo=dt.UTC)
STAFF = uuid.uuid4()
APPROVER = uuid.uuid4()


def deposit(client_id: uuid.UUID, receipt: str, cents: int) -> DepositSavings:
    return DepositSavings(
        client_id=client_id,
        receipt=receipt,  # type: ignore[arg-type]
        amount_cents=cents,  # type: ignore[arg-type]
        method="mpesa",
        paid_at=PAID_AT,
        channel="c2b",
    )


def test_the_money_loop_never_falls_back(container: Container, h: Any) -> None:
    ledger, writer = container.ledger, container.ledger.writer
    assert writer.running
    loan_id, _ = h.open_loan(container)
    other_loan, _ = h.open_loan(container)
    saver = uuid.uuid4()

    statuses = []
    for n in range(5):
        statuses.append(
            ledger.post_repayment(
                PostRepayment(
                    loan_id=loan_id,
                    receipt=f"RPY{n:07d}",  # type: ignore[arg-type]
                    amount_cents=10_000,  # type: ignore[arg-type]
                    method="mpesa",
                    paid_at=PAID_AT,
                    channel="c2b",
                    wait_for_loan=True,
                )
            ).status
        )
    # Savings: a reversed deposit (a set in the account's state), a pending and a decided
    # withdrawal (dataclass values), then enough deposits for two snapshots (every 100 events).
    statuses.append(ledger.deposit_savings(deposit(saver, "DEP0000000", 500_000)).status)
    statuses.append(ledger.deposit_savings(deposit(saver, "DEP0000001", 1_000)).status)
    ledger.reverse_receipt(
        ReverseReceipt(receipt="DEP0000001", reason="wrong", reversed_by=APPROVER)
    )  # type: ignore[arg-type]
    paid = ledger.request_withdrawal(
        RequestWithdrawal(client_id=saver, amount_cents=2_000, method="cash", requested_by=STAFF)
    )
    ledger.decide_withdrawal(
        DecideWithdrawal(client_id=saver, withdrawal_id=paid, approve=True, decided_by=APPROVER)
    )
    ledger.request_withdrawal(
        RequestWithdrawal(client_id=saver, amount_cents=3_000, method="cash", requested_by=STAFF)
    )
    for n in range(2, 205):
        statuses.append(ledger.deposit_savings(deposit(saver, f"DEP{n:07d}", 100)).status)
    # An unallocated receipt, assigned; a repayment reversed; arrears; a write-off.
    ledger.record_unallocated(
        RecordUnallocatedReceipt(
            receipt="UNA0000001",  # type: ignore[arg-type]
            amount_cents=7_000,  # type: ignore[arg-type]
            paid_at=PAID_AT,
            account_reference="nobody",
        )
    )
    ledger.assign_receipt(
        AssignReceipt(receipt="UNA0000001", target="loan", target_id=loan_id, assigned_by=STAFF)  # type: ignore[arg-type]
    )
    ledger.reverse_receipt(
        ReverseReceipt(receipt="RPY0000004", reason="bounced", reversed_by=APPROVER)
    )  # type: ignore[arg-type]
    ledger.assess_arrears([loan_id, other_loan], dt.date(2025, 6, 1))
    ledger.write_off_loan(WriteOffLoan(loan_id=other_loan, reason="gone", written_off_by=APPROVER))

    assert writer.fallbacks == 0
    assert set(statuses) == {"posted"}  # a fallback after the save would have said "duplicate"
    # The snapshots were stored and read back to the same account.
    account = UnitOfWork(ledger).get(SavingsAccount, SavingsAccount.create_id(str(saver)))
    assert account is not None and account.version > 200
    assert ledger.snapshots is not None
    assert list(ledger.snapshots.get(account.id, desc=True, limit=1))
    assert account.balance_cents == 500_000 - 2_000 + 203 * 100
    assert account.reversed_deposits == {"DEP0000001"}
    assert [w.status for w in account.withdrawals.values()] == ["approved", "pending"]
    assert account.pending_withdrawals_cents == 3_000


def test_a_command_that_fails_after_changing_an_aggregate_sends_its_batch_one_by_one(
    container: Container, h: Any
) -> None:
    """A command refused before it changed anything leaves the rest of the batch committing
    together; one refused after recording an event poisons the batch, which runs one by one."""
    ledger, writer = container.ledger, container.ledger.writer
    loan_id, _ = h.open_loan(container)

    def repay(receipt: str) -> Job:
        cmd = PostRepayment(
            loan_id=loan_id,
            receipt=receipt,  # type: ignore[arg-type]
            amount_cents=1_000,  # type: ignore[arg-type]
            method="mpesa",
            paid_at=PAID_AT,
            channel="c2b",
        )
        return ledger._post_repayment_job(cmd)

    def refuse(uow: UnitOfWork) -> None:
        raise InvalidRequestError("refused before any change")

    def half_done(uow: UnitOfWork) -> None:
        loan = uow.get(LoanAccount, loan_id)
        assert loan is not None
        loan.write_off(reason="half", written_off_by=str(STAFF), written_off_on=PAID_AT.date())
        raise InvalidRequestError("refused after a change")

    batches = writer.batches
    answers = ledger.execute_many([repay("CLEAN001"), Job(run=refuse), repay("CLEAN002")])
    assert [type(a).__name__ for a in answers] == ["Receipted", "InvalidRequestError", "Receipted"]
    assert (writer.batches, writer.fallbacks) == (batches + 1, 0)

    answers = ledger.execute_many([repay("POISON01"), Job(run=half_done), repay("POISON02")])
    assert [type(a).__name__ for a in answers] == ["Receipted", "InvalidRequestError", "Receipted"]
    assert writer.fallbacks == 1  # counted, logged: the two repayments committed alone
    assert [a.status for a in answers if not isinstance(a, Exception)] == ["posted", "posted"]
    assert ledger.loan(loan_id).status != "written_off"
