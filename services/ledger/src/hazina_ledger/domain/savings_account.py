"""A client's savings: deposits, withdrawals under maker-checker, and the balance they derive.

The balance never goes negative; a withdrawal is requested by one staff member and approved by
another before any money moves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate, event

from hazina_contracts.money import format_cents
from hazina_ledger.domain import accounts as acc
from hazina_ledger.domain.errors import (
    InsufficientBalanceError,
    InvalidRequestError,
    InvalidStateError,
    MakerCheckerViolationError,
    NotFoundError,
)
from hazina_ledger.domain.journal import JournalEntry

SAVINGS_NAMESPACE = uuid.UUID("9c1f3e2a-2b7d-4c0e-8f6a-5d4b3a2c1e10")


@dataclass
class Withdrawal:
    withdrawal_id: str
    amount_cents: int
    method: str
    requested_by: str
    status: str = "pending"


class SavingsAccount(Aggregate):
    """One per client; its id is derived from the client's id."""

    TOPIC = "hazina.ledger.SavingsAccount"

    class Created(Aggregate.Created):
        TOPIC = "hazina.ledger.SavingsAccount.Created"

    @staticmethod
    def create_id(client_id: str, **_: Any) -> uuid.UUID:
        return uuid.uuid5(SAVINGS_NAMESPACE, str(uuid.UUID(str(client_id))))

    class Opened(Aggregate.Created):
        TOPIC = "hazina.ledger.SavingsAccount.Opened"
        client_id: str

    @event(Opened)
    def __init__(self, *, client_id: str) -> None:
        self.client_id = client_id
        self.balance_cents = 0
        # No record of every deposit here: a pool or clearing account takes thousands, and its
        # state (loaded and snapshotted on every posting batch) must not grow with them. Each
        # receipt's ``Receipt`` aggregate keeps what was paid, once.
        self.reversed_deposits: set[str] = set()
        self.withdrawals: dict[str, Withdrawal] = {}

    @property
    def account(self) -> str:
        return acc.account_id(acc.SAVINGS, self.client_id)

    @property
    def pending_withdrawals_cents(self) -> int:
        return sum(w.amount_cents for w in self.withdrawals.values() if w.status == "pending")

    def deposit(
        self,
        *,
        receipt: str,
        amount_cents: int,
        method: str,
        source_account: str,
        deposited_on: str,
        recorded_by: str | None,
        notes: str | None,
        channel: str,
    ) -> None:
        """Take in a payment whose receipt is new (its ``Receipt`` says so: the caller's check)."""
        if amount_cents <= 0:
            raise InvalidRequestError("a deposit must be greater than zero")
        entry = JournalEntry.transfer({source_account: amount_cents}, {self.account: amount_cents})
        self._deposited(
            client_id=self.client_id,
            receipt=receipt,
            amount_cents=amount_cents,
            method=method,
            source_account=source_account,
            deposited_on=deposited_on,
            recorded_by=recorded_by,
            notes=notes,
            channel=channel,
            balance_after_cents=self.balance_cents + amount_cents,
            journal=entry.to_legs(),
        )

    class Deposited(Aggregate.Event):
        TOPIC = "hazina.ledger.SavingsAccount.Deposited"
        client_id: str
        receipt: str
        amount_cents: int
        method: str
        source_account: str
        deposited_on: str
        recorded_by: str | None
        notes: str | None
        channel: str
        balance_after_cents: int
        journal: list[list[Any]]

    @event(Deposited)
    def _deposited(
        self,
        client_id: str,
        receipt: str,
        amount_cents: int,
        method: str,
        source_account: str,
        deposited_on: str,
        recorded_by: str | None,
        notes: str | None,
        channel: str,
        balance_after_cents: int,
        journal: list[list[Any]],
    ) -> None:
        self.balance_cents = balance_after_cents
        # A snapshot taken before 2026-12 carries the old record of every deposit: let it go.
        self.__dict__.pop("deposits", None)

    def reverse_deposit(
        self,
        *,
        receipt: str,
        amount_cents: int,
        source_account: str,
        reason: str,
        reversed_by: str,
        reversed_on: str,
    ) -> None:
        """Take back deposit ``receipt``: ``amount_cents`` back to the ``source_account`` it came
        from, as its ``Receipt`` recorded them."""
        amount, source = amount_cents, source_account
        if amount <= 0:
            raise InvalidRequestError("a reversed deposit must be greater than zero")
        if receipt in self.reversed_deposits:
            raise InvalidStateError(f"Deposit {receipt} is already reversed")
        if amount > self.balance_cents - self.pending_withdrawals_cents:
            raise InsufficientBalanceError(
                f"Reversing {format_cents(amount)} KES would overdraw savings of {format_cents(self.balance_cents)} KES"
            )
        if not reason.strip():
            raise InvalidRequestError("a reversal needs a reason")
        entry = JournalEntry.transfer(
            {self.account: amount}, {source: amount}
        )  # mirrors the deposit
        self._deposit_reversed(
            client_id=self.client_id,
            receipt=receipt,
            amount_cents=amount,
            reason=reason.strip(),
            reversed_by=reversed_by,
            reversed_on=reversed_on,
            balance_after_cents=self.balance_cents - amount,
            journal=entry.to_legs(),
        )

    class DepositReversed(Aggregate.Event):
        TOPIC = "hazina.ledger.SavingsAccount.DepositReversed"
        client_id: str
        receipt: str
        amount_cents: int
        reason: str
        reversed_by: str
        reversed_on: str
        balance_after_cents: int
        journal: list[list[Any]]

    @event(DepositReversed)
    def _deposit_reversed(
        self,
        client_id: str,
        receipt: str,
        amount_cents: int,
        reason: str,
        reversed_by: str,
        reversed_on: str,
        balance_after_cents: int,
        journal: list[list[Any]],
    ) -> None:
        self.reversed_deposits.add(receipt)
        self.balance_cents = balance_after_cents

    def request_withdrawal(
        self,
        *,
        withdrawal_id: str,
        amount_cents: int,
        method: str,
        requested_by: str,
        requested_at: str,
        notes: str | None,
    ) -> None:
        if withdrawal_id in self.withdrawals:
            return
        if amount_cents <= 0:
            raise InvalidRequestError("a withdrawal must be greater than zero")
        if method not in acc.SOURCE_BY_METHOD:
            raise InvalidRequestError("paymentMethod must be one of mpesa, cash, bank")
        available = self.balance_cents - self.pending_withdrawals_cents
        if amount_cents > available:
            raise InsufficientBalanceError(
                f"Savings available are {format_cents(available)} KES; cannot withdraw {format_cents(amount_cents)} KES"
            )
        self._withdrawal_requested(
            withdrawal_id=withdrawal_id,
            amount_cents=amount_cents,
            method=method,
            requested_by=requested_by,
            requested_at=requested_at,
            notes=notes,
        )

    class WithdrawalRequested(Aggregate.Event):
        TOPIC = "hazina.ledger.SavingsAccount.WithdrawalRequested"
        withdrawal_id: str
        amount_cents: int
        method: str
        requested_by: str
        requested_at: str
        notes: str | None

    @event(WithdrawalRequested)
    def _withdrawal_requested(
        self,
        withdrawal_id: str,
        amount_cents: int,
        method: str,
        requested_by: str,
        requested_at: str,
        notes: str | None,
    ) -> None:
        self.withdrawals[withdrawal_id] = Withdrawal(
            withdrawal_id, amount_cents, method, requested_by
        )

    def _pending(self, withdrawal_id: str) -> Withdrawal:
        withdrawal = self.withdrawals.get(withdrawal_id)
        if withdrawal is None:
            raise NotFoundError("Withdrawal not found")
        if withdrawal.status != "pending":
            raise InvalidStateError(f"Withdrawal is {withdrawal.status}, not pending")
        return withdrawal

    def approve_withdrawal(self, *, withdrawal_id: str, approved_by: str, approved_on: str) -> None:
        withdrawal = self._pending(withdrawal_id)
        if approved_by == withdrawal.requested_by:
            raise MakerCheckerViolationError(
                "The staff member who requested a withdrawal cannot approve it"
            )
        if withdrawal.amount_cents > self.balance_cents:
            raise InsufficientBalanceError(
                f"Savings are {format_cents(self.balance_cents)} KES; cannot pay {format_cents(withdrawal.amount_cents)} KES"
            )
        destination = (
            acc.B2C_FLOAT
            if withdrawal.method == "mpesa"
            else acc.SOURCE_BY_METHOD[withdrawal.method]
        )
        entry = JournalEntry.transfer(
            {self.account: withdrawal.amount_cents}, {destination: withdrawal.amount_cents}
        )
        self._withdrawal_approved(
            client_id=self.client_id,
            withdrawal_id=withdrawal_id,
            amount_cents=withdrawal.amount_cents,
            approved_by=approved_by,
            approved_on=approved_on,
            balance_after_cents=self.balance_cents - withdrawal.amount_cents,
            journal=entry.to_legs(),
        )

    class WithdrawalApproved(Aggregate.Event):
        TOPIC = "hazina.ledger.SavingsAccount.WithdrawalApproved"
        client_id: str
        withdrawal_id: str
        amount_cents: int
        approved_by: str
        approved_on: str
        balance_after_cents: int
        journal: list[list[Any]]

    @event(WithdrawalApproved)
    def _withdrawal_approved(
        self,
        client_id: str,
        withdrawal_id: str,
        amount_cents: int,
        approved_by: str,
        approved_on: str,
        balance_after_cents: int,
        journal: list[list[Any]],
    ) -> None:
        self.withdrawals[withdrawal_id].status = "approved"
        self.balance_cents = balance_after_cents

    def reject_withdrawal(
        self, *, withdrawal_id: str, rejected_by: str, reason: str, rejected_at: str
    ) -> None:
        self._pending(withdrawal_id)
        self._withdrawal_rejected(
            withdrawal_id=withdrawal_id,
            rejected_by=rejected_by,
            reason=reason.strip(),
            rejected_at=rejected_at,
        )

    class WithdrawalRejected(Aggregate.Event):
        TOPIC = "hazina.ledger.SavingsAccount.WithdrawalRejected"
        withdrawal_id: str
        rejected_by: str
        reason: str
        rejected_at: str

    @event(WithdrawalRejected)
    def _withdrawal_rejected(
        self, withdrawal_id: str, rejected_by: str, reason: str, rejected_at: str
    ) -> None:
        self.withdrawals[withdrawal_id].status = "rejected"
