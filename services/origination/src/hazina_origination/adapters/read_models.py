"""Origination's read models: tables kept from its own event log, exactly once, and the queries on them.

Some tables are different: other services' events fill them through the consumers (see
``consumers``): savings and loan balances from the LEDGER stream, staff from the IDENTITY stream.
A rebuild from origination's own log leaves them alone.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import psycopg
from eventsourcing.domain import Aggregate, DomainEventProtocol
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from hazina_origination.application.ports import ListQuery
from hazina_origination.domain.client import Client
from hazina_origination.domain.group import Group
from hazina_origination.domain.loan import LegacyLoan, Loan
from hazina_origination.domain.product import LoanProduct
from hazina_origination.domain.roles import LOAN_OFFICER
from hazina_origination.domain.staff import StaffMember
from hazina_servicekit.text import like_contains

DDL = """
CREATE TABLE IF NOT EXISTS groups (
    group_id uuid PRIMARY KEY,
    name text NOT NULL,
    status text NOT NULL,
    meeting_day text,
    meeting_time text,
    loan_officer_id uuid,
    branch_id text,
    region text,
    signatories jsonb NOT NULL DEFAULT '[]',
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    approved_by uuid,
    approved_at timestamptz
);
CREATE INDEX IF NOT EXISTS groups_officer ON groups (loan_officer_id);
CREATE INDEX IF NOT EXISTS groups_name ON groups (lower(name));

CREATE TABLE IF NOT EXISTS clients (
    client_id uuid PRIMARY KEY,
    name text NOT NULL,
    national_id text NOT NULL UNIQUE,
    phone text NOT NULL,
    residence text,
    business_type text,
    business_location text,
    next_of_kin jsonb NOT NULL DEFAULT '{}',
    group_id uuid,
    loan_officer_id uuid,
    branch_id text,
    photo text,
    status text NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    approved_by uuid,
    approved_at timestamptz
);
CREATE INDEX IF NOT EXISTS clients_group ON clients (group_id);

