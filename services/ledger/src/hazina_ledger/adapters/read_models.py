"""The ledger's read models: balances, statements, schedules, receipts and savings, rebuilt from events.

Every row here is derived from the ledger's own notification log by ``apply_event``; none of it is
the truth. ``replay`` rebuilds all of it into a separate schema and compares it with the live one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hazina_ledger.application.ports import business_date
from hazina_ledger.domain.accounts import account_class
from hazina_ledger.domain.loan_account import LoanAccount
from hazina_ledger.domain.receipt import Receipt
from hazina_ledger.domain.savings_account import SavingsAccount

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


def entry_id_of(originator_id: object, originator_version: int) -> uuid.UUID:
    """A journal entry's id: md5 of "<aggregate id>:<version>", so SQL can derive it too (replay)."""
    return uuid.UUID(hashlib.md5(f"{originator_id}:{originator_version}".encode()).hexdigest())  # noqa: S324


def truncate_read_models(conn: psycopg.Connection[Any]) -> None:
    conn.execute("TRUNCATE " + ", ".join(READ_MODEL_TABLES))


def _value_date(event: Any) -> dt.date:
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
            return dt.date.fromisoformat(value)
    paid_at = getattr(event, "paid_at", None)
    if paid_at:
        return business_date(dt.datetime.fromisoformat(paid_at))
    return business_date(event.timestamp)


def _post_journal(event: Any, position: int, conn: psycopg.Connection[Any]) -> None:
    legs = getattr(event, "journal", None)
    if not legs:
        return
    entry_id = entry_id_of(event.originator_id, event.originator_version)
    value_date = _value_date(event)
    loan_id = event.originator_id if isinstance(event, LoanAccount.Event) else None
    client_id = getattr(event, "client_id", None)
    conn.execute(
        "INSERT INTO journal_entries (entry_id, notification_id, kind, value_date, recorded_at, loan_id, "
        "client_id, receipt) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            entry_id,
            position,
            type(event).__name__,
            value_date,
            event.timestamp,
            loan_id,
            client_id,
            getattr(event, "receipt", None),
        ),
    )
    with conn.cursor() as cur:
        rows = []
        for account, amount in legs:
            code = account_class(account).code
            rows.append((entry_id, account, code, amount, value_date, position))
        cur.executemany(
            "INSERT INTO journal_postings (entry_id, account_id, code, amount_cents, value_date, notification_id) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            rows,
        )
        cur.executemany(
            "INSERT INTO account_balances (account_id, code, debit_cents, credit_cents) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (account_id) DO UPDATE SET debit_cents = account_balances.debit_cents + EXCLUDED.debit_cents, "
            "credit_cents = account_balances.credit_cents + EXCLUDED.credit_cents",
            [
                (account, code, max(amount, 0), max(-amount, 0))
                for _, account, code, amount, _, _ in rows
            ],
        )


def _sum_lines(rows: list[list[int]]) -> tuple[int, int, int]:
    return sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)


def _insert_lines(
    conn: psycopg.Connection[Any], receipt: str, loan_id: Any, paid_on: Any, rows: list[list[int]]
) -> None:
    if not rows:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO repayment_lines (receipt, loan_id, number, paid_on, fee_cents, interest_cents, principal_cents) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(receipt, loan_id, n, paid_on, f, i, p) for n, f, i, p in rows],
        )


