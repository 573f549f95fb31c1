"""The ledger's use cases, and the event store they write to.

Every money command runs through ``execute``: in the group-commit writer when it runs (the API
and consumers), or directly with optimistic retries (CLI, tests). Each command's changes are
saved atomically; every event that moves money carries a journal entry that balanced before it
was recorded, and the save checks it again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording
from psycopg_pool import ConnectionPool

from hazina_contracts.receipts import ReceiptNumber
from hazina_ledger.application.commands import (
    AssignReceipt,
    CancelLoan,
    DecideWithdrawal,
    DepositSavings,
    OpenLoanAccount,
    PostRepayment,
    RecordLoanTerms,
    RecordUnallocatedReceipt,
    RequestWithdrawal,
    ResolveHeldDisbursement,
    ReverseReceipt,
    WriteOffLoan,
)
from hazina_ledger.application.group_commit import GroupCommitWriter, Job
from hazina_ledger.application.ports import Clock, business_date
from hazina_ledger.application.transcodings import register_ledger_transcodings
from hazina_ledger.application.unit_of_work import UnitOfWork, mutate_in_turn
from hazina_ledger.domain import accounts as acc
from hazina_ledger.domain.arrears import ArrearsPolicy
from hazina_ledger.domain.errors import (
    AwaitingPrerequisiteError,
    InsufficientBalanceError,
    InvalidRequestError,
    InvalidStateError,
    NotFoundError,
    ReceiptConflictError,
)
from hazina_ledger.domain.journal import JournalEntry
from hazina_ledger.domain.loan_account import CANCELLED, LoanAccount
from hazina_ledger.domain.receipt import (
    LOAN,
    SAVINGS,
    UNALLOCATED,
    Receipt,
    receipt_id,
)
from hazina_ledger.domain.savings_account import SavingsAccount
from hazina_servicekit.eventstore import EventStoreApplication
from hazina_servicekit.retry import retry_on_conflict

T = TypeVar("T")
MAX_ATTEMPTS = 30


@dataclass(frozen=True)
class Receipted:
    """What became of a receipt: newly ``posted``, or a ``duplicate`` acknowledged without change."""

    status: Literal["posted", "duplicate"]
    receipt: str
    target: str
    target_id: uuid.UUID | None


class Ledger(EventStoreApplication):
    """The ledger's event store: loan accounts, receipts and savings accounts."""

    name = "ledger"
    snapshotting_intervals = {SavingsAccount: 100}
    snapshotting_projectors = {SavingsAccount: mutate_in_turn}

    def __init__(
        self,
        env: dict[str, str],
        *,
        clock: Clock,
        pool: ConnectionPool,
        arrears_policy: ArrearsPolicy | None = None,
        max_batch: int = 500,
    ) -> None:
        super().__init__(env=env)
        self.clock = clock
        self.pool = pool
        self.arrears_policy = arrears_policy or ArrearsPolicy()
        self.writer = GroupCommitWriter(
            self, pool, self._run_directly, self._commit, max_batch=max_batch
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_ledger_transcodings(transcoder)

    # Saving: every journal balances again here, the last check before anything is stored.

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[uuid.UUID]]:
        for obj in objs:
            for pending in getattr(obj, "pending_events", ()):
                legs = getattr(pending, "journal", None)
                if legs:
                    JournalEntry.from_legs(legs)
        return super().save(*objs, **kwargs)

    def _commit(self, uow: UnitOfWork) -> None:
        touched = uow.touched()
        if touched:
            self.save(*touched)

    def _run_directly(self, job: Job) -> Any:
        def attempt() -> tuple[UnitOfWork, Any]:
            uow = UnitOfWork(self)
            value = job.run(uow)
            self._commit(uow)  # another writer changed an aggregate first: re-read, decide again
            return uow, value

        try:
            uow, value = retry_on_conflict(attempt, attempts=MAX_ATTEMPTS, jitter_seconds=0.002)
        except IntegrityError:  # pragma: no cover
            raise InvalidStateError("the account is too busy; please retry") from None
        if uow.deferred_error is not None:
            raise uow.deferred_error
        return value

    def execute(
        self,
        run: Callable[[UnitOfWork], T],
        *,
        loan_ids: Iterable[uuid.UUID] = (),
        receipt_ids: Iterable[uuid.UUID] = (),
    ) -> T:
        value: T = self._run(Job(run=run, loan_ids=tuple(loan_ids), receipt_ids=tuple(receipt_ids)))
        return value

    def _run(self, job: Job) -> Any:
        if self.writer.running:
            return self.writer.submit(job).result()
        return self._run_directly(job)

    def execute_many(self, jobs: Sequence[Job]) -> list[Any]:
        """Run ``jobs`` as one batch of the writer (one commit); each gets its value or error."""
        if not jobs:
            return []
        if not self.writer.running:  # the CLI and tests without the writer: one by one
            for job in jobs:
                try:
                    job.future.set_result(self._run_directly(job))
                except Exception as exc:
                    job.future.set_exception(exc)
        else:
            self.writer.submit_many(jobs)
        answers: list[Any] = []
        for job in jobs:
            error = job.future.exception()
            answers.append(error if error is not None else job.future.result())
        return answers

    def start_writer(self) -> None:
        self.writer.start()

    def close(self) -> None:
        self.writer.stop()
        super().close()

    def today(self) -> dt.date:
        return business_date(self.clock.now())

    # Loans: terms and disbursement (from origination and the payments gateway)

    def record_loan_terms(self, cmd: RecordLoanTerms) -> str:
        def run(uow: UnitOfWork) -> str:
            loan = uow.get(LoanAccount, cmd.loan_id)
            if loan is None:
                uow.add(
                    LoanAccount(
                        loan_id=str(cmd.loan_id),
                        client_id=str(cmd.client_id),
                        group_id=str(cmd.group_id) if cmd.group_id else None,
                        loan_officer_id=str(cmd.loan_officer_id) if cmd.loan_officer_id else None,
                        account_number=cmd.account_number,
                        approved_principal_cents=cmd.approved_principal_cents,
                        terms=cmd.terms,
                        strategy=cmd.strategy,
                        approved_at=cmd.approved_at.isoformat(),
                    )
                )
                return "recorded"
            amended = loan.amend_terms(
                approved_principal_cents=cmd.approved_principal_cents,
                terms=cmd.terms,
                strategy=cmd.strategy,
                approved_at=cmd.approved_at.isoformat(),
            )
            return "amended" if amended else "duplicate"

        return self.execute(run, loan_ids=[cmd.loan_id])

    def cancel_loan(self, cmd: CancelLoan) -> Literal["cancelled", "duplicate", "unknown"]:
        """``unknown``: the loan's approval has not reached the ledger (or never will: origination
        also cancels loans it never approved); the caller keeps the cancellation for it."""

        def run(uow: UnitOfWork) -> Literal["cancelled", "duplicate", "unknown"]:
            loan = uow.get(LoanAccount, cmd.loan_id)
            if loan is None:
                return "unknown"
            cancelled = loan.cancel(reason=cmd.reason, cancelled_on=business_date(cmd.cancelled_at))
            return "cancelled" if cancelled else "duplicate"

        return self.execute(run, loan_ids=[cmd.loan_id])

    def open_loan_account(self, cmd: OpenLoanAccount) -> str:
        """``opened``, ``held`` (the amount is not the approved principal) or ``duplicate``."""

        def run(uow: UnitOfWork) -> str:
            loan = uow.get(LoanAccount, cmd.loan_id)
            if loan is None:
                raise AwaitingPrerequisiteError(
                    f"Loan {cmd.loan_id} was disbursed before its approval reached the ledger",
                    waiting_for=f"loan:{cmd.loan_id}",
                )
            return loan.open(
                disbursement_id=str(cmd.disbursement_id),
                amount_cents=cmd.amount_cents,
                charge_cents=cmd.charge_cents,
                mpesa_receipt=cmd.mpesa_receipt,
                disbursed_on=business_date(cmd.disbursed_at),
            )

        return self.execute(run, loan_ids=[cmd.loan_id])

    def resolve_held_disbursement(self, cmd: ResolveHeldDisbursement) -> None:
        """Accept a held payout as the loan's principal, or mark it for recovery."""
        if cmd.decision not in ("accept", "recover"):
            raise InvalidRequestError("decide accept or recover")
        today = self.today()

        def run(uow: UnitOfWork) -> None:
            loan = uow.get(LoanAccount, cmd.loan_id)
            if loan is None:
                raise NotFoundError("Loan not found in the ledger")
            if cmd.decision == "accept":
                loan.accept_held_disbursement(
                    disbursement_id=str(cmd.disbursement_id),
                    reason=cmd.reason,
                    accepted_by=str(cmd.decided_by),
                    accepted_on=today,
                )
            else:
                loan.mark_held_disbursement_for_recovery(
                    disbursement_id=str(cmd.disbursement_id),
                    reason=cmd.reason,
                    marked_by=str(cmd.decided_by),
                    marked_on=today,
                )

        self.execute(run, loan_ids=[cmd.loan_id])

    # Receipts: the idempotency key of every money-in

    @staticmethod
    def _already(
        uow: UnitOfWork,
        receipt: ReceiptNumber,
        amount_cents: int,
        target: str,
        target_id: str | None,
        source: str,
        at: str,
    ) -> Receipted | None:
        """None if the receipt is new; an acknowledgement if it repeats; a flagged conflict otherwise."""
        existing = uow.get(Receipt, receipt_id(receipt))
        if existing is None:
            return None
        if existing.matches(amount_cents, target, target_id):
            return Receipted(
                "duplicate", existing.receipt, target, uuid.UUID(target_id) if target_id else None
            )
        existing.flag_conflict(
            amount_cents=amount_cents,
            target=target,
            target_id=target_id,
            source=source,
            flagged_at=at,
        )
        asked = Receipt.describe_target(amount_cents, target, target_id)
        uow.defer(
            ReceiptConflictError(
                f"Receipt {existing.receipt} was already used for {existing.describe()}; "
                f"this request ({asked}) is flagged for review and was not posted"
            )
        )
        return Receipted("duplicate", existing.receipt, existing.target, None)

    def post_repayment(self, cmd: PostRepayment) -> Receipted:
        answer: Receipted = self._run(self._post_repayment_job(cmd))
        return answer

    def _post_repayment_job(self, cmd: PostRepayment) -> Job:
        receipt = cmd.receipt
        if cmd.method not in acc.SOURCE_BY_METHOD:
            raise InvalidRequestError("paymentMethod must be one of mpesa, cash, bank")
        now = self.clock.now().isoformat()

        def run(uow: UnitOfWork) -> Receipted:
            loan = uow.get(LoanAccount, cmd.loan_id)
            if loan is not None and loan.status == CANCELLED and cmd.wait_for_loan:
                # The money is in the paybill, the loan will never be paid out: unallocated,
                # for staff to assign (to the client's savings) or refund.
                held = RecordUnallocatedReceipt(
                    receipt=receipt,
                    amount_cents=cmd.amount_cents,
                    paid_at=cmd.paid_at,
                    account_reference=cmd.account_reference or loan.account_number,
                    channel=cmd.channel,
                )
                unallocated: Receipted = self._record_unallocated_job(held).run(uow)
                return unallocated
            seen = self._already(
                uow, receipt, cmd.amount_cents, LOAN, str(cmd.loan_id), cmd.channel, now
            )
            if seen is not None:
                return seen
            if loan is None:
                if cmd.wait_for_loan:
                    raise AwaitingPrerequisiteError(
                        f"Repayment {receipt} is for loan {cmd.loan_id}, not yet known here",
                        waiting_for=f"loan:{cmd.loan_id}",
                    )
                raise NotFoundError("Loan not found in the ledger")
            loan.post_repayment(
                receipt=receipt,
                amount_cents=cmd.amount_cents,
                paid_on=business_date(cmd.paid_at),
                method=cmd.method,
                source_account=acc.SOURCE_BY_METHOD[cmd.method],
            )
            uow.add(
                Receipt.record(
                    receipt=receipt,
                    amount_cents=cmd.amount_cents,
                    target=LOAN,
                    target_id=str(cmd.loan_id),
                    method=cmd.method,
                    channel=cmd.channel,
                    paid_at=cmd.paid_at.isoformat(),
                    recorded_by=str(cmd.recorded_by) if cmd.recorded_by else None,
                )
            )
            return Receipted("posted", receipt, LOAN, cmd.loan_id)

        return Job(run=run, loan_ids=(cmd.loan_id,), receipt_ids=(receipt_id(receipt),))

    def deposit_savings(self, cmd: DepositSavings) -> Receipted:
        answer: Receipted = self._run(self._deposit_savings_job(cmd))
        return answer

    def _deposit_savings_job(self, cmd: DepositSavings) -> Job:
        receipt = cmd.receipt
        if cmd.method not in acc.SOURCE_BY_METHOD:
            raise InvalidRequestError("paymentMethod must be one of mpesa, cash, bank")
        now = self.clock.now().isoformat()
        account_id = SavingsAccount.create_id(str(cmd.client_id))

        def run(uow: UnitOfWork) -> Receipted:
            seen = self._already(
                uow, receipt, cmd.amount_cents, SAVINGS, str(cmd.client_id), cmd.channel, now
            )
            if seen is not None:
                return seen
            account = uow.get(SavingsAccount, account_id)
            if account is None:
                account = SavingsAccount(client_id=str(cmd.client_id))
                uow.add(account)
            account.deposit(
                receipt=receipt,
                amount_cents=cmd.amount_cents,
                method=cmd.method,
                source_account=acc.SOURCE_BY_METHOD[cmd.method],
                deposited_on=business_date(cmd.paid_at).isoformat(),
                recorded_by=str(cmd.recorded_by) if cmd.recorded_by else None,
                notes=cmd.notes,
                channel=cmd.channel,
            )
            uow.add(
                Receipt.record(
                    receipt=receipt,
                    amount_cents=cmd.amount_cents,
                    target=SAVINGS,
                    target_id=str(cmd.client_id),
                    method=cmd.method,
                    channel=cmd.channel,
                    paid_at=cmd.paid_at.isoformat(),
                    recorded_by=str(cmd.recorded_by) if cmd.recorded_by else None,
                )
            )
            return Receipted("posted", receipt, SAVINGS, cmd.client_id)

        return Job(run=run, receipt_ids=(receipt_id(receipt),))

    def record_unallocated(self, cmd: RecordUnallocatedReceipt) -> Receipted:
        answer: Receipted = self._run(self._record_unallocated_job(cmd))
        return answer

    def _record_unallocated_job(self, cmd: RecordUnallocatedReceipt) -> Job:
        receipt = cmd.receipt
        now = self.clock.now().isoformat()

        def run(uow: UnitOfWork) -> Receipted:
            seen = self._already(
                uow, receipt, cmd.amount_cents, UNALLOCATED, None, cmd.channel, now
            )
            if seen is not None:
                return seen
            uow.add(
                Receipt.record(
                    receipt=receipt,
                    amount_cents=cmd.amount_cents,
                    target=UNALLOCATED,
                    target_id=None,
                    method="mpesa",
                    channel=cmd.channel,
                    paid_at=cmd.paid_at.isoformat(),
                    recorded_by=None,
                    account_reference=cmd.account_reference[:100],
                )
            )
            return Receipted("posted", receipt, UNALLOCATED, None)

        return Job(run=run, receipt_ids=(receipt_id(receipt),))

    def receive_payments(
        self, commands: Sequence[PostRepayment | DepositSavings | RecordUnallocatedReceipt]
    ) -> list[Receipted | Exception]:
        """Many money-ins (a consumer's batch) in one group commit: one ``save()`` for them all.

        Each answer is in its command's place: what became of its receipt, or why it was not
        posted (an early repayment, a conflicting receipt). A receipt twice in the batch posts
        once: the second sees the first in the batch's unit of work and is a duplicate.
        """
        jobs: list[Job] = []
        for cmd in commands:
            if isinstance(cmd, PostRepayment):
                jobs.append(self._post_repayment_job(cmd))
            elif isinstance(cmd, DepositSavings):
                jobs.append(self._deposit_savings_job(cmd))
            else:
                jobs.append(self._record_unallocated_job(cmd))
        return self.execute_many(jobs)

    def assign_receipt(self, cmd: AssignReceipt) -> Receipted:
        receipt = cmd.receipt
        now = self.clock.now()

        def run(uow: UnitOfWork) -> Receipted:
            found = uow.get(Receipt, receipt_id(receipt))
            if found is None:
                raise NotFoundError(f"Receipt {receipt} not found")
            if found.status != "unallocated":
                raise InvalidStateError(f"Receipt {receipt} is {found.status}, not unallocated")
            paid_at = dt.datetime.fromisoformat(found.paid_at)
            if cmd.target == LOAN:
                loan = uow.get(LoanAccount, cmd.target_id)
                if loan is None:
                    raise NotFoundError("Loan not found in the ledger")
                if not loan.disbursed:
                    raise InvalidStateError(
                        f"Loan is {loan.status}; only a disbursed loan takes repayments"
                    )
                loan.post_repayment(
                    receipt=receipt,
                    amount_cents=found.amount_cents,
                    paid_on=business_date(paid_at),
                    method=found.method,
                    source_account=acc.UNALLOCATED_RECEIPTS,
                )
            elif cmd.target == SAVINGS:
                account_id = SavingsAccount.create_id(str(cmd.target_id))
                account = uow.get(SavingsAccount, account_id)
                if account is None:
                    account = SavingsAccount(client_id=str(cmd.target_id))
                    uow.add(account)
                account.deposit(
                    receipt=receipt,
                    amount_cents=found.amount_cents,
                    method=found.method,
                    source_account=acc.UNALLOCATED_RECEIPTS,
                    deposited_on=business_date(paid_at).isoformat(),
                    recorded_by=str(cmd.assigned_by),
                    notes="assigned from unallocated receipts",
                    channel=found.channel,
                )
            else:
                raise InvalidRequestError("assign an unallocated receipt to a loan or to savings")
            found.assign(
                target=cmd.target,
                target_id=str(cmd.target_id),
                assigned_by=str(cmd.assigned_by),
                assigned_at=now.isoformat(),
            )
            return Receipted("posted", receipt, cmd.target, cmd.target_id)

        return self.execute(run, loan_ids=[cmd.target_id] if cmd.target == LOAN else ())

    def reverse_receipt(self, cmd: ReverseReceipt) -> Receipted:
        """Reverse a repayment or a savings deposit by a compensating entry; never an edit."""
        receipt = cmd.receipt
        if not cmd.reason.strip():
            raise InvalidRequestError("reason is required")
        now = self.clock.now()

        def run(uow: UnitOfWork) -> Receipted:
            found = uow.get(Receipt, receipt_id(receipt))
            if found is None:
                raise NotFoundError(f"Receipt {receipt} not found")
            if found.status == "reversed":
                raise InvalidStateError(f"Receipt {receipt} is already reversed")
            target, target_id = found.target, found.target_id
            if found.assigned_to is not None:
                target, target_id = found.assigned_to
            if found.status == "unallocated" or target_id is None:
                raise InvalidStateError(
                    f"Receipt {receipt} is unallocated; assign it or leave it for review"
                )
            if target == LOAN:
                loan = uow.get(LoanAccount, uuid.UUID(target_id))
                if loan is None:  # pragma: no cover - a posted receipt always has its loan
                    raise NotFoundError("Loan not found in the ledger")
                loan.reverse_repayment(
                    receipt=receipt,
                    reason=cmd.reason,
                    reversed_by=str(cmd.reversed_by),
                    reversed_on=business_date(now),
                )
            else:
                account = uow.get(SavingsAccount, SavingsAccount.create_id(target_id))
                if account is None:  # pragma: no cover - a posted deposit always has its account
                    raise NotFoundError("Savings account not found")
                account.reverse_deposit(
                    receipt=receipt,
                    amount_cents=found.amount_cents,
                    source_account=found.paid_in_from,
                    reason=cmd.reason,
                    reversed_by=str(cmd.reversed_by),
                    reversed_on=business_date(now).isoformat(),
                )
            found.mark_reversed(
                reason=cmd.reason.strip(),
                reversed_by=str(cmd.reversed_by),
                reversed_at=now.isoformat(),
            )
            return Receipted("posted", receipt, target, uuid.UUID(target_id))

        return self.execute(run, receipt_ids=[receipt_id(receipt)])

    # Loans: write-off and arrears

    def write_off_loan(self, cmd: WriteOffLoan) -> None:
        def run(uow: UnitOfWork) -> None:
            loan = uow.get(LoanAccount, cmd.loan_id)
            if loan is None:
                raise NotFoundError("Loan not found in the ledger")
            loan.write_off(
                reason=cmd.reason,
                written_off_by=str(cmd.written_off_by),
                written_off_on=self.today(),
            )

        self.execute(run, loan_ids=[cmd.loan_id])

    def assess_arrears(self, loan_ids: Iterable[uuid.UUID], as_of: dt.date) -> int:
        """Record status changes (current, in_arrears, defaulted) as of ``as_of``; returns how many."""
        changed = 0
        for loan_id in loan_ids:

            def run(uow: UnitOfWork, loan_id: uuid.UUID = loan_id) -> bool:
                loan = uow.get(LoanAccount, loan_id)
                return loan is not None and loan.assess_arrears(as_of, self.arrears_policy)

            changed += bool(self.execute(run, loan_ids=[loan_id]))
        return changed

    # Savings withdrawals (maker-checker)

    def request_withdrawal(self, cmd: RequestWithdrawal) -> uuid.UUID:
        now = self.clock.now().isoformat()

        def run(uow: UnitOfWork) -> uuid.UUID:
            account = uow.get(SavingsAccount, SavingsAccount.create_id(str(cmd.client_id)))
            if account is None:
                raise InsufficientBalanceError("Client has no savings to withdraw")
            account.request_withdrawal(
                withdrawal_id=str(cmd.withdrawal_id),
                amount_cents=cmd.amount_cents,
                method=cmd.method,
                requested_by=str(cmd.requested_by),
                requested_at=now,
                notes=cmd.notes,
            )
            return cmd.withdrawal_id

        return self.execute(run)

    def decide_withdrawal(self, cmd: DecideWithdrawal) -> None:
        now = self.clock.now()

        def run(uow: UnitOfWork) -> None:
            account = uow.get(SavingsAccount, SavingsAccount.create_id(str(cmd.client_id)))
            if account is None:
                raise NotFoundError("Withdrawal not found")
            if cmd.approve:
                account.approve_withdrawal(
                    withdrawal_id=str(cmd.withdrawal_id),
                    approved_by=str(cmd.decided_by),
                    approved_on=business_date(now).isoformat(),
                )
            else:
                account.reject_withdrawal(
                    withdrawal_id=str(cmd.withdrawal_id),
                    rejected_by=str(cmd.decided_by),
                    reason=cmd.reason,
                    rejected_at=now.isoformat(),
                )

        self.execute(run)

    # Reads straight from the event store (audit, verify)

    def loan(self, loan_id: uuid.UUID) -> LoanAccount:
        found = UnitOfWork(self).get(LoanAccount, loan_id)
        if found is None:
            raise NotFoundError("Loan not found in the ledger")
        return found

    def savings(self, client_id: uuid.UUID) -> SavingsAccount | None:
        return UnitOfWork(self).get(SavingsAccount, SavingsAccount.create_id(str(client_id)))
