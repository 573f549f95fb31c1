"""The ledger's read side, defined once: its tables, and how each stored event changes them.

Every row here is derived from the ledger's own notification log; none of it is the truth. The
same definition drives the live projection (servicekit's ``Projection``, a batch of events at a
time) and ``hazina-ledger replay``'s rebuild (the same projection over pages of thousands, into a
scratch schema), so a new event field is written here once. Each event's changes go through
``RowChanges``, which holds them and writes them in bulk (COPY, set-based updates) with the same
result as running them one by one; that is what keeps a rebuild fast.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from hazina_ledger.adapters.row_changes import RowChanges, tables_of
from hazina_ledger.application.ports import business_date
from hazina_ledger.domain.accounts import account_class
from hazina_ledger.domain.loan_account import LoanAccount
from hazina_ledger.domain.receipt import Receipt
from hazina_ledger.domain.savings_account import SavingsAccount
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.projection import Projection

NAME = "ledger_read_models"

DDL = """
CREATE TABLE IF NOT EXISTS loan_accounts (
    loan_id uuid PRIMARY KEY,
    client_id uuid NOT NULL,
    group_id uuid,
    loan_officer_id uuid,
    account_number text NOT NULL,
    status text NOT NULL,
    approved_principal_cents bigint NOT NULL,
    terms jsonb NOT NULL,
    strategy text NOT NULL,
    approved_at timestamptz NOT NULL,
    disbursement_id text,
    mpesa_receipt text,
    principal_cents bigint NOT NULL DEFAULT 0,
    interest_cents bigint NOT NULL DEFAULT 0,
    fee_cents bigint NOT NULL DEFAULT 0,
    charge_cents bigint NOT NULL DEFAULT 0,
    disbursed_on date,
    maturity_on date,
    paid_principal_cents bigint NOT NULL DEFAULT 0,
    paid_interest_cents bigint NOT NULL DEFAULT 0,
    paid_fee_cents bigint NOT NULL DEFAULT 0,
    suspense_cents bigint NOT NULL DEFAULT 0,
    recovered_cents bigint NOT NULL DEFAULT 0,
    total_paid_cents bigint NOT NULL DEFAULT 0,
    outstanding_cents bigint NOT NULL DEFAULT 0,
    days_past_due integer NOT NULL DEFAULT 0,
    arrears_as_of date,
    repaid_on date,
    written_off_on date,
    written_off_cents bigint NOT NULL DEFAULT 0,
    last_event_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS loan_accounts_client ON loan_accounts (client_id);
CREATE INDEX IF NOT EXISTS loan_accounts_status ON loan_accounts (status);

CREATE TABLE IF NOT EXISTS disbursement_mismatches (
    disbursement_id text PRIMARY KEY,
    loan_id uuid NOT NULL,
    client_id uuid NOT NULL,
    expected_cents bigint NOT NULL,
    amount_cents bigint NOT NULL,
    charge_cents bigint NOT NULL,
    mpesa_receipt text NOT NULL,
    disbursed_on date NOT NULL,
    held_at timestamptz NOT NULL,
    status text NOT NULL,
    reason text,
    resolved_by uuid,
    resolved_on date,
    resolved_at timestamptz
);
CREATE INDEX IF NOT EXISTS disbursement_mismatches_status ON disbursement_mismatches (status, held_at);

CREATE TABLE IF NOT EXISTS loan_instalments (
    loan_id uuid NOT NULL,
    number integer NOT NULL,
    due_on date NOT NULL,
    principal_cents bigint NOT NULL,
    interest_cents bigint NOT NULL,
    fee_cents bigint NOT NULL,
    PRIMARY KEY (loan_id, number)
);

CREATE TABLE IF NOT EXISTS repayments (
    receipt text PRIMARY KEY,
    loan_id uuid NOT NULL,
    amount_cents bigint NOT NULL,
    method text NOT NULL,
    source_account text NOT NULL,
    paid_on date NOT NULL,
    recorded_at timestamptz NOT NULL,
    fee_cents bigint NOT NULL,
    interest_cents bigint NOT NULL,
    principal_cents bigint NOT NULL,
    suspense_cents bigint NOT NULL,
    recovery_cents bigint NOT NULL,
    outstanding_after_cents bigint NOT NULL,
    reversed boolean NOT NULL DEFAULT false,
    reversed_on date,
    reversal_reason text,
    notification_id bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS repayments_loan ON repayments (loan_id, notification_id);

CREATE TABLE IF NOT EXISTS repayment_lines (
    receipt text NOT NULL,
    loan_id uuid NOT NULL,
    number integer NOT NULL,
    paid_on date NOT NULL,
    fee_cents bigint NOT NULL,
    interest_cents bigint NOT NULL,
    principal_cents bigint NOT NULL,
    PRIMARY KEY (receipt, number)
);
CREATE INDEX IF NOT EXISTS repayment_lines_loan ON repayment_lines (loan_id, number);

CREATE TABLE IF NOT EXISTS receipts (
    receipt text PRIMARY KEY,
    receipt_uuid uuid NOT NULL UNIQUE,
    amount_cents bigint NOT NULL,
    target text NOT NULL,
    target_id uuid,
    method text NOT NULL,
    channel text NOT NULL,
    status text NOT NULL,
    paid_at timestamptz NOT NULL,
    account_reference text,
    recorded_by uuid,
    recorded_at timestamptz NOT NULL,
    assigned_target text,
    assigned_target_id uuid,
    assigned_by uuid,
    assigned_at timestamptz,
    reversed_at timestamptz
);
CREATE INDEX IF NOT EXISTS receipts_status ON receipts (status);

CREATE TABLE IF NOT EXISTS receipt_conflicts (
    receipt text NOT NULL,
    amount_cents bigint NOT NULL,
    target text NOT NULL,
    target_id uuid,
    source text NOT NULL,
    flagged_at timestamptz NOT NULL,
    PRIMARY KEY (receipt, amount_cents, target, flagged_at)
);

CREATE TABLE IF NOT EXISTS savings_account_ids (
    account_id uuid PRIMARY KEY,
    client_id uuid NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS savings_accounts (
    client_id uuid PRIMARY KEY,
    balance_cents bigint NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS savings_transactions (
    entry_id uuid PRIMARY KEY,
    client_id uuid NOT NULL,
    kind text NOT NULL,
    amount_cents bigint NOT NULL,
    balance_after_cents bigint NOT NULL,
    transaction_id text,
    method text,
    notes text,
    recorded_by uuid,
    value_date date NOT NULL,
    created_at timestamptz NOT NULL,
    notification_id bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS savings_transactions_client ON savings_transactions (client_id, notification_id);

CREATE TABLE IF NOT EXISTS savings_withdrawals (
    withdrawal_id uuid PRIMARY KEY,
    client_id uuid NOT NULL,
    amount_cents bigint NOT NULL,
    method text NOT NULL,
    status text NOT NULL,
    notes text,
    requested_by uuid NOT NULL,
    requested_at timestamptz NOT NULL,
    decided_by uuid,
    decided_at timestamptz,
    reason text
);

CREATE TABLE IF NOT EXISTS journal_entries (
    entry_id uuid PRIMARY KEY,
    notification_id bigint NOT NULL,
    kind text NOT NULL,
    value_date date NOT NULL,
    recorded_at timestamptz NOT NULL,
    loan_id uuid,
    client_id uuid,
    receipt text
);
CREATE INDEX IF NOT EXISTS journal_entries_loan ON journal_entries (loan_id, notification_id);

CREATE TABLE IF NOT EXISTS journal_postings (
    entry_id uuid NOT NULL,
    account_id text NOT NULL,
    code text NOT NULL,
    amount_cents bigint NOT NULL,
    value_date date NOT NULL,
    notification_id bigint NOT NULL,
    PRIMARY KEY (entry_id, account_id)
);
CREATE INDEX IF NOT EXISTS journal_postings_account ON journal_postings (account_id, notification_id);

CREATE TABLE IF NOT EXISTS account_balances (
    account_id text PRIMARY KEY,
    code text NOT NULL,
    debit_cents bigint NOT NULL,
    credit_cents bigint NOT NULL
);
"""

READ_MODEL_TABLES = (
    "loan_accounts",
    "disbursement_mismatches",
    "loan_instalments",
    "repayments",
    "repayment_lines",
    "receipts",
    "receipt_conflicts",
    "savings_account_ids",
    "savings_accounts",
    "savings_transactions",
    "savings_withdrawals",
    "journal_entries",
    "journal_postings",
    "account_balances",
)

# The column each table's rows are updated by.
TABLES = tables_of(
    DDL,
    {
        "loan_accounts": "loan_id",
        "disbursement_mismatches": "disbursement_id",
        "repayments": "receipt",
        "receipts": "receipt_uuid",
        "savings_accounts": "client_id",
        "savings_withdrawals": "withdrawal_id",
        "account_balances": "account_id",
    },
)


def entry_id_of(originator_id: object, originator_version: int) -> uuid.UUID:
    """A journal entry's id: md5 of "<aggregate id>:<version>", stable across rebuilds."""
    return uuid.UUID(bytes=hashlib.md5(f"{originator_id}:{originator_version}".encode()).digest())  # noqa: S324


def _value_date(event: Any) -> dt.date | str:
    for name in (
        "paid_on",
        "disbursed_on",
        "reversed_on",
        "written_off_on",
        "deposited_on",
        "approved_on",
        "resolved_on",
    ):
        value = getattr(event, name, None)
        if value:
            return str(value)
    paid_at = getattr(event, "paid_at", None)
    if paid_at:
        return business_date(dt.datetime.fromisoformat(paid_at))
    return business_date(event.timestamp)


_LOAN_EVENT_CLASSES: dict[type[Any], bool] = {}


def _is_loan_event(cls: type[Any]) -> bool:
    """Asked once per event class: ``isinstance`` against the aggregate's event class runs the
    library's runtime Protocol check, which on Python 3.11 costs more than the rest of a journal."""
    known = _LOAN_EVENT_CLASSES.get(cls)
    if known is None:
        known = _LOAN_EVENT_CLASSES[cls] = issubclass(cls, LoanAccount.Event)
    return known


def _post_journal(event: Any, rows: RowChanges) -> None:
    legs = getattr(event, "journal", None)
    if not legs:
        return
    entry_id = entry_id_of(event.originator_id, event.originator_version)
    value_date = _value_date(event)
    rows.insert(
        "journal_entries",
        entry_id=entry_id,
        notification_id=rows.position,
        kind=type(event).__name__,
        value_date=value_date,
        recorded_at=event.timestamp,
        loan_id=event.originator_id if _is_loan_event(type(event)) else None,
        client_id=getattr(event, "client_id", None),
        receipt=getattr(event, "receipt", None),
    )
    for account, amount in legs:
        code = account_class(account).code
        rows.insert(
            "journal_postings",
            entry_id=entry_id,
            account_id=account,
            code=code,
            amount_cents=amount,
            value_date=value_date,
            notification_id=rows.position,
        )
        rows.accumulate(
            "account_balances",
            account,
            {"code": code},
            debit_cents=max(amount, 0),
            credit_cents=max(-amount, 0),
        )


def _sum_lines(lines: list[list[int]]) -> tuple[int, int, int]:
    fee = interest = principal = 0
    for _, line_fee, line_interest, line_principal in lines:
        fee += line_fee
        interest += line_interest
        principal += line_principal
    return fee, interest, principal


def _insert_lines(
    rows: RowChanges, receipt: str, loan_id: Any, paid_on: Any, lines: list[list[int]]
) -> None:
    for number, fee, interest, principal in lines:
        rows.insert(
            "repayment_lines",
            receipt=receipt,
            loan_id=loan_id,
            number=number,
            paid_on=paid_on,
            fee_cents=fee,
            interest_cents=interest,
            principal_cents=principal,
        )


# Loans


def _terms_recorded(event: LoanAccount.TermsRecorded, rows: RowChanges) -> None:
    rows.insert(
        "loan_accounts",
        loan_id=event.originator_id,
        client_id=event.client_id,
        group_id=event.group_id,
        loan_officer_id=event.loan_officer_id,
        account_number=event.account_number,
        status="approved",
        approved_principal_cents=event.approved_principal_cents,
        terms=Jsonb(event.terms),
        strategy=event.strategy,
        approved_at=event.approved_at,
        last_event_at=event.timestamp,
    )


def _terms_amended(event: LoanAccount.TermsAmended, rows: RowChanges) -> None:
    rows.set(
        "loan_accounts",
        event.originator_id,
        approved_principal_cents=event.approved_principal_cents,
        terms=Jsonb(event.terms),
        strategy=event.strategy,
        approved_at=event.approved_at,
        last_event_at=event.timestamp,
    )


def _cancelled(event: LoanAccount.Cancelled, rows: RowChanges) -> None:
    rows.set(
        "loan_accounts", event.originator_id, status="cancelled", last_event_at=event.timestamp
    )


def _disbursed(event: LoanAccount.Disbursed, rows: RowChanges) -> None:
    loan_id = event.originator_id
    interest = sum(row[3] for row in event.instalments)
    fees = sum(row[4] for row in event.instalments)
    rows.set(
        "loan_accounts",
        loan_id,
        status="current",
        disbursement_id=event.disbursement_id,
        mpesa_receipt=event.mpesa_receipt,
        principal_cents=event.principal_cents,
        interest_cents=interest,
        fee_cents=fees,
        charge_cents=event.charge_cents,
        disbursed_on=event.disbursed_on,
        maturity_on=event.instalments[-1][1],
        outstanding_cents=event.principal_cents + interest + fees,
        last_event_at=event.timestamp,
    )
    for number, due_on, principal, interest_due, fee in event.instalments:
        rows.insert(
            "loan_instalments",
            loan_id=loan_id,
            number=number,
            due_on=due_on,
            principal_cents=principal,
            interest_cents=interest_due,
            fee_cents=fee,
        )


def _mismatch_held(event: LoanAccount.DisbursementMismatchHeld, rows: RowChanges) -> None:
    rows.insert(
        "disbursement_mismatches",
        disbursement_id=event.disbursement_id,
        loan_id=event.originator_id,
        client_id=event.client_id,
        expected_cents=event.expected_cents,
        amount_cents=event.amount_cents,
        charge_cents=event.charge_cents,
        mpesa_receipt=event.mpesa_receipt,
        disbursed_on=event.disbursed_on,
        held_at=event.timestamp,
        status="held",
    )
    rows.set("loan_accounts", event.originator_id, last_event_at=event.timestamp)


def _mismatch_resolved(
    event: LoanAccount.DisbursementMismatchAccepted
    | LoanAccount.DisbursementMismatchMarkedForRecovery,
    rows: RowChanges,
) -> None:
    rows.set(
        "disbursement_mismatches",
        event.disbursement_id,
        status="accepted"
        if isinstance(event, LoanAccount.DisbursementMismatchAccepted)
        else "recovery",
        reason=event.reason,
        resolved_by=event.resolved_by,
        resolved_on=event.resolved_on,
        resolved_at=event.timestamp,
    )
    rows.set("loan_accounts", event.originator_id, last_event_at=event.timestamp)


def _repayment_posted(event: LoanAccount.RepaymentPosted, rows: RowChanges) -> None:
    loan_id = event.originator_id
    fee, interest, principal = _sum_lines(event.lines)
    rows.insert(
        "repayments",
        receipt=event.receipt,
        loan_id=loan_id,
        amount_cents=event.amount_cents,
        method=event.method,
        source_account=event.source_account,
        paid_on=event.paid_on,
        recorded_at=event.timestamp,
        fee_cents=fee,
        interest_cents=interest,
        principal_cents=principal,
        suspense_cents=event.suspense_cents,
        recovery_cents=event.recovery_cents,
        outstanding_after_cents=event.outstanding_cents,
        notification_id=rows.position,
    )
    _insert_lines(rows, event.receipt, loan_id, event.paid_on, event.lines)
    rows.add(
        "loan_accounts",
        loan_id,
        paid_fee_cents=fee,
        paid_interest_cents=interest,
        paid_principal_cents=principal,
        suspense_cents=event.suspense_cents,
        recovered_cents=event.recovery_cents,
        total_paid_cents=event.amount_cents,
    )
    rows.set(
        "loan_accounts",
        loan_id,
        outstanding_cents=event.outstanding_cents,
        last_event_at=event.timestamp,
    )


def _repaid(event: LoanAccount.Repaid, rows: RowChanges) -> None:
    rows.set(
        "loan_accounts",
        event.originator_id,
        status="repaid",
        days_past_due=0,
        repaid_on=event.repaid_on,
        last_event_at=event.timestamp,
    )


def _repayment_reversed(event: LoanAccount.RepaymentReversed, rows: RowChanges) -> None:
    loan_id = event.originator_id
    rows.execute(
        "UPDATE repayments SET reversed = true, reversed_on = %s, reversal_reason = %s WHERE receipt = %s",
        (event.reversed_on, event.reason, event.receipt),
    )
    rows.execute("DELETE FROM repayment_lines WHERE receipt = %s", (event.receipt,))
    for other, lines, suspense in event.reallocations:
        fee, interest, principal = _sum_lines(lines)
        paid_on = rows.execute(
            "SELECT paid_on FROM repayments WHERE receipt = %s", (other,)
        ).fetchone()
        rows.execute(
            "UPDATE repayments SET fee_cents = %s, interest_cents = %s, principal_cents = %s, suspense_cents = %s "
            "WHERE receipt = %s",
            (fee, interest, principal, suspense, other),
        )
        rows.execute("DELETE FROM repayment_lines WHERE receipt = %s", (other,))
        _insert_lines(rows, other, loan_id, paid_on[0] if paid_on else None, lines)
    rows.execute(
        """
        UPDATE loan_accounts l SET
            paid_fee_cents = s.fee, paid_interest_cents = s.interest, paid_principal_cents = s.principal,
            suspense_cents = s.suspense, total_paid_cents = s.paid, outstanding_cents = %s,
            status = CASE WHEN %s THEN 'current' ELSE l.status END,
            repaid_on = CASE WHEN %s THEN NULL ELSE l.repaid_on END,
            last_event_at = %s
        FROM (
            SELECT coalesce(sum(fee_cents), 0) AS fee, coalesce(sum(interest_cents), 0) AS interest,
                   coalesce(sum(principal_cents), 0) AS principal, coalesce(sum(suspense_cents), 0) AS suspense,
                   coalesce(sum(amount_cents), 0) AS paid
            FROM repayments WHERE loan_id = %s AND NOT reversed
        ) s
        WHERE l.loan_id = %s
        """,
        (
            event.outstanding_cents,
            event.reopened,
            event.reopened,
            event.timestamp,
            loan_id,
            loan_id,
        ),
    )


def _arrears_changed(event: LoanAccount.ArrearsStatusChanged, rows: RowChanges) -> None:
    rows.set(
        "loan_accounts",
        event.originator_id,
        status=event.status,
        days_past_due=event.days_past_due,
        arrears_as_of=event.as_of,
        last_event_at=event.timestamp,
    )


def _written_off(event: LoanAccount.WrittenOff, rows: RowChanges) -> None:
    rows.set(
        "loan_accounts",
        event.originator_id,
        status="written_off",
        written_off_on=event.written_off_on,
        written_off_cents=event.principal_cents,
        outstanding_cents=0,
        last_event_at=event.timestamp,
    )


# Receipts


def _receipt_recorded(event: Receipt.Recorded, rows: RowChanges) -> None:
    rows.insert(
        "receipts",
        receipt=event.receipt,
        receipt_uuid=event.originator_id,
        amount_cents=event.amount_cents,
        target=event.target,
        target_id=event.target_id,
        method=event.method,
        channel=event.channel,
        status="unallocated" if event.target == "unallocated" else "posted",
        paid_at=event.paid_at,
        account_reference=event.account_reference,
        recorded_by=event.recorded_by,
        recorded_at=event.timestamp,
    )


def _conflict_flagged(event: Receipt.ConflictFlagged, rows: RowChanges) -> None:
    rows.execute(
        "INSERT INTO receipt_conflicts (receipt, amount_cents, target, target_id, source, flagged_at) "
        "SELECT receipt, %s, %s, %s, %s, %s FROM receipts WHERE receipt_uuid = %s",
        (
            event.amount_cents,
            event.target,
            event.target_id,
            event.source,
            event.flagged_at,
            event.originator_id,
        ),
    )


def _receipt_assigned(event: Receipt.Assigned, rows: RowChanges) -> None:
    rows.set(
        "receipts",
        event.originator_id,
        status="assigned",
        assigned_target=event.target,
        assigned_target_id=event.target_id,
        assigned_by=event.assigned_by,
        assigned_at=event.assigned_at,
    )


def _receipt_reversed(event: Receipt.Reversed, rows: RowChanges) -> None:
    rows.set("receipts", event.originator_id, status="reversed", reversed_at=event.reversed_at)


# Savings


def _savings_opened(event: SavingsAccount.Opened, rows: RowChanges) -> None:
    rows.insert("savings_account_ids", account_id=event.originator_id, client_id=event.client_id)
    rows.insert(
        "savings_accounts",
        client_id=event.client_id,
        balance_cents=0,
        updated_at=event.timestamp,
    )


def _savings_client(event: Any, rows: RowChanges) -> Any:
    """The client of a savings event: carried by the event, or found by the account's id."""
    client_id = getattr(event, "client_id", None)
    if client_id is not None:
        return client_id
    found = rows.execute(
        "SELECT a.client_id FROM savings_account_ids i JOIN savings_accounts a USING (client_id) "
        "WHERE i.account_id = %s",
        (event.originator_id,),
    ).fetchone()
    return found[0] if found else None


def _savings_entry(
    event: Any,
    rows: RowChanges,
    *,
    kind: str,
    amount_cents: int,
    transaction_id: str | None,
    method: str | None,
    notes: str | None,
    recorded_by: str | None,
) -> None:
    rows.insert(
        "savings_transactions",
        entry_id=entry_id_of(event.originator_id, event.originator_version),
        client_id=event.client_id,
        kind=kind,
        amount_cents=amount_cents,
        balance_after_cents=event.balance_after_cents,
        transaction_id=transaction_id,
        method=method,
        notes=notes,
        recorded_by=recorded_by,
        value_date=_value_date(event),
        created_at=event.timestamp,
        notification_id=rows.position,
    )
    rows.set(
        "savings_accounts",
        event.client_id,
        balance_cents=event.balance_after_cents,
        updated_at=event.timestamp,
    )


def _deposited(event: SavingsAccount.Deposited, rows: RowChanges) -> None:
    _savings_entry(
        event,
        rows,
        kind="deposit",
        amount_cents=event.amount_cents,
        transaction_id=event.receipt,
        method=event.method,
        notes=event.notes,
        recorded_by=event.recorded_by,
    )


def _deposit_reversed(event: SavingsAccount.DepositReversed, rows: RowChanges) -> None:
    _savings_entry(
        event,
        rows,
        kind="reversal",
        amount_cents=-event.amount_cents,
        transaction_id=event.receipt,
        method=None,
        notes=event.reason,
        recorded_by=event.reversed_by,
    )


def _withdrawal_requested(event: SavingsAccount.WithdrawalRequested, rows: RowChanges) -> None:
    client_id = _savings_client(event, rows)
    if client_id is None:  # pragma: no cover - Opened always comes first
        return
    rows.insert(
        "savings_withdrawals",
        withdrawal_id=event.withdrawal_id,
        client_id=client_id,
        amount_cents=event.amount_cents,
        method=event.method,
        status="pending",
        notes=event.notes,
        requested_by=event.requested_by,
        requested_at=event.requested_at,
    )


def _withdrawal_approved(event: SavingsAccount.WithdrawalApproved, rows: RowChanges) -> None:
    rows.set(
        "savings_withdrawals",
        event.withdrawal_id,
        status="approved",
        decided_by=event.approved_by,
        decided_at=event.timestamp,
    )
    found = rows.execute(
        "SELECT method, notes FROM savings_withdrawals WHERE withdrawal_id = %s",
        (event.withdrawal_id,),
    ).fetchone()
    _savings_entry(
        event,
        rows,
        kind="withdrawal",
        amount_cents=-event.amount_cents,
        transaction_id=str(event.withdrawal_id),
        method=found[0] if found else None,
        notes=found[1] if found else None,
        recorded_by=event.approved_by,
    )


def _withdrawal_rejected(event: SavingsAccount.WithdrawalRejected, rows: RowChanges) -> None:
    rows.set(
        "savings_withdrawals",
        event.withdrawal_id,
        status="rejected",
        decided_by=event.rejected_by,
        decided_at=event.rejected_at,
        reason=event.reason,
    )


Change = Callable[[Any, RowChanges], None]

# How each stored event changes the read tables (besides its journal entry, if it carries one).
CHANGES: dict[type[Any], Change] = {
    LoanAccount.TermsRecorded: _terms_recorded,
    LoanAccount.TermsAmended: _terms_amended,
    LoanAccount.Cancelled: _cancelled,
    LoanAccount.Disbursed: _disbursed,
    LoanAccount.DisbursementMismatchHeld: _mismatch_held,
    LoanAccount.DisbursementMismatchAccepted: _mismatch_resolved,
    LoanAccount.DisbursementMismatchMarkedForRecovery: _mismatch_resolved,
    LoanAccount.RepaymentPosted: _repayment_posted,
    LoanAccount.Repaid: _repaid,
    LoanAccount.RepaymentReversed: _repayment_reversed,
    LoanAccount.ArrearsStatusChanged: _arrears_changed,
    LoanAccount.WrittenOff: _written_off,
    Receipt.Recorded: _receipt_recorded,
    Receipt.ConflictFlagged: _conflict_flagged,
    Receipt.Assigned: _receipt_assigned,
    Receipt.Reversed: _receipt_reversed,
    SavingsAccount.Opened: _savings_opened,
    SavingsAccount.Deposited: _deposited,
    SavingsAccount.DepositReversed: _deposit_reversed,
    SavingsAccount.WithdrawalRequested: _withdrawal_requested,
    SavingsAccount.WithdrawalApproved: _withdrawal_approved,
    SavingsAccount.WithdrawalRejected: _withdrawal_rejected,
}


# The tables only ever added to (``accumulate``) across aggregates: each worker of a split
# rebuild keeps its own partial sums of them (``<table>_<worker>``), added up once at the end.
SUMMED_TABLES = ("account_balances",)


class ReadSideBatch:
    """One transaction's worth of stored events going into the read tables (servicekit's ``Batch``)."""

    def __init__(
        self, conn: psycopg.Connection[Any], sums_into: Mapping[str, str] | None = None
    ) -> None:
        self.rows = RowChanges(conn, TABLES, sums_into)

    def apply(self, event: DomainEventProtocol[uuid.UUID], position: int) -> None:
        self.rows.position = position
        change = CHANGES.get(type(event))
        if change is not None:
            change(event, self.rows)
        _post_journal(event, self.rows)

    def flush(self) -> None:
        self.rows.flush()


def read_side_projection(
    app: Application[uuid.UUID], pool: ConnectionPool, *, parking: ParkingLot | None = None
) -> Projection:
    """The read side kept from ``app``'s log in ``pool``'s schema: the live one, or a rebuild's."""
    return Projection(app, pool, NAME, ddl=DDL, parking=parking, batches=ReadSideBatch)


def read_side_share(app: Application[uuid.UUID], pool: ConnectionPool, worker: int) -> Projection:
    """One worker's part of a rebuild split by aggregate, into a scratch schema made already.

    ``app`` reads only the worker's aggregates; the worker applies them with the same changes as
    the live projection, parks under the same name, keeps its own position, and writes its sums
    into its own tables (see ``SUMMED_TABLES``). Every read a change makes is of its own
    aggregate's rows (a reversal re-folds its loan's repayments, a withdrawal finds its
    account's client), so the workers never need each other's rows.
    """
    sums_into = {table: f"{table}_{worker}" for table in SUMMED_TABLES}
    return Projection(
        app,
        pool,
        NAME,
        parking=ParkingLot(pool),
        batches=functools.partial(ReadSideBatch, sums_into=sums_into),
        position_key=f"{NAME}_{worker}",
    )