def _apply_loan_event(event: Any, position: int, conn: psycopg.Connection[Any]) -> None:
    loan_id, at = event.originator_id, event.timestamp
    if isinstance(event, LoanAccount.TermsRecorded):
        conn.execute(
            "INSERT INTO loan_accounts (loan_id, client_id, group_id, loan_officer_id, account_number, status, "
            "approved_principal_cents, terms, strategy, approved_at, last_event_at) "
            "VALUES (%s, %s, %s, %s, %s, 'approved', %s, %s, %s, %s, %s)",
            (
                loan_id,
                event.client_id,
                event.group_id,
                event.loan_officer_id,
                event.account_number,
                event.approved_principal_cents,
                Jsonb(event.terms),
                event.strategy,
                event.approved_at,
                at,
            ),
        )
    elif isinstance(event, LoanAccount.TermsAmended):
        conn.execute(
            "UPDATE loan_accounts SET approved_principal_cents = %s, terms = %s, strategy = %s, approved_at = %s, "
            "last_event_at = %s WHERE loan_id = %s",
            (
                event.approved_principal_cents,
                Jsonb(event.terms),
                event.strategy,
                event.approved_at,
                at,
                loan_id,
            ),
        )
    elif isinstance(event, LoanAccount.Disbursed):
        interest = sum(row[3] for row in event.instalments)
        fees = sum(row[4] for row in event.instalments)
        conn.execute(
            "UPDATE loan_accounts SET status = 'current', disbursement_id = %s, mpesa_receipt = %s, "
            "principal_cents = %s, interest_cents = %s, fee_cents = %s, charge_cents = %s, disbursed_on = %s, "
            "maturity_on = %s, outstanding_cents = %s, last_event_at = %s WHERE loan_id = %s",
            (
                event.disbursement_id,
                event.mpesa_receipt,
                event.principal_cents,
                interest,
                fees,
                event.charge_cents,
                event.disbursed_on,
                event.instalments[-1][1],
                event.principal_cents + interest + fees,
                at,
                loan_id,
            ),
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO loan_instalments (loan_id, number, due_on, principal_cents, interest_cents, fee_cents) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [(loan_id, *row) for row in event.instalments],
            )
    elif isinstance(event, LoanAccount.DisbursementMismatchHeld):
        conn.execute(
            "INSERT INTO disbursement_mismatches (disbursement_id, loan_id, client_id, expected_cents, "
            "amount_cents, charge_cents, mpesa_receipt, disbursed_on, held_at, status) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'held')",
            (
                event.disbursement_id,
                loan_id,
                event.client_id,
                event.expected_cents,
                event.amount_cents,
                event.charge_cents,
                event.mpesa_receipt,
                event.disbursed_on,
                at,
            ),
        )
        conn.execute(
            "UPDATE loan_accounts SET last_event_at = %s WHERE loan_id = %s", (at, loan_id)
        )
    elif isinstance(
        event,
        LoanAccount.DisbursementMismatchAccepted
        | LoanAccount.DisbursementMismatchMarkedForRecovery,
    ):
        status = (
            "accepted"
            if isinstance(event, LoanAccount.DisbursementMismatchAccepted)
            else "recovery"
        )
        conn.execute(
            "UPDATE disbursement_mismatches SET status = %s, reason = %s, resolved_by = %s, "
            "resolved_on = %s, resolved_at = %s WHERE disbursement_id = %s",
            (
                status,
                event.reason,
                event.resolved_by,
                event.resolved_on,
                at,
                event.disbursement_id,
            ),
        )
        conn.execute(
            "UPDATE loan_accounts SET last_event_at = %s WHERE loan_id = %s", (at, loan_id)
        )
    elif isinstance(event, LoanAccount.RepaymentPosted):
        fee, interest, principal = _sum_lines(event.lines)
        conn.execute(
            "INSERT INTO repayments (receipt, loan_id, amount_cents, method, source_account, paid_on, recorded_at, "
            "fee_cents, interest_cents, principal_cents, suspense_cents, recovery_cents, outstanding_after_cents, "
            "notification_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                event.receipt,
                loan_id,
                event.amount_cents,
                event.method,
                event.source_account,
                event.paid_on,
                at,
                fee,
                interest,
                principal,
                event.suspense_cents,
                event.recovery_cents,
                event.outstanding_cents,
                position,
            ),
        )
        _insert_lines(conn, event.receipt, loan_id, event.paid_on, event.lines)
        conn.execute(
            "UPDATE loan_accounts SET paid_fee_cents = paid_fee_cents + %s, "
            "paid_interest_cents = paid_interest_cents + %s, paid_principal_cents = paid_principal_cents + %s, "
            "suspense_cents = suspense_cents + %s, recovered_cents = recovered_cents + %s, "
            "total_paid_cents = total_paid_cents + %s, outstanding_cents = %s, last_event_at = %s "
            "WHERE loan_id = %s",
            (
                fee,
                interest,
                principal,
                event.suspense_cents,
                event.recovery_cents,
                event.amount_cents,
                event.outstanding_cents,
                at,
                loan_id,
            ),
        )
    elif isinstance(event, LoanAccount.Repaid):
        conn.execute(
            "UPDATE loan_accounts SET status = 'repaid', days_past_due = 0, repaid_on = %s, last_event_at = %s "
            "WHERE loan_id = %s",
            (event.repaid_on, at, loan_id),
        )
    elif isinstance(event, LoanAccount.RepaymentReversed):
        conn.execute(
            "UPDATE repayments SET reversed = true, reversed_on = %s, reversal_reason = %s WHERE receipt = %s",
            (event.reversed_on, event.reason, event.receipt),
        )
        conn.execute("DELETE FROM repayment_lines WHERE receipt = %s", (event.receipt,))
        for other, rows, suspense in event.reallocations:
            fee, interest, principal = _sum_lines(rows)
            paid_on = conn.execute(
                "SELECT paid_on FROM repayments WHERE receipt = %s", (other,)
            ).fetchone()
            conn.execute(
                "UPDATE repayments SET fee_cents = %s, interest_cents = %s, principal_cents = %s, suspense_cents = %s "
                "WHERE receipt = %s",
                (fee, interest, principal, suspense, other),
            )
            conn.execute("DELETE FROM repayment_lines WHERE receipt = %s", (other,))
            _insert_lines(conn, other, loan_id, paid_on[0] if paid_on else None, rows)
        conn.execute(
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
            (event.outstanding_cents, event.reopened, event.reopened, at, loan_id, loan_id),
        )
    elif isinstance(event, LoanAccount.ArrearsStatusChanged):
        conn.execute(
            "UPDATE loan_accounts SET status = %s, days_past_due = %s, arrears_as_of = %s, last_event_at = %s "
            "WHERE loan_id = %s",
            (event.status, event.days_past_due, event.as_of, at, loan_id),
        )
    elif isinstance(event, LoanAccount.WrittenOff):
        conn.execute(
            "UPDATE loan_accounts SET status = 'written_off', written_off_on = %s, written_off_cents = %s, "
            "outstanding_cents = 0, last_event_at = %s WHERE loan_id = %s",
            (event.written_off_on, event.principal_cents, at, loan_id),
        )


