"""A loan account: the approved terms, the schedule, and every repayment allocated against it.

The loan's state is a fold over its repayments in the order they were posted. Public methods
decide (and compute allocations and journal entries); the decorated private methods only record
what was decided, so a replay never re-runs a rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate, event

from hazina_ledger.domain import accounts as acc
from hazina_ledger.domain.allocation import (
    Allocation,
    AllocationLine,
    AllocationStrategy,
    Components,
    Payment,
    allocate,
    due_of,
    fold,
    parse_strategy,
)
from hazina_ledger.domain.arrears import (
    ArrearsPolicy,
    ArrearsPosition,
    ArrearsStatus,
    arrears_position,
)
from hazina_ledger.domain.errors import (
    AwaitingPrerequisiteError,
    InvalidRequestError,
    InvalidStateError,
)
from hazina_ledger.domain.journal import JournalEntry, difference
from hazina_ledger.domain.schedule import Instalment, build_schedule
from hazina_ledger.domain.terms import instalment_rows, instalments_from_rows, schedule_terms

APPROVED, CURRENT, IN_ARREARS, DEFAULTED = "approved", "current", "in_arrears", "defaulted"
REPAID, WRITTEN_OFF = "repaid", "written_off"
CANCELLED = "cancelled"  # withdrawn by origination before any money moved: never disbursed
LIVE = (CURRENT, IN_ARREARS, DEFAULTED)


@dataclass
class RepaymentRecord:
    receipt: str
    amount_cents: int
    paid_on: dt.date
    method: str
    source_account: str
    allocation: Allocation
    recovery_cents: int = 0
    reversed: bool = False

    @property
    def suspense_cents(self) -> int:
        return self.allocation.suspense_cents


HELD, ACCEPTED, TO_RECOVER = "held", "accepted", "recovery"


@dataclass
class HeldDisbursement:
    """A payout whose amount differs from the approved principal: booked, not scheduled."""

    disbursement_id: str
    amount_cents: int
    expected_cents: int
    charge_cents: int
    mpesa_receipt: str
    disbursed_on: dt.date
    status: str = HELD


def lines_to_rows(lines: tuple[AllocationLine, ...]) -> list[list[int]]:
    return [
        [line.number, line.parts.fee_cents, line.parts.interest_cents, line.parts.principal_cents]
        for line in lines
    ]


def rows_to_lines(rows: list[list[int]]) -> tuple[AllocationLine, ...]:
    return tuple(AllocationLine(int(n), Components(int(f), int(i), int(p))) for n, f, i, p in rows)


@functools.lru_cache(maxsize=200_000)
def _sub_account(code: str, loan_id: uuid.UUID) -> str:
    return acc.account_id(code, loan_id)


class LoanAccount(Aggregate):
    """One per loan; its id is the loan's id, so opening it twice is impossible."""

    TOPIC = "hazina.ledger.LoanAccount"

    class Created(Aggregate.Created):
        TOPIC = "hazina.ledger.LoanAccount.Created"

    @staticmethod
    def create_id(loan_id: str, **_: Any) -> uuid.UUID:
        return uuid.UUID(str(loan_id))

    class TermsRecorded(Aggregate.Created):
        TOPIC = "hazina.ledger.LoanAccount.TermsRecorded"
        loan_id: str
        client_id: str
        group_id: str | None
        loan_officer_id: str | None
        account_number: str
        approved_principal_cents: int
        terms: dict[str, Any]
        strategy: str
        approved_at: str

    @event(TermsRecorded)
    def __init__(
        self,
        *,
        loan_id: str,
        client_id: str,
        group_id: str | None,
        loan_officer_id: str | None,
        account_number: str,
        approved_principal_cents: int,
        terms: dict[str, Any],
        strategy: str,
        approved_at: str,
    ) -> None:
        self.client_id = client_id
        self.group_id = group_id
        self.loan_officer_id = loan_officer_id
        self.account_number = account_number
        self.approved_principal_cents = approved_principal_cents
        self.terms = terms
        self.strategy = strategy
        self.status = APPROVED
        self.disbursement_id: str | None = None
        self.principal_cents = 0
        self.disbursed_on: dt.date | None = None
        self.schedule: list[Instalment] = []
        self.paid: list[Components] = []
        self.repayments: dict[str, RepaymentRecord] = {}
        self.suspense_cents = 0
        self.days_past_due = 0
        self.written_off_on: dt.date | None = None
        self.held: dict[str, HeldDisbursement] = {}
        self._due_total = Components()
        self._paid_total = Components()

    # Reading the state

    @property
    def allocation_strategy(self) -> AllocationStrategy:
        return parse_strategy(self.strategy)

    @property
    def disbursed(self) -> bool:
        return self.status not in (APPROVED, CANCELLED)

    @property
    def due(self) -> Components:
        return self._due_total

    @property
    def paid_total(self) -> Components:
        """Kept as repayments apply (the sum of ``paid``), so posting stays O(1) in the schedule's length."""
        return self._paid_total

    @property
    def outstanding(self) -> Components:
        """What the borrower still owes under the schedule (zero once written off)."""
        if self.status == WRITTEN_OFF:
            return Components()
        return self.due - self.paid_total

    @property
    def total_paid_cents(self) -> int:
        return sum(r.amount_cents for r in self.repayments.values() if not r.reversed)

    def arrears(self, as_of: dt.date, tolerance_cents: int = 0) -> ArrearsPosition:
        return arrears_position(self.schedule, self.paid, as_of, tolerance_cents)

    def sub_account(self, code: str) -> str:
        return _sub_account(code, self.id)

    # Terms (from origination's LoanApproved)

    def amend_terms(
        self,
        *,
        approved_principal_cents: int,
        terms: dict[str, Any],
        strategy: str,
        approved_at: str,
    ) -> bool:
        """A re-approval before disbursement replaces the terms; after it, they are fixed.

        A cancelled loan keeps the terms it had: origination never approves it again, so an
        approval seen now is a late or repeated delivery.
        """
        if self.status == CANCELLED or (approved_principal_cents, terms, strategy) == (
            self.approved_principal_cents,
            self.terms,
            self.strategy,
        ):
            return False
        if self.disbursed:
            raise InvalidStateError(f"Loan terms are fixed once disbursed; loan is {self.status}")
        schedule_terms(terms)
        parse_strategy(strategy)
        self._terms_amended(
            approved_principal_cents=approved_principal_cents,
            terms=terms,
            strategy=strategy,
            approved_at=approved_at,
        )
        return True

    class TermsAmended(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.TermsAmended"
        approved_principal_cents: int
        terms: dict[str, Any]
        strategy: str
        approved_at: str

    @event(TermsAmended)
    def _terms_amended(
        self, approved_principal_cents: int, terms: dict[str, Any], strategy: str, approved_at: str
    ) -> None:
        self.approved_principal_cents = approved_principal_cents
        self.terms = terms
        self.strategy = strategy

    # Cancellation (from origination's LoanCancelled)

    def cancel(self, *, reason: str | None, cancelled_on: dt.date) -> bool:
        """Origination withdrew the loan before any money moved; False when already cancelled.

        Refused once money has moved (a payout, even a held one): origination cannot cancel a
        loan it has asked to disburse, so such a cancellation needs a person.
        """
        if self.status == CANCELLED:
            return False
        if self.disbursed or self.held:
            raise InvalidStateError(
                f"Loan {self.id} cannot be cancelled: money has moved (loan is {self.status}, "
                f"{len(self.held)} payout(s) held)"
            )
        self._cancelled(reason=reason, cancelled_on=cancelled_on.isoformat())
        return True

    class Cancelled(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.Cancelled"
        reason: str | None
        cancelled_on: str

    @event(Cancelled)
    def _cancelled(self, reason: str | None, cancelled_on: str) -> None:
        self.status = CANCELLED

    # Disbursement (from the payments gateway's DisbursementCompleted)

    def open(
        self,
        *,
        disbursement_id: str,
        amount_cents: int,
        charge_cents: int,
        mpesa_receipt: str,
        disbursed_on: dt.date,
    ) -> str:
        """Open the account: principal out of the B2C float, the charge to expense, the schedule.

        The gateway sends exactly the approved principal (no fee is netted from the payout: fees
        are scheduled receivables, the B2C charge is the lender's expense), so a payout of any
        other amount is held for staff instead: booked to suspense, not scheduled. So is any
        payout of a cancelled loan, against an expected 0: staff can only mark it for recovery.
        Returns ``opened``, ``held``, or ``duplicate`` when this disbursement is already recorded.
        """
        if self.disbursement_id == disbursement_id or disbursement_id in self.held:
            return "duplicate"
        if self.disbursed:
            raise InvalidStateError(
                f"Loan already disbursed by {self.disbursement_id}; a second disbursement "
                f"{disbursement_id} needs staff review (loan is {self.status})"
            )
        if amount_cents <= 0 or charge_cents < 0:
            raise InvalidRequestError(
                "disbursement amount must be positive and its charge not negative"
            )
        if self.status == CANCELLED or amount_cents != self.approved_principal_cents:
            self._hold(disbursement_id, amount_cents, charge_cents, mpesa_receipt, disbursed_on)
            return "held"
        schedule = build_schedule(amount_cents, disbursed_on, schedule_terms(self.terms))
        entry = self._opening_entry(
            amount_cents, charge_cents, schedule.interest_cents, schedule.fee_cents
        )
        self._disbursed(
            client_id=self.client_id,
            disbursement_id=disbursement_id,
            principal_cents=amount_cents,
            charge_cents=charge_cents,
            mpesa_receipt=mpesa_receipt,
            disbursed_on=disbursed_on.isoformat(),
            instalments=instalment_rows(schedule.instalments),
            journal=entry.to_legs(),
        )
        return "opened"

    def _opening_entry(
        self,
        principal_cents: int,
        charge_cents: int,
        interest_cents: int,
        fee_cents: int,
        funded_from: str | None = None,
    ) -> JournalEntry:
        """Principal out of the B2C float with its charge to expense (or, for a held payout whose
        cash and charge were booked when it was held, out of its suspense), and the schedule's
        interest and fees as receivables against their unearned contras."""
        return JournalEntry.transfer(
            debits={
                self.sub_account(acc.LOAN_PRINCIPAL): principal_cents,
                acc.TRANSACTION_CHARGES: charge_cents,
                self.sub_account(acc.INTEREST_RECEIVABLE): interest_cents,
                self.sub_account(acc.FEE_RECEIVABLE): fee_cents,
            },
            credits={
                funded_from or acc.B2C_FLOAT: principal_cents,
                acc.B2C_CHARGES_PAID: charge_cents,
                self.sub_account(acc.UNEARNED_INTEREST): interest_cents,
                self.sub_account(acc.UNEARNED_FEES): fee_cents,
            },
        )

    # A payout that is not the approved principal (held for staff)

    def _hold(
        self,
        disbursement_id: str,
        amount_cents: int,
        charge_cents: int,
        mpesa_receipt: str,
        disbursed_on: dt.date,
    ) -> None:
        entry = JournalEntry.transfer(
            debits={
                self.sub_account(acc.DISBURSEMENTS_HELD): amount_cents,
                acc.TRANSACTION_CHARGES: charge_cents,
            },
            credits={acc.B2C_FLOAT: amount_cents, acc.B2C_CHARGES_PAID: charge_cents},
        )
        self._disbursement_mismatch_held(
            client_id=self.client_id,
            disbursement_id=disbursement_id,
            amount_cents=amount_cents,
            expected_cents=0 if self.status == CANCELLED else self.approved_principal_cents,
            charge_cents=charge_cents,
            mpesa_receipt=mpesa_receipt,
            disbursed_on=disbursed_on.isoformat(),
            journal=entry.to_legs(),
        )

    class DisbursementMismatchHeld(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.DisbursementMismatchHeld"
        client_id: str
        disbursement_id: str
        amount_cents: int
        expected_cents: int
        charge_cents: int
        mpesa_receipt: str
        disbursed_on: str
        journal: list[list[Any]]

    @event(DisbursementMismatchHeld)
    def _disbursement_mismatch_held(
        self,
        client_id: str,
        disbursement_id: str,
        amount_cents: int,
        expected_cents: int,
        charge_cents: int,
        mpesa_receipt: str,
        disbursed_on: str,
        journal: list[list[Any]],
    ) -> None:
        self.held[disbursement_id] = HeldDisbursement(
            disbursement_id,
            amount_cents,
            expected_cents,
            charge_cents,
            mpesa_receipt,
            dt.date.fromisoformat(disbursed_on),
        )

    def _held_for_decision(self, disbursement_id: str, reason: str) -> HeldDisbursement:
        held = self.held.get(disbursement_id)
        if held is None:
            raise InvalidRequestError(
                f"Disbursement {disbursement_id} is not held for review on this loan"
            )
        if held.status != HELD:
            decided = "accepted as principal" if held.status == ACCEPTED else "marked for recovery"
            raise InvalidStateError(f"Disbursement {disbursement_id} was already {decided}")
        if not reason.strip():
            raise InvalidRequestError("a decision on a held disbursement needs a reason")
        return held

    def accept_held_disbursement(
        self, *, disbursement_id: str, reason: str, accepted_by: str, accepted_on: dt.date
    ) -> None:
        """Staff accept the amount paid out as the principal: the schedule opens on it from the
        day the money was paid; the suspense becomes principal on the day of the decision."""
        held = self._held_for_decision(disbursement_id, reason)
        if self.status == CANCELLED:
            raise InvalidStateError(
                "Loan was cancelled before disbursement; this payout can only be marked for recovery"
            )
        if self.disbursed:
            raise InvalidStateError(
                f"Loan is already disbursed by {self.disbursement_id} (loan is {self.status}); "
                f"this payout can only be marked for recovery"
            )
        schedule = build_schedule(held.amount_cents, held.disbursed_on, schedule_terms(self.terms))
        entry = self._opening_entry(
            held.amount_cents,
            0,  # the charge was booked when the payout was held
            schedule.interest_cents,
            schedule.fee_cents,
            funded_from=self.sub_account(acc.DISBURSEMENTS_HELD),
        )
        self._disbursement_mismatch_accepted(
            client_id=self.client_id,
            disbursement_id=disbursement_id,
            amount_cents=held.amount_cents,
            reason=reason.strip(),
            resolved_by=accepted_by,
            resolved_on=accepted_on.isoformat(),
            journal=entry.to_legs(),
        )
        self._disbursed(
            client_id=self.client_id,
            disbursement_id=disbursement_id,
            principal_cents=held.amount_cents,
            charge_cents=held.charge_cents,
            mpesa_receipt=held.mpesa_receipt,
            disbursed_on=held.disbursed_on.isoformat(),
            instalments=instalment_rows(schedule.instalments),
            journal=[],  # booked by the acceptance, dated the day it was decided
        )

    class DisbursementMismatchAccepted(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.DisbursementMismatchAccepted"
        client_id: str
        disbursement_id: str
        amount_cents: int
        reason: str
        resolved_by: str
        resolved_on: str
        journal: list[list[Any]]

    @event(DisbursementMismatchAccepted)
    def _disbursement_mismatch_accepted(
        self,
        client_id: str,
        disbursement_id: str,
        amount_cents: int,
        reason: str,
        resolved_by: str,
        resolved_on: str,
        journal: list[list[Any]],
    ) -> None:
        self.held[disbursement_id].status = ACCEPTED

    def mark_held_disbursement_for_recovery(
        self, *, disbursement_id: str, reason: str, marked_by: str, marked_on: dt.date
    ) -> None:
        """Staff decide the money must come back: it moves from suspense to an amount to recover,
        and the loan waits for a disbursement of its approved principal."""
        held = self._held_for_decision(disbursement_id, reason)
        entry = JournalEntry.transfer(
            debits={self.sub_account(acc.DISBURSEMENTS_TO_RECOVER): held.amount_cents},
            credits={self.sub_account(acc.DISBURSEMENTS_HELD): held.amount_cents},
        )
        self._disbursement_mismatch_marked_for_recovery(
            client_id=self.client_id,
            disbursement_id=disbursement_id,
            amount_cents=held.amount_cents,
            reason=reason.strip(),
            resolved_by=marked_by,
            resolved_on=marked_on.isoformat(),
            journal=entry.to_legs(),
        )

    class DisbursementMismatchMarkedForRecovery(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.DisbursementMismatchMarkedForRecovery"
        client_id: str
        disbursement_id: str
        amount_cents: int
        reason: str
        resolved_by: str
        resolved_on: str
        journal: list[list[Any]]

    @event(DisbursementMismatchMarkedForRecovery)
    def _disbursement_mismatch_marked_for_recovery(
        self,
        client_id: str,
        disbursement_id: str,
        amount_cents: int,
        reason: str,
        resolved_by: str,
        resolved_on: str,
        journal: list[list[Any]],
    ) -> None:
        self.held[disbursement_id].status = TO_RECOVER

    class Disbursed(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.Disbursed"
        client_id: str
        disbursement_id: str
        principal_cents: int
        charge_cents: int
        mpesa_receipt: str
        disbursed_on: str
        instalments: list[list[Any]]
        journal: list[list[Any]]

    @event(Disbursed)
    def _disbursed(
        self,
        client_id: str,
        disbursement_id: str,
        principal_cents: int,
        charge_cents: int,
        mpesa_receipt: str,
        disbursed_on: str,
        instalments: list[list[Any]],
        journal: list[list[Any]],
    ) -> None:
        self.disbursement_id = disbursement_id
        self.principal_cents = principal_cents
        self.disbursed_on = dt.date.fromisoformat(disbursed_on)
        self.schedule = instalments_from_rows(instalments)
        self.paid = [Components() for _ in self.schedule]
        due = Components()
        for instalment in self.schedule:
            due = due + due_of(instalment)
        self._due_total = due
        self._paid_total = Components()
        self.status = CURRENT

    # Repayments

    def _repayment_entry(self, record: RepaymentRecord) -> list[tuple[str, int]]:
        """The legs one repayment posts (as signed cents), from its allocation."""
        parts = record.allocation.parts
        legs: list[tuple[str, int]] = [(record.source_account, record.amount_cents)]
        if record.recovery_cents:
            legs.append((acc.RECOVERIES, -record.recovery_cents))
        legs += [
            (self.sub_account(acc.FEE_RECEIVABLE), -parts.fee_cents),
            (self.sub_account(acc.INTEREST_RECEIVABLE), -parts.interest_cents),
            (self.sub_account(acc.LOAN_PRINCIPAL), -parts.principal_cents),
            (acc.account_id(acc.CLIENT_SUSPENSE, self.client_id), -record.suspense_cents),
            # Income is recognised when paid (cash basis): unearned -> earned.
            (self.sub_account(acc.UNEARNED_FEES), parts.fee_cents),
            (acc.FEE_INCOME, -parts.fee_cents),
            (self.sub_account(acc.UNEARNED_INTEREST), parts.interest_cents),
            (acc.INTEREST_INCOME, -parts.interest_cents),
        ]
        return legs

    def post_repayment(
        self, *, receipt: str, amount_cents: int, paid_on: dt.date, method: str, source_account: str
    ) -> RepaymentRecord:
        """Allocate a repayment; the excess over the whole outstanding goes to the client's suspense.

        After a write-off, money received is a recovery (income), not an allocation.
        """
        if receipt in self.repayments:
            return self.repayments[receipt]
        if self.status == CANCELLED:
            raise InvalidStateError(
                "Loan was cancelled before disbursement; it takes no repayments"
            )
        if self.status == APPROVED:
            raise AwaitingPrerequisiteError(
                "Loan is approved but not yet disbursed; the repayment waits for the disbursement",
                waiting_for=f"disbursement:{self.id}",
            )
        # Where the rule lives: money booked to a loan is positive. The edges already read an
        # AmountCents; this one check guards the books against any other caller.
        if amount_cents <= 0:
            raise InvalidRequestError("amount must be greater than zero")
        acc.account_class(source_account)
        recovery = 0
        if self.status == WRITTEN_OFF:
            allocation = Allocation(amount_cents, (), 0)
            recovery = amount_cents
        else:
            allocation = allocate(
                self.schedule, self.paid, amount_cents, paid_on, self.allocation_strategy
            )
        record = RepaymentRecord(
            receipt, amount_cents, paid_on, method, source_account, allocation, recovery
        )
        entry = JournalEntry.of(self._repayment_entry(record))
        outstanding_after = (self.outstanding - allocation.parts).total_cents
        self._repayment_posted(
            client_id=self.client_id,
            receipt=receipt,
            amount_cents=amount_cents,
            paid_on=paid_on.isoformat(),
            method=method,
            source_account=source_account,
            lines=lines_to_rows(allocation.lines),
            suspense_cents=allocation.suspense_cents,
            recovery_cents=recovery,
            outstanding_cents=outstanding_after,
            journal=entry.to_legs(),
        )
        if outstanding_after == 0 and self.status in LIVE:
            self._repaid(
                client_id=self.client_id,
                total_paid_cents=self.total_paid_cents,
                repaid_on=paid_on.isoformat(),
            )
        return self.repayments[receipt]

    class RepaymentPosted(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.RepaymentPosted"
        client_id: str
        receipt: str
        amount_cents: int
        paid_on: str
        method: str
        source_account: str
        lines: list[list[int]]
        suspense_cents: int
        recovery_cents: int
        outstanding_cents: int
        journal: list[list[Any]]

    @event(RepaymentPosted)
    def _repayment_posted(
        self,
        client_id: str,
        receipt: str,
        amount_cents: int,
        paid_on: str,
        method: str,
        source_account: str,
        lines: list[list[int]],
        suspense_cents: int,
        recovery_cents: int,
        outstanding_cents: int,
        journal: list[list[Any]],
    ) -> None:
        allocation = Allocation(amount_cents, rows_to_lines(lines), suspense_cents)
        self.repayments[receipt] = RepaymentRecord(
            receipt,
            amount_cents,
            dt.date.fromisoformat(paid_on),
            method,
            source_account,
            allocation,
            recovery_cents,
        )
        self._apply_lines(allocation.lines, sign=1)
        self.suspense_cents += suspense_cents

    def _apply_lines(self, lines: tuple[AllocationLine, ...], sign: int) -> None:
        for line in lines:
            k = line.number - 1  # instalments are numbered 1..n in order
            if sign > 0:
                self.paid[k] = self.paid[k] + line.parts
                self._paid_total = self._paid_total + line.parts
            else:
                self.paid[k] = self.paid[k] - line.parts
                self._paid_total = self._paid_total - line.parts

    class Repaid(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.Repaid"
        client_id: str
        total_paid_cents: int
        repaid_on: str

    @event(Repaid)
    def _repaid(self, client_id: str, total_paid_cents: int, repaid_on: str) -> None:
        self.status = REPAID
        self.days_past_due = 0

    def reverse_repayment(
        self, *, receipt: str, reason: str, reversed_by: str, reversed_on: dt.date
    ) -> None:
        """Undo a repayment by a compensating entry, then re-fold the later ones."""
        record = self.repayments.get(receipt)
        if record is None:
            raise InvalidRequestError(f"Receipt {receipt} is not a repayment on this loan")
        if record.reversed:
            raise InvalidStateError(f"Repayment {receipt} is already reversed")
        if self.status == WRITTEN_OFF:
            raise InvalidStateError("Loan is written_off; its repayments can no longer be reversed")
        if not reason.strip():
            raise InvalidRequestError("a reversal needs a reason")
        live = [r for r in self.repayments.values() if not r.reversed]
        remaining = [r for r in live if r.receipt != receipt]
        payments = [Payment(r.receipt, r.amount_cents, r.paid_on) for r in remaining]
        _, allocations = fold(self.schedule, payments, self.allocation_strategy)
        before: list[tuple[str, int]] = []
        after: list[tuple[str, int]] = []
        reallocations = []
        for old in live:
            before += self._repayment_entry(old)
        for old, allocation in zip(remaining, allocations, strict=True):
            new = RepaymentRecord(
                old.receipt,
                old.amount_cents,
                old.paid_on,
                old.method,
                old.source_account,
                allocation,
            )
            after += self._repayment_entry(new)
            if allocation != old.allocation:
                reallocations.append(
                    [old.receipt, lines_to_rows(allocation.lines), allocation.suspense_cents]
                )
        entry = difference(after, before)
        if entry is None:  # pragma: no cover - removing a positive payment always changes postings
            raise InvalidStateError("reversal would post nothing")
        paid_total = Components()
        for allocation in allocations:
            paid_total = paid_total + allocation.parts
        outstanding_after = (self.due - paid_total).total_cents
        self._repayment_reversed(
            client_id=self.client_id,
            receipt=receipt,
            reason=reason.strip(),
            reversed_by=reversed_by,
            reversed_on=reversed_on.isoformat(),
            reallocations=reallocations,
            outstanding_cents=outstanding_after,
            reopened=self.status == REPAID and outstanding_after > 0,
            journal=entry.to_legs(),
            amount_cents=record.amount_cents,
            method=record.method,
            lines=lines_to_rows(record.allocation.lines),
            suspense_cents=record.suspense_cents,
            total_paid_cents=sum(r.amount_cents for r in remaining),
        )

    class RepaymentReversed(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.RepaymentReversed"
        client_id: str
        receipt: str
        reason: str
        reversed_by: str
        reversed_on: str
        reallocations: list[list[Any]]
        outstanding_cents: int
        reopened: bool
        journal: list[list[Any]]
        # Recorded since the RepaymentReversed contract event; an older stored event has none of
        # these, and reads them as None (a default is the class's, not stored state).
        amount_cents: int | None = None
        method: str | None = None
        lines: list[list[int]] | None = None
        suspense_cents: int | None = None
        total_paid_cents: int | None = None

    @event(RepaymentReversed)
    def _repayment_reversed(
        self,
        client_id: str,
        receipt: str,
        reason: str,
        reversed_by: str,
        reversed_on: str,
        reallocations: list[list[Any]],
        outstanding_cents: int,
        reopened: bool,
        journal: list[list[Any]],
        # Recorded since the RepaymentReversed contract event (what it publishes); None in older events.
        amount_cents: int | None = None,
        method: str | None = None,
        lines: list[list[int]] | None = None,
        suspense_cents: int | None = None,
        total_paid_cents: int | None = None,
    ) -> None:
        record = self.repayments[receipt]
        record.reversed = True
        self._apply_lines(record.allocation.lines, sign=-1)
        self.suspense_cents -= record.suspense_cents
        for other, rows, suspense in reallocations:
            moved = self.repayments[other]
            self._apply_lines(moved.allocation.lines, sign=-1)
            self.suspense_cents -= moved.suspense_cents
            moved.allocation = Allocation(moved.amount_cents, rows_to_lines(rows), int(suspense))
            self._apply_lines(moved.allocation.lines, sign=1)
            self.suspense_cents += moved.suspense_cents
        if reopened:
            self.status = CURRENT

    # Arrears and write-off

    def assess_arrears(self, as_of: dt.date, policy: ArrearsPolicy) -> bool:
        """Record a change of arrears status as of ``as_of``; False when nothing changed."""
        if self.status not in LIVE:
            return False
        position = self.arrears(as_of, policy.tolerance_cents)
        status = policy.status(position.days_past_due)
        if status.value == self.status:
            return False
        self._arrears_status_changed(
            client_id=self.client_id,
            status=status.value,
            days_past_due=position.days_past_due,
            as_of=as_of.isoformat(),
            outstanding_cents=self.outstanding.total_cents,
        )
        return True

    class ArrearsStatusChanged(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.ArrearsStatusChanged"
        client_id: str
        status: str
        days_past_due: int
        as_of: str
        outstanding_cents: int

    @event(ArrearsStatusChanged)
    def _arrears_status_changed(
        self, client_id: str, status: str, days_past_due: int, as_of: str, outstanding_cents: int
    ) -> None:
        self.status = ArrearsStatus(status).value
        self.days_past_due = days_past_due

    def write_off(self, *, reason: str, written_off_by: str, written_off_on: dt.date) -> None:
        """Move what is still owed to the loss account; the loan closes as written_off."""
        if self.status not in LIVE:
            raise InvalidStateError(
                f"Only a disbursed, unpaid loan can be written off; loan is {self.status}"
            )
        if not reason.strip():
            raise InvalidRequestError("a write-off needs a reason")
        owed = self.outstanding
        entry = JournalEntry.transfer(
            debits={
                acc.LOANS_WRITTEN_OFF: owed.principal_cents,
                self.sub_account(acc.UNEARNED_INTEREST): owed.interest_cents,
                self.sub_account(acc.UNEARNED_FEES): owed.fee_cents,
            },
            credits={
                self.sub_account(acc.LOAN_PRINCIPAL): owed.principal_cents,
                self.sub_account(acc.INTEREST_RECEIVABLE): owed.interest_cents,
                self.sub_account(acc.FEE_RECEIVABLE): owed.fee_cents,
            },
        )
        self._written_off(
            client_id=self.client_id,
            reason=reason.strip(),
            written_off_by=written_off_by,
            written_off_on=written_off_on.isoformat(),
            principal_cents=owed.principal_cents,
            interest_cents=owed.interest_cents,
            fee_cents=owed.fee_cents,
            journal=entry.to_legs(),
        )

    class WrittenOff(Aggregate.Event):
        TOPIC = "hazina.ledger.LoanAccount.WrittenOff"
        client_id: str
        reason: str
        written_off_by: str
        written_off_on: str
        principal_cents: int
        interest_cents: int
        fee_cents: int
        journal: list[list[Any]]

    @event(WrittenOff)
    def _written_off(
        self,
        client_id: str,
        reason: str,
        written_off_by: str,
        written_off_on: str,
        principal_cents: int,
        interest_cents: int,
        fee_cents: int,
        journal: list[list[Any]],
    ) -> None:
        self.status = WRITTEN_OFF
        self.written_off_on = dt.date.fromisoformat(written_off_on)
