"""Which stored ledger events become which public LEDGER events. Journals and receipts stay inside."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from eventsourcing.domain import Aggregate, DomainEventProtocol

from hazina_contracts.events import ledger as contract
from hazina_contracts.events.base import ContractEvent
from hazina_ledger.domain.loan_account import LoanAccount
from hazina_ledger.domain.savings_account import SavingsAccount


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def to_contract(event: DomainEventProtocol[uuid.UUID]) -> ContractEvent | None:
    if not isinstance(event, Aggregate.Event):
        return None  # every ledger event is an aggregate's; nothing else is published
    at = event.timestamp
    match event:
        case LoanAccount.Disbursed():
            rows = event.instalments
            return contract.LoanAccountOpenedV2(
                occurred_at=at,
                loan_id=event.originator_id,
                client_id=_uuid(event.client_id),
                principal_cents=event.principal_cents,
                total_interest_cents=sum(r[3] for r in rows),
                total_fees_cents=sum(r[4] for r in rows),
                instalments=len(rows),
                disbursed_on=dt.date.fromisoformat(event.disbursed_on),
                maturity_on=dt.date.fromisoformat(rows[-1][1]),
                schedule=[
                    contract.ScheduledInstalment(
                        number=int(number),
                        due_on=dt.date.fromisoformat(str(due_on)),
                        principal_cents=int(principal),
                        interest_cents=int(interest),
                        fee_cents=int(fee),
                    )
                    for number, due_on, principal, interest, fee in rows
                ],
            )
        case LoanAccount.RepaymentPosted():
            lines = event.lines
            return contract.RepaymentPosted(
                occurred_at=at,
                loan_id=event.originator_id,
                client_id=_uuid(event.client_id),
                receipt=event.receipt,
                amount_cents=event.amount_cents,
                fee_cents=sum(r[1] for r in lines),
                interest_cents=sum(r[2] for r in lines),
                principal_cents=sum(r[3] for r in lines),
                suspense_cents=event.suspense_cents,
                outstanding_cents=event.outstanding_cents,
                payment_method=event.method,
            )
        case LoanAccount.Repaid():
            return contract.LoanRepaid(
                occurred_at=at,
                loan_id=event.originator_id,
                client_id=_uuid(event.client_id),
                total_paid_cents=event.total_paid_cents,
            )
        case LoanAccount.ArrearsStatusChanged():
            return contract.LoanStatusChanged(
                occurred_at=at,
                loan_id=event.originator_id,
                client_id=_uuid(event.client_id),
                status=event.status,
                days_past_due=event.days_past_due,
                outstanding_cents=event.outstanding_cents,
            )
        case LoanAccount.WrittenOff():
            return contract.LoanStatusChanged(
                occurred_at=at,
                loan_id=event.originator_id,
                client_id=_uuid(event.client_id),
                status="written_off",
                days_past_due=0,
                outstanding_cents=0,
            )
        case LoanAccount.RepaymentReversed() if (
            event.amount_cents is not None and event.lines is not None
        ):
            lines = event.lines
            return contract.RepaymentReversed(
                occurred_at=at,
                loan_id=event.originator_id,
                client_id=_uuid(event.client_id),
                receipt=event.receipt,
                amount_cents=event.amount_cents,
                fee_cents=sum(r[1] for r in lines),
                interest_cents=sum(r[2] for r in lines),
                principal_cents=sum(r[3] for r in lines),
                suspense_cents=event.suspense_cents,
                payment_method=event.method,
                reason=event.reason,
                reversed_on=dt.date.fromisoformat(event.reversed_on),
                reallocations=[
                    contract.Reallocation(
                        receipt=receipt,
                        fee_cents=sum(r[1] for r in rows),
                        interest_cents=sum(r[2] for r in rows),
                        principal_cents=sum(r[3] for r in rows),
                        suspense_cents=int(suspense),
                    )
                    for receipt, rows, suspense in event.reallocations
                ],
                outstanding_cents=event.outstanding_cents,
                total_paid_cents=event.total_paid_cents,
                reopened=event.reopened,
            )
        case LoanAccount.RepaymentReversed() if event.reopened:
            # Stored before RepaymentReversed was published (no amount recorded): as it was then
            # published, a reversal that reopens a repaid loan is only its status change.
            return contract.LoanStatusChanged(
                occurred_at=at,
                loan_id=event.originator_id,
                client_id=_uuid(event.client_id),
                status="current",
                days_past_due=0,
                outstanding_cents=event.outstanding_cents,
            )
        case SavingsAccount.Deposited():
            return contract.SavingsBalanceChanged(
                occurred_at=at,
                client_id=_uuid(event.client_id),
                balance_cents=event.balance_after_cents,
                change_cents=event.amount_cents,
                reason="deposit",
                transaction_id=event.receipt,
            )
        case SavingsAccount.DepositReversed():
            return contract.SavingsBalanceChanged(
                occurred_at=at,
                client_id=_uuid(event.client_id),
                balance_cents=event.balance_after_cents,
                change_cents=-event.amount_cents,
                reason="reversal",
                transaction_id=event.receipt,
            )
        case SavingsAccount.WithdrawalApproved():
            return contract.SavingsBalanceChanged(
                occurred_at=at,
                client_id=_uuid(event.client_id),
                balance_cents=event.balance_after_cents,
                change_cents=-event.amount_cents,
                reason="withdrawal",
                transaction_id=str(event.withdrawal_id),
            )
    return None  # private: terms, receipts, withdrawal requests, anything added later until it is mapped