def _apply_receipt_event(event: Any, conn: psycopg.Connection[Any]) -> None:
    rid, at = event.originator_id, event.timestamp
    if isinstance(event, Receipt.Recorded):
        conn.execute(
            "INSERT INTO receipts (receipt, receipt_uuid, amount_cents, target, target_id, method, channel, status, "
            "paid_at, account_reference, recorded_by, recorded_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                event.receipt,
                rid,
                event.amount_cents,
                event.target,
                event.target_id,
                event.method,
                event.channel,
                "unallocated" if event.target == "unallocated" else "posted",
                event.paid_at,
                event.account_reference,
                event.recorded_by,
                at,
            ),
        )
    elif isinstance(event, Receipt.ConflictFlagged):
        conn.execute(
            "INSERT INTO receipt_conflicts (receipt, amount_cents, target, target_id, source, flagged_at) "
            "SELECT receipt, %s, %s, %s, %s, %s FROM receipts WHERE receipt_uuid = %s",
            (
                event.amount_cents,
                event.target,
                event.target_id,
                event.source,
                event.flagged_at,
                rid,
            ),
        )
    elif isinstance(event, Receipt.Assigned):
        conn.execute(
            "UPDATE receipts SET status = 'assigned', assigned_target = %s, assigned_target_id = %s, "
            "assigned_by = %s, assigned_at = %s WHERE receipt_uuid = %s",
            (event.target, event.target_id, event.assigned_by, event.assigned_at, rid),
        )
    elif isinstance(event, Receipt.Reversed):
        conn.execute(
            "UPDATE receipts SET status = 'reversed', reversed_at = %s WHERE receipt_uuid = %s",
            (event.reversed_at, rid),
        )


def _savings_entry(
    event: Any,
    position: int,
    conn: psycopg.Connection[Any],
    *,
    client_id: str,
    kind: str,
    amount_cents: int,
    transaction_id: str | None,
    method: str | None,
    notes: str | None,
    recorded_by: str | None,
) -> None:
    conn.execute(
        "INSERT INTO savings_transactions (entry_id, client_id, kind, amount_cents, balance_after_cents, "
        "transaction_id, method, notes, recorded_by, value_date, created_at, notification_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            entry_id_of(event.originator_id, event.originator_version),
            client_id,
            kind,
            amount_cents,
            event.balance_after_cents,
            transaction_id,
            method,
            notes,
            recorded_by,
            _value_date(event),
            event.timestamp,
            position,
        ),
    )
    conn.execute(
        "UPDATE savings_accounts SET balance_cents = %s, updated_at = %s WHERE client_id = %s",
        (event.balance_after_cents, event.timestamp, client_id),
    )