CREATE TABLE IF NOT EXISTS products (
    product_id uuid PRIMARY KEY,
    name text NOT NULL,
    type text NOT NULL,
    active boolean NOT NULL,
    spec jsonb NOT NULL,
    revision integer NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS loans (
    loan_id uuid PRIMARY KEY,
    account_number text UNIQUE,
    client_id uuid NOT NULL,
    group_id uuid,
    loan_officer_id uuid,
    product_id uuid,
    product_type text NOT NULL,
    principal_cents bigint NOT NULL,
    fees_cents bigint NOT NULL DEFAULT 0,
    terms jsonb,
    purpose text,
    status text NOT NULL,
    legacy boolean NOT NULL DEFAULT false,
    legacy_reference text,
    disbursed_on date,
    closed_on date,
    initiated_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    approved_by uuid,
    approved_at timestamptz,
    maker_checker_override boolean NOT NULL DEFAULT false,
    rejected_reason text,
    disbursement_id uuid,
    disbursement_attempts integer NOT NULL DEFAULT 0,
    disbursement_requested_at timestamptz,
    disbursed_at timestamptz,
    mpesa_receipt text,
    last_failure_reason text,
    days_past_due integer,
    outstanding_cents bigint,
    total_paid_cents bigint,
    history jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS loans_client ON loans (client_id);
CREATE INDEX IF NOT EXISTS loans_officer ON loans (loan_officer_id);
CREATE INDEX IF NOT EXISTS loans_status ON loans (status);

CREATE TABLE IF NOT EXISTS guarantors (
    guarantor_id uuid PRIMARY KEY,
    loan_id uuid NOT NULL,
    client_id uuid NOT NULL,
    relationship text NOT NULL,
    id_copy_url text,
    photo_url text,
    status text NOT NULL,
    added_by uuid,
    created_at timestamptz NOT NULL,
    decided_by uuid,
    decided_at timestamptz
);
CREATE INDEX IF NOT EXISTS guarantors_loan ON guarantors (loan_id);
CREATE INDEX IF NOT EXISTS guarantors_client ON guarantors (client_id);

CREATE TABLE IF NOT EXISTS assessments (
    assessment_id uuid PRIMARY KEY,
    loan_id uuid NOT NULL UNIQUE,
    scores jsonb NOT NULL,
    total_score integer NOT NULL,
    passed boolean NOT NULL,
    officer_notes text,
    officer_id uuid,
    created_at timestamptz NOT NULL
);
-- Guarantors who are not clients: named on the loan itself.
ALTER TABLE guarantors ALTER COLUMN client_id DROP NOT NULL;
ALTER TABLE guarantors ADD COLUMN IF NOT EXISTS outside_name text;
ALTER TABLE guarantors ADD COLUMN IF NOT EXISTS outside_national_id text;
ALTER TABLE guarantors ADD COLUMN IF NOT EXISTS outside_phone text;
-- Group loans, cancelling and the application fee (columns added in place: rows stay).
ALTER TABLE loans ADD COLUMN IF NOT EXISTS loan_type text NOT NULL DEFAULT 'individual';
ALTER TABLE loans ADD COLUMN IF NOT EXISTS application_fee_paid boolean NOT NULL DEFAULT false;
ALTER TABLE loans ADD COLUMN IF NOT EXISTS application_fee_paid_at timestamptz;
ALTER TABLE loans ADD COLUMN IF NOT EXISTS cancelled_reason text;
"""

SAVINGS_DDL = """
CREATE TABLE IF NOT EXISTS savings_balances (
    client_id uuid PRIMARY KEY,
    balance_cents bigint NOT NULL,
    as_of timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS savings_movements (
    client_id uuid NOT NULL,
    transaction_id text NOT NULL,
    change_cents bigint NOT NULL,
    balance_cents bigint NOT NULL,
    reason text NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, transaction_id)
);
"""

# What the ledger says each loan owes and has been paid. Every figure keeps the time of the fact
# it came from, so an older fact arriving late never replaces a newer one.
LOAN_BALANCES_DDL = """
CREATE TABLE IF NOT EXISTS loan_balances (
    loan_id uuid PRIMARY KEY,
    principal_cents bigint,
    total_interest_cents bigint,
    total_fees_cents bigint,
    total_due_cents bigint,
    instalments integer,
    disbursed_on date,
    maturity_on date,
    opened_at timestamptz,
    outstanding_cents bigint,
    outstanding_as_of timestamptz,
    receipts_paid_cents bigint NOT NULL DEFAULT 0,
    repayments_count integer NOT NULL DEFAULT 0,
    last_repayment_at timestamptz,
    repaid_total_paid_cents bigint,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS loan_repayments (
    loan_id uuid NOT NULL,
    receipt text NOT NULL,
    amount_cents bigint NOT NULL,
    interest_cents bigint NOT NULL,
    principal_cents bigint NOT NULL,
    fee_cents bigint NOT NULL,
    suspense_cents bigint NOT NULL,
    outstanding_cents bigint NOT NULL,
    payment_method text NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (loan_id, receipt)
);
-- Since the ledger publishes RepaymentReversed: a reversed receipt no longer counts as paid, a
-- LoanRepaid total counts only while no reversal is newer than it, and a receipt's split follows
-- the newest re-allocation. (Columns added in place: tables created earlier keep their rows.)
ALTER TABLE loan_balances ADD COLUMN IF NOT EXISTS repaid_as_of timestamptz;
ALTER TABLE loan_balances ADD COLUMN IF NOT EXISTS last_reversal_at timestamptz;
ALTER TABLE loan_repayments ADD COLUMN IF NOT EXISTS reversed_at timestamptz;
ALTER TABLE loan_repayments ADD COLUMN IF NOT EXISTS reversal_reason text;
ALTER TABLE loan_repayments ADD COLUMN IF NOT EXISTS split_as_of timestamptz;
-- The repayment schedule, from LoanAccountOpened v2 (a v1 account has none here).
CREATE TABLE IF NOT EXISTS loan_schedule (
    loan_id uuid NOT NULL,
    number integer NOT NULL,
    due_on date NOT NULL,
    principal_cents bigint NOT NULL,
    interest_cents bigint NOT NULL,
    fee_cents bigint NOT NULL,
    PRIMARY KEY (loan_id, number)
);
"""

# Staff as identity's events describe them. Role and active state each keep the time of the
# fact that set them, so the events may arrive in any order.
STAFF_DDL = """
CREATE TABLE IF NOT EXISTS staff (
    user_id uuid PRIMARY KEY,
    username text,
    name text,
    role text,
    regions jsonb NOT NULL DEFAULT '[]',
    branch_id text,
    role_as_of timestamptz,
    active boolean NOT NULL DEFAULT true,
    active_as_of timestamptz,
    created_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS staff_role ON staff (role);
"""

# Branches as identity's events describe them (names and places to show beside groups and clients).
BRANCHES_DDL = """
CREATE TABLE IF NOT EXISTS branches (
    branch_id text PRIMARY KEY,
    name text NOT NULL,
    code text,
    location text,
    as_of timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""

# The columns a client edit may change, by the aggregate's attribute names (a fixed set: the SQL
# below is built only from these).
CLIENT_EDIT_COLUMNS = (
    "name",
    "national_id",
    "phone",
    "residence",
    "business_type",
    "business_location",
    "next_of_kin",
    "branch_id",
)
GROUP_STATUS_EVENTS = {"Rejected": "rejected", "Suspended": "suspended", "Reinstated": "active"}


def _history(status: str, at: datetime, by: Any, event: str, **extra: Any) -> Jsonb:
    entry = {"status": status, "at": at.isoformat(), "by": str(by) if by else None, "event": event}
    entry.update({k: v for k, v in extra.items() if v is not None})
    return Jsonb([entry])


def _loan_update(
    conn: psycopg.Connection[Any],
    loan_id: uuid.UUID,
    at: datetime,
    sets: str,
    params: tuple[Any, ...],
    history: Jsonb | None,
) -> None:
    sql = f"UPDATE loans SET {sets}, updated_at = %s"  # noqa: S608 - fixed fragments only
    args: list[Any] = [*params, at]
    if history is not None:
        sql += ", history = history || %s"
        args.append(history)
    sql += " WHERE loan_id = %s"
    args.append(loan_id)
    conn.execute(sql.encode(), args)


def apply_event(event: DomainEventProtocol[uuid.UUID], conn: psycopg.Connection[Any]) -> None:
    """Project one stored origination event into the read tables."""
    if not isinstance(event, Aggregate.Event):
        return  # every origination event is an aggregate's
    at: datetime = event.timestamp
    oid = event.originator_id
    if isinstance(event, Group.Created):
        conn.execute(
            """INSERT INTO groups (group_id, name, status, meeting_day, meeting_time, loan_officer_id, branch_id,
                   region, created_by, created_at, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (group_id) DO NOTHING""",
            (
                oid,
                event.name,
                event.status,
                event.meeting_day,
                event.meeting_time,
                event.loan_officer_id,
                event.branch_id,
                event.region,
                event.created_by,
                at,
                at,
            ),
        )
    elif isinstance(event, Group.Approved):
        conn.execute(
            "UPDATE groups SET status = 'active', approved_by = %s, approved_at = %s, updated_at = %s "
            "WHERE group_id = %s",
            (event.approved_by, at, at, oid),
        )
    elif isinstance(event, Group.SignatoriesAssigned):
        conn.execute(
            "UPDATE groups SET signatories = %s, updated_at = %s WHERE group_id = %s",
            (Jsonb(event.signatories), at, oid),
        )
    elif isinstance(event, Client.Onboarded):
        conn.execute(
            """INSERT INTO clients (client_id, name, national_id, phone, residence, business_type,
                   business_location, next_of_kin, group_id, loan_officer_id, branch_id, photo, status,
                   created_by, created_at, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (client_id) DO NOTHING""",
            (
                oid,
                event.name,
                event.national_id,
                event.phone,
                event.residence,
                event.business_type,
                event.business_location,
                Jsonb(event.next_of_kin),
                event.group_id,
                event.loan_officer_id,
                event.branch_id,
                event.photo,
                event.status,
                event.created_by,
                at,
                at,
            ),
        )
    elif isinstance(event, Client.Approved):
        conn.execute(
            "UPDATE clients SET status = 'active', approved_by = %s, approved_at = %s, updated_at = %s "
            "WHERE client_id = %s",
            (event.approved_by, at, at, oid),
        )
    elif isinstance(event, Client.Rejected):
        conn.execute(
            "UPDATE clients SET status = 'rejected', updated_at = %s WHERE client_id = %s",
            (at, oid),
        )
    elif isinstance(event, Client.DetailsChanged):
        columns = [c for c in CLIENT_EDIT_COLUMNS if c in event.changes]
        sets = "".join(f"{c} = %s, " for c in columns)
        values = [
            Jsonb(event.changes[c]) if c == "next_of_kin" else event.changes[c] for c in columns
        ]
        conn.execute(
            f"UPDATE clients SET {sets}group_id = %s, loan_officer_id = %s, updated_at = %s "  # noqa: S608 - fixed column names
            "WHERE client_id = %s".encode(),
            (*values, event.group_id, event.loan_officer_id, at, oid),
        )
    elif isinstance(event, Group.Rejected | Group.Suspended | Group.Reinstated):
        conn.execute(
            "UPDATE groups SET status = %s, updated_at = %s WHERE group_id = %s",
            (GROUP_STATUS_EVENTS[type(event).__name__], at, oid),
        )
    elif isinstance(event, Group.DetailsChanged):
        conn.execute(
            "UPDATE groups SET name = %s, meeting_day = %s, meeting_time = %s, branch_id = %s, "
            "loan_officer_id = %s, updated_at = %s WHERE group_id = %s",
            (
                event.name,
                event.meeting_day,
                event.meeting_time,
                event.branch_id,
                event.loan_officer_id,
                at,
                oid,
            ),
        )
    elif isinstance(event, LoanProduct.Defined):
        spec = event.spec
        conn.execute(
            """INSERT INTO products (product_id, name, type, active, spec, revision, created_by, created_at,
                   updated_at) VALUES (%s, %s, %s, %s, %s, 1, %s, %s, %s) ON CONFLICT DO NOTHING""",
            (
                oid,
                spec["name"],
                spec["type"],
                spec["active"],
                Jsonb(spec),
                event.created_by,
                at,
                at,
            ),
        )
    elif isinstance(event, LoanProduct.Revised):
        conn.execute(
            """UPDATE products SET spec = spec || %s, name = COALESCE(%s, name), type = COALESCE(%s, type),
                   active = COALESCE(%s, active), revision = revision + 1, updated_at = %s WHERE product_id = %s""",
            (
                Jsonb(event.changes),
                event.changes.get("name"),
                event.changes.get("type"),
                event.changes.get("active"),
                at,
                oid,
            ),
        )
    elif isinstance(event, Loan.Initiated):
        conn.execute(
            """INSERT INTO loans (loan_id, account_number, client_id, group_id, loan_officer_id, product_id,
                   product_type, principal_cents, fees_cents, terms, purpose, status, initiated_by, created_at,
                   updated_at, history, loan_type)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'initiated', %s, %s, %s, %s, %s)
               ON CONFLICT (loan_id) DO NOTHING""",
            (
                oid,
                event.account_number,
                event.client_id,
                event.group_id,
                event.loan_officer_id,
                event.product_id,
                event.product_type,
                event.principal_cents,
                event.fees_cents,
                Jsonb(event.terms),
                event.purpose,
                event.initiated_by,
                at,
                at,
                _history("initiated", at, event.initiated_by, "initiated"),
                event.loan_type,
            ),
        )
    elif isinstance(event, LegacyLoan.Imported):
        conn.execute(
            """INSERT INTO loans (loan_id, client_id, group_id, loan_officer_id, product_type, principal_cents,
                   status, legacy, legacy_reference, disbursed_on, closed_on, initiated_by, created_at, updated_at,
                   history)
               VALUES (%s, %s, %s, %s, %s, %s, %s, true, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (loan_id) DO NOTHING""",
            (
                oid,
                event.client_id,
                event.group_id,
                event.loan_officer_id,
                event.product_type,
                event.principal_cents,
                event.outcome,
                event.reference,
                _date(event.disbursed_on),
                _date(event.closed_on),
                event.imported_by,
                at,
                at,
                _history(event.outcome, at, event.imported_by, "imported"),
            ),
        )
    elif isinstance(event, Loan.GuarantorAdded):
        conn.execute(
            """INSERT INTO guarantors (guarantor_id, loan_id, client_id, relationship, id_copy_url, photo_url,
                   status, added_by, created_at) VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s)
               ON CONFLICT DO NOTHING""",
            (
                uuid.UUID(event.guarantor_id),
                oid,
                uuid.UUID(event.client_id),
                event.relationship,
                event.id_copy_url,
                event.photo_url,
                event.added_by,
                at,
            ),
        )
        _loan_update(conn, oid, at, "status = status", (), None)
    elif isinstance(event, Loan.OutsideGuarantorAdded):
        conn.execute(
            """INSERT INTO guarantors (guarantor_id, loan_id, client_id, relationship, status, added_by,
                   created_at, outside_name, outside_national_id, outside_phone)
               VALUES (%s, %s, NULL, %s, 'pending', %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
            (
                uuid.UUID(event.guarantor_id),
                oid,
                event.relationship,
                event.added_by,
                at,
                event.name,
                event.national_id,
                event.phone,
            ),
        )
        _loan_update(conn, oid, at, "status = status", (), None)
    elif isinstance(event, Loan.GuarantorAccepted | Loan.GuarantorDeclined):
        status = "accepted" if isinstance(event, Loan.GuarantorAccepted) else "declined"
        conn.execute(
            "UPDATE guarantors SET status = %s, decided_by = %s, decided_at = %s WHERE guarantor_id = %s",
            (status, event.decided_by, at, uuid.UUID(event.guarantor_id)),
        )
        _loan_update(conn, oid, at, "status = status", (), None)
    elif isinstance(event, Loan.CreditAssessed):
        conn.execute(
            """INSERT INTO assessments (assessment_id, loan_id, scores, total_score, passed, officer_notes,
                   officer_id, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
            (
                uuid.UUID(event.assessment_id),
                oid,
                Jsonb(event.scores),
                event.total,
                event.passed,
                event.notes,
                event.assessed_by,
                at,
            ),
        )
        _loan_update(conn, oid, at, "status = status", (), None)
    elif isinstance(event, Loan.Approved):
        _loan_update(
            conn,
            oid,
            at,
            "status = 'approved', approved_by = %s, approved_at = %s, maker_checker_override = %s",
            (event.approved_by, at, event.maker_checker_override),
            _history(
                "approved",
                at,
                event.approved_by,
                "approved",
                makerCheckerOverride=event.maker_checker_override or None,
            ),
        )
    elif isinstance(event, Loan.Rejected):
        _loan_update(
            conn,
            oid,
            at,
            "status = 'rejected', rejected_reason = %s",
            (event.reason,),
            _history("rejected", at, event.rejected_by, "rejected", reason=event.reason),
        )
    elif isinstance(event, Loan.Cancelled):
        _loan_update(
            conn,
            oid,
            at,
            "status = 'cancelled', cancelled_reason = %s",
            (event.reason,),
            _history("cancelled", at, event.cancelled_by, "cancelled", reason=event.reason),
        )
    elif isinstance(event, Loan.ApplicationFeePaid):
        _loan_update(
            conn,
            oid,
            at,
            "application_fee_paid = true, application_fee_paid_at = %s",
            (at,),
            _history("application_fee_paid", at, event.marked_by, "application_fee_paid"),
        )
    elif isinstance(event, Loan.DisbursementRequested):
        _loan_update(
            conn,
            oid,
            at,
            "status = 'disbursement_pending', disbursement_id = %s, disbursement_attempts = %s, "
            "disbursement_requested_at = %s",
            (uuid.UUID(event.disbursement_id), event.attempt, at),
            _history(
                "disbursement_pending",
                at,
                event.requested_by,
                "disbursement_requested",
                transactionId=event.disbursement_id,
            ),
        )
    elif isinstance(event, Loan.Disbursed):
        _loan_update(
            conn,
            oid,
            at,
            "status = CASE WHEN status IN ('approved', 'disbursement_pending') THEN 'disbursed' ELSE status END, "
            "disbursement_id = %s, disbursed_at = %s, mpesa_receipt = %s",
            (uuid.UUID(event.disbursement_id), event.completed_at, event.mpesa_receipt),
            _history("disbursed", at, None, "disbursed", mpesaReceipt=event.mpesa_receipt),
        )
    elif isinstance(event, Loan.DisbursementFailed):
        _loan_update(
            conn,
            oid,
            at,
            "status = 'approved', last_failure_reason = %s",
            (event.reason,),
            _history("approved", at, None, "disbursement_failed", reason=event.reason),
        )
    elif isinstance(event, Loan.LedgerStatusChanged):
        _loan_update(
            conn,
            oid,
            at,
            "status = %s, days_past_due = %s, outstanding_cents = %s",
            (event.status, event.days_past_due, event.outstanding_cents),
            _history(
                event.status, at, None, "ledger_status_changed", daysPastDue=event.days_past_due
            ),
        )
    elif isinstance(event, Loan.Repaid):
        _loan_update(
            conn,
            oid,
            at,
            "status = 'repaid', outstanding_cents = 0, total_paid_cents = %s",
            (event.total_paid_cents,),
            _history("repaid", at, None, "repaid"),
        )


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def truncate_read_models(conn: psycopg.Connection[Any]) -> None:
    conn.execute("TRUNCATE groups, clients, products, loans, guarantors, assessments")


OPEN_LOAN = "status NOT IN ('rejected', 'cancelled', 'repaid')"


class _Where:
    def __init__(self) -> None:
        self.parts: list[str] = ["true"]
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.parts.append(clause)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        return " AND ".join(self.parts)


class ReadModels:
    """Queries behind the lists and detail pages, and the lookups the use cases ask."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with pool.connection() as conn, conn.transaction():
            conn.execute(SAVINGS_DDL)
            conn.execute(LOAN_BALANCES_DDL)
            conn.execute(STAFF_DDL)
            conn.execute(BRANCHES_DDL)

    def _page(
        self, base: str, where: _Where, order: str, query: ListQuery
    ) -> tuple[list[dict[str, Any]], int]:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            count = cur.execute(
                f"SELECT count(*) AS n FROM ({base} WHERE {where.sql}) AS q",  # noqa: S608
                where.params,
            ).fetchone()
            sql = f"{base} WHERE {where.sql} ORDER BY {order}"
            params = list(where.params)
            if query.limit is not None:
                sql += " LIMIT %s OFFSET %s"
                params += [query.limit, query.offset]
            rows = cur.execute(sql.encode(), params).fetchall()
        return rows, int(count["n"]) if count else 0

    def _one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(sql.encode(), params).fetchone()

    def _all(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(sql.encode(), params).fetchall()

    # Groups

    GROUPS = """
        SELECT g.*,
            (SELECT count(*) FROM clients c WHERE c.group_id = g.group_id) AS members_count,
            (SELECT count(*) FROM loans l WHERE l.group_id = g.group_id AND NOT l.legacy
                AND l.status IN ('disbursed', 'in_arrears', 'defaulted')) AS active_loans_count,
            (SELECT COALESCE(sum(l.principal_cents), 0) FROM loans l WHERE l.group_id = g.group_id
                AND NOT l.legacy AND l.disbursed_at IS NOT NULL) AS total_lent_cents,
            (SELECT COALESCE(sum(b.total_due_cents), 0) FROM loans l JOIN loan_balances b
                ON b.loan_id = l.loan_id WHERE l.group_id = g.group_id AND NOT l.legacy) AS due_cents,
            (SELECT COALESCE(sum(b.outstanding_cents), 0) FROM loans l JOIN loan_balances b
                ON b.loan_id = l.loan_id WHERE l.group_id = g.group_id AND NOT l.legacy)
                AS outstanding_cents,
            br.name AS branch_name, br.location AS branch_location,
            lo.username AS officer_username, lo.name AS officer_name,
            cb.username AS created_by_username, cb.name AS created_by_name,
            ab.username AS approved_by_username, ab.name AS approved_by_name
        FROM groups g
        LEFT JOIN branches br ON br.branch_id = g.branch_id
        LEFT JOIN staff lo ON lo.user_id = g.loan_officer_id
        LEFT JOIN staff cb ON cb.user_id = g.created_by
        LEFT JOIN staff ab ON ab.user_id = g.approved_by"""

    def groups(self, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
        where = _Where()
        if query.officer_id:
            where.add("g.loan_officer_id = %s", query.officer_id)
        if query.loan_officer_id:
            where.add("g.loan_officer_id = %s", query.loan_officer_id)
        if query.status:
            where.add("g.status = ANY(%s)", query.status)
        if query.search:
            where.add("g.name ILIKE %s ESCAPE '\\'", like_contains(query.search))
        return self._page(self.GROUPS, where, "g.created_at, g.name", query)

    def group(self, group_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one(self.GROUPS + " WHERE g.group_id = %s", (group_id,))

    def members(self, group_id: uuid.UUID) -> list[dict[str, Any]]:
        return self._all(self.CLIENTS + " WHERE c.group_id = %s ORDER BY c.created_at", (group_id,))

    def members_of(self, group_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """The members of each of these groups, in one query (the list page shows them all)."""
        out: dict[uuid.UUID, list[dict[str, Any]]] = {gid: [] for gid in group_ids}
        if group_ids:
            rows = self._all(
                self.CLIENTS + " WHERE c.group_id = ANY(%s) ORDER BY c.created_at", (group_ids,)
            )
            for row in rows:
                out[row["group_id"]].append(row)
        return out

    # Clients

    CLIENTS = """
        SELECT c.*, g.name AS group_name, g.meeting_day AS group_meeting_day, g.meeting_time AS group_meeting_time,
            g.loan_officer_id AS group_officer_id, COALESCE(s.balance_cents, 0) AS savings_balance_cents,
            CASE WHEN c.group_id IS NULL THEN c.loan_officer_id ELSE g.loan_officer_id END AS owner_id,
            EXISTS (SELECT 1 FROM loans l WHERE l.client_id = c.client_id) AS has_loan_history,
            br.name AS branch_name, br.location AS branch_location,
            lo.username AS officer_username, lo.name AS officer_name,
            cb.username AS created_by_username, cb.name AS created_by_name,
            ab.username AS approved_by_username, ab.name AS approved_by_name
        FROM clients c LEFT JOIN groups g ON g.group_id = c.group_id
        LEFT JOIN branches br ON br.branch_id = c.branch_id
        LEFT JOIN savings_balances s ON s.client_id = c.client_id
        LEFT JOIN staff lo ON lo.user_id = COALESCE(g.loan_officer_id, c.loan_officer_id)
        LEFT JOIN staff cb ON cb.user_id = c.created_by
        LEFT JOIN staff ab ON ab.user_id = c.approved_by"""

    def clients(self, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
        where = _Where()
        if query.officer_id:
            where.add(
                "(CASE WHEN c.group_id IS NULL THEN c.loan_officer_id ELSE g.loan_officer_id END) = %s",
                query.officer_id,
            )
        if query.status:
            where.add("c.status = ANY(%s)", query.status)
        if query.group_id:
            where.add("c.group_id = %s", query.group_id)
        if query.search:
            term = query.search.strip()
            digits = "".join(ch for ch in term if ch.isdigit())
            clause = "(c.name ILIKE %s ESCAPE '\\' OR c.national_id = %s"
            params: list[Any] = [like_contains(term), term]
            if len(digits) >= 6:
                clause += " OR c.phone LIKE %s"
                params.append(f"%{digits.lstrip('0')}%")
            where.add(clause + ")", *params)
        return self._page(self.CLIENTS, where, "c.created_at, c.name", query)

    def client(self, client_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one(self.CLIENTS + " WHERE c.client_id = %s", (client_id,))

    def client_repayments(self, client_id: uuid.UUID) -> list[dict[str, Any]]:
        """The repayments the ledger reported on the client's loans, newest first."""
        return self._all(
            """SELECT r.* FROM loan_repayments r JOIN loans l ON l.loan_id = r.loan_id
               WHERE l.client_id = %s ORDER BY r.occurred_at DESC, r.receipt""",
            (client_id,),
        )

    def savings_history(self, client_id: uuid.UUID) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM savings_movements WHERE client_id = %s ORDER BY occurred_at DESC",
            (client_id,),
        )

    # Products

    def products(self, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
        where = _Where()
        if query.product_type:
            where.add("type = %s", query.product_type)
        if query.search:
            where.add("name ILIKE %s ESCAPE '\\'", like_contains(query.search))
        return self._page("SELECT * FROM products", where, "created_at, name", query)

    def product(self, product_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one("SELECT * FROM products WHERE product_id = %s", (product_id,))

    # Loans

    LOANS = """
        SELECT l.*, c.name AS client_name, c.national_id AS client_national_id, c.phone AS client_phone,
            g.name AS group_name, g.loan_officer_id AS group_officer_id,
            a.assessment_id, a.scores AS assessment_scores, a.total_score, a.passed AS assessment_passed,
            a.officer_notes, a.officer_id AS assessment_officer_id, a.created_at AS assessed_at,
            (SELECT count(*) FROM guarantors x WHERE x.loan_id = l.loan_id AND x.status = 'accepted')
                AS accepted_guarantors,
            (SELECT count(*) FROM guarantors x WHERE x.loan_id = l.loan_id) AS guarantors_count,
            (SELECT count(*) FROM loans p WHERE p.client_id = l.client_id
                AND (p.created_at, p.loan_id) <= (l.created_at, l.loan_id)) AS cycle,
            b.total_due_cents, b.total_interest_cents, b.total_fees_cents, b.instalments,
            b.maturity_on, b.repayments_count, b.last_repayment_at,
            COALESCE(b.outstanding_cents, l.outstanding_cents) AS ledger_outstanding_cents,
            CASE WHEN b.loan_id IS NULL THEN l.total_paid_cents
                WHEN b.last_reversal_at IS NULL
                    THEN GREATEST(b.receipts_paid_cents, b.repaid_total_paid_cents, l.total_paid_cents)
                -- after a reversal only the receipts still standing count, and a payoff newer than it
                WHEN b.repaid_as_of > b.last_reversal_at
                    THEN GREATEST(b.receipts_paid_cents, b.repaid_total_paid_cents)
                ELSE b.receipts_paid_cents
            END AS ledger_total_paid_cents,
            lo.username AS officer_username, lo.name AS officer_name,
            ib.username AS initiated_by_username, ib.name AS initiated_by_name,
            ab.username AS approved_by_username, ab.name AS approved_by_name
        FROM loans l JOIN clients c ON c.client_id = l.client_id
        LEFT JOIN groups g ON g.group_id = l.group_id
        LEFT JOIN assessments a ON a.loan_id = l.loan_id
        LEFT JOIN loan_balances b ON b.loan_id = l.loan_id
        LEFT JOIN staff lo ON lo.user_id = l.loan_officer_id
        LEFT JOIN staff ib ON ib.user_id = l.initiated_by
        LEFT JOIN staff ab ON ab.user_id = l.approved_by"""

    def loans(self, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
        return self._page(
            self.LOANS, self._loan_where(query), "l.created_at DESC, l.loan_id", query
        )

    @staticmethod
    def _loan_where(query: ListQuery) -> _Where:
        where = _Where()
        if query.officer_id:
            where.add("l.loan_officer_id = %s", query.officer_id)
        if query.loan_officer_id:
            where.add("l.loan_officer_id = %s", query.loan_officer_id)
        if query.status:
            where.add("l.status = ANY(%s)", query.status)
        if query.group_id:
            where.add("l.group_id = %s", query.group_id)
        if query.client_id:
            where.add("l.client_id = %s", query.client_id)
        if query.product_type:
            where.add("l.product_type = %s", query.product_type)
        if query.created_from:
            where.add("l.created_at >= %s", query.created_from)
        if query.created_to:
            where.add("l.created_at < %s::date + 1", query.created_to)
        if query.search:
            term = query.search.strip()
            where.add(
                "(c.name ILIKE %s ESCAPE '\\' OR c.national_id = %s OR l.account_number = %s)",
                like_contains(term),
                term,
                term,
            )
        if query.loan_type:
            where.add("l.loan_type = %s", query.loan_type)
        return where

    def loan(self, loan_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one(self.LOANS + " WHERE l.loan_id = %s", (loan_id,))

    def loan_totals_by(self, query: ListQuery) -> list[dict[str, Any]]:
        """Count, principal, due, paid and outstanding (cents) of the loans a list query selects,
        by status and product."""
        where = self._loan_where(query)
        return self._all(
            f"""SELECT q.status, q.product_type, count(*) AS count,
                    COALESCE(sum(q.principal_cents), 0) AS principal_cents,
                    COALESCE(sum(q.total_due_cents), 0) AS total_due_cents,
                    COALESCE(sum(q.ledger_total_paid_cents), 0) AS total_paid_cents,
                    COALESCE(sum(q.ledger_outstanding_cents), 0) AS outstanding_cents
                FROM ({self.LOANS} WHERE {where.sql}) AS q
                GROUP BY q.status, q.product_type ORDER BY q.status, q.product_type""",  # noqa: S608
            tuple(where.params),
        )

    def schedule(self, loan_id: uuid.UUID) -> list[dict[str, Any]]:
        return self._all(
            "SELECT * FROM loan_schedule WHERE loan_id = %s ORDER BY number", (loan_id,)
        )

    def repayments(self, loan_id: uuid.UUID) -> list[dict[str, Any]]:
        """The loan's receipts still standing (a reversed one no longer counts), oldest first."""
        return self._all(
            "SELECT * FROM loan_repayments WHERE loan_id = %s AND reversed_at IS NULL "
            "ORDER BY occurred_at, receipt",
            (loan_id,),
        )

    # Guarantors and assessments

    GUARANTORS = """
        SELECT x.*, COALESCE(c.name, x.outside_name) AS client_name,
            COALESCE(c.national_id, x.outside_national_id) AS client_national_id,
            COALESCE(c.phone, x.outside_phone) AS client_phone,
            l.principal_cents AS loan_principal_cents, l.status AS loan_status, l.loan_officer_id,
            l.account_number, adb.username AS added_by_username, dcb.username AS decided_by_username
        FROM guarantors x LEFT JOIN clients c ON c.client_id = x.client_id
        JOIN loans l ON l.loan_id = x.loan_id
        LEFT JOIN staff adb ON adb.user_id = x.added_by
        LEFT JOIN staff dcb ON dcb.user_id = x.decided_by"""

    def guarantors(self, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
        where = _Where()
        if query.officer_id:
            where.add("l.loan_officer_id = %s", query.officer_id)
        if query.loan_id:
            where.add("x.loan_id = %s", query.loan_id)
        if query.client_id:
            where.add("x.client_id = %s", query.client_id)
        if query.status:
            where.add("x.status = ANY(%s)", query.status)
        return self._page(self.GUARANTORS, where, "x.created_at, x.guarantor_id", query)

    def guarantor(self, guarantor_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one(self.GUARANTORS + " WHERE x.guarantor_id = %s", (guarantor_id,))

    ASSESSMENTS = """
        SELECT a.*, l.loan_officer_id, l.status AS loan_status, c.name AS client_name
        FROM assessments a JOIN loans l ON l.loan_id = a.loan_id JOIN clients c ON c.client_id = l.client_id"""

    def assessments(self, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
        where = _Where()
        if query.officer_id:
            where.add("l.loan_officer_id = %s", query.officer_id)
        if query.loan_id:
            where.add("a.loan_id = %s", query.loan_id)
        return self._page(self.ASSESSMENTS, where, "a.created_at", query)

    def assessment_of(self, loan_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one(self.ASSESSMENTS + " WHERE a.loan_id = %s", (loan_id,))

    # Staff (from identity's events)

    LOAN_OFFICERS = "SELECT * FROM staff"

    def loan_officers(self, query: ListQuery) -> tuple[list[dict[str, Any]], int]:
        where = _Where()
        where.add("role = %s", LOAN_OFFICER)
        if query.active is not None:
            where.add("active = %s", query.active)
        if query.search:
            term = like_contains(query.search.strip())
            where.add("(username ILIKE %s ESCAPE '\\' OR name ILIKE %s ESCAPE '\\')", term, term)
        return self._page(
            self.LOAN_OFFICERS, where, "lower(COALESCE(name, username)), user_id", query
        )

    def loan_officer(self, user_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one(
            "SELECT * FROM staff WHERE user_id = %s AND role = %s", (user_id, LOAN_OFFICER)
        )

    # Lookups for the use cases (the ``Lookups`` port)

    def client_in_group(self, group_id: uuid.UUID, national_id: str) -> uuid.UUID | None:
        row = self._one(
            "SELECT client_id FROM clients WHERE group_id = %s AND national_id = %s",
            (group_id, national_id),
        )
        return row["client_id"] if row else None

    def client_by_national_id(self, national_id: str) -> uuid.UUID | None:
        row = self._one("SELECT client_id FROM clients WHERE national_id = %s", (national_id,))
        return row["client_id"] if row else None

    def repaid_loans(self, client_id: uuid.UUID) -> int:
        row = self._one(
            "SELECT count(*) AS n FROM loans WHERE client_id = %s AND status = 'repaid'",
            (client_id,),
        )
        return int(row["n"]) if row else 0

    def open_guarantees(self, client_id: uuid.UUID) -> int:
        row = self._one(
            f"""SELECT count(*) AS n FROM guarantors x JOIN loans l ON l.loan_id = x.loan_id
                WHERE x.client_id = %s AND x.status <> 'declined' AND l.{OPEN_LOAN}""",  # noqa: S608
            (client_id,),
        )
        return int(row["n"]) if row else 0

    def savings_cents(self, client_id: uuid.UUID) -> int:
        row = self._one(
            "SELECT balance_cents FROM savings_balances WHERE client_id = %s", (client_id,)
        )
        return int(row["balance_cents"]) if row else 0

    def group_savings_cents(self, group_id: uuid.UUID) -> int:
        row = self._one(
            """SELECT COALESCE(sum(s.balance_cents), 0) AS n FROM clients c
               JOIN savings_balances s ON s.client_id = c.client_id WHERE c.group_id = %s""",
            (group_id,),
        )
        return int(row["n"]) if row else 0

    def active_products_of_type(self, product_type: str) -> list[uuid.UUID]:
        rows = self._all(
            "SELECT product_id FROM products WHERE type = %s AND active ORDER BY created_at",
            (product_type,),
        )
        return [row["product_id"] for row in rows]

    def loan_of_guarantor(self, guarantor_id: uuid.UUID) -> uuid.UUID | None:
        row = self._one("SELECT loan_id FROM guarantors WHERE guarantor_id = %s", (guarantor_id,))
        return row["loan_id"] if row else None

    def groups_named(self, names: list[str]) -> list[str]:
        rows = self._all(
            "SELECT name FROM groups WHERE lower(name) = ANY(%s)", ([n.lower() for n in names],)
        )
        return [row["name"] for row in rows]

    def national_ids_taken(self, national_ids: list[str]) -> list[str]:
        rows = self._all(
            "SELECT national_id FROM clients WHERE national_id = ANY(%s)", (national_ids,)
        )
        return [row["national_id"] for row in rows]

    def staff_member(self, user_id: uuid.UUID) -> StaffMember | None:
        row = self._one(
            "SELECT user_id, username, role, active FROM staff WHERE user_id = %s", (user_id,)
        )
        if row is None:
            return None
        return StaffMember(
            user_id=row["user_id"], username=row["username"], role=row["role"], active=row["active"]
        )

    def knows_staff(self) -> bool:
        row = self._one("SELECT EXISTS (SELECT 1 FROM staff) AS known", ())
        return bool(row and row["known"])


class CatchingUpLookups:
    """The lookups, after bringing the read models up to date (the use case reads its own writes)."""

    def __init__(self, read_models: ReadModels, catch_up: Any) -> None:
        self._read = read_models
        self._catch_up = catch_up

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._read, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._catch_up()
            return target(*args, **kwargs)

        return call