def _apply_savings_event(event: Any, position: int, conn: psycopg.Connection[Any]) -> None:
    if isinstance(event, SavingsAccount.Opened):
        conn.execute(
            "INSERT INTO savings_accounts (client_id, balance_cents, updated_at) VALUES (%s, 0, %s)",
            (event.client_id, event.timestamp),
        )
        return
    client_id = conn.execute(
        "SELECT client_id FROM savings_accounts WHERE client_id = %s",
        (_savings_client(event, conn),),
    ).fetchone()
    if client_id is None:  # pragma: no cover - Opened always comes first
        return
    client = str(client_id[0])
    if isinstance(event, SavingsAccount.Deposited):
        _savings_entry(
            event,
            position,
            conn,
            client_id=client,
            kind="deposit",
            amount_cents=event.amount_cents,
            transaction_id=event.receipt,
            method=event.method,
            notes=event.notes,
            recorded_by=event.recorded_by,
        )
    elif isinstance(event, SavingsAccount.DepositReversed):
        _savings_entry(
            event,
            position,
            conn,
            client_id=client,
            kind="reversal",
            amount_cents=-event.amount_cents,
            transaction_id=event.receipt,
            method=None,
            notes=event.reason,
            recorded_by=event.reversed_by,
        )
    elif isinstance(event, SavingsAccount.WithdrawalRequested):
        conn.execute(
            "INSERT INTO savings_withdrawals (withdrawal_id, client_id, amount_cents, method, status, notes, "
            "requested_by, requested_at) VALUES (%s, %s, %s, %s, 'pending', %s, %s, %s)",
            (
                event.withdrawal_id,
                client,
                event.amount_cents,
                event.method,
                event.notes,
                event.requested_by,
                event.requested_at,
            ),
        )
    elif isinstance(event, SavingsAccount.WithdrawalApproved):
        conn.execute(
            "UPDATE savings_withdrawals SET status = 'approved', decided_by = %s, decided_at = %s "
            "WHERE withdrawal_id = %s",
            (event.approved_by, event.timestamp, event.withdrawal_id),
        )
        row = conn.execute(
            "SELECT method, notes FROM savings_withdrawals WHERE withdrawal_id = %s",
            (event.withdrawal_id,),
        ).fetchone()
        _savings_entry(
            event,
            position,
            conn,
            client_id=client,
            kind="withdrawal",
            amount_cents=-event.amount_cents,
            transaction_id=str(event.withdrawal_id),
            method=row[0] if row else None,
            notes=row[1] if row else None,
            recorded_by=event.approved_by,
        )
    elif isinstance(event, SavingsAccount.WithdrawalRejected):
        conn.execute(
            "UPDATE savings_withdrawals SET status = 'rejected', decided_by = %s, decided_at = %s, reason = %s "
            "WHERE withdrawal_id = %s",
            (event.rejected_by, event.rejected_at, event.reason, event.withdrawal_id),
        )


def _savings_client(event: Any, conn: psycopg.Connection[Any]) -> Any:
    """The client of a savings event: the account id is derived from it, so look it up once."""
    row = conn.execute(
        "SELECT client_id FROM savings_account_ids WHERE account_id = %s", (event.originator_id,)
    ).fetchone()
    return row[0] if row else None


def apply_event(event: Any, conn: psycopg.Connection[Any], position: int = 0) -> None:
    """Project one stored ledger event into every read model."""
    if isinstance(event, LoanAccount.Event):
        _apply_loan_event(event, position, conn)
    elif isinstance(event, Receipt.Event):
        _apply_receipt_event(event, conn)
    elif isinstance(event, SavingsAccount.Event):
        if isinstance(event, SavingsAccount.Opened):
            conn.execute(
                "INSERT INTO savings_account_ids (account_id, client_id) VALUES (%s, %s)",
                (event.originator_id, event.client_id),
            )
        _apply_savings_event(event, position, conn)
    _post_journal(event, position, conn)
