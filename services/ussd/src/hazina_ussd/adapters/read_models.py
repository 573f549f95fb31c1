"""Local projections of other services' events: who a phone belongs to, their loans, balances,
movements and savings. The USSD path reads only these tables, never another service.

Origination's and the ledger's events arrive on different consumers, in any order between them:
each writes only its own columns of a loan (an upsert), so whichever comes first, the row ends up
whole. Each consumer's writes commit with its record of the message (exactly once).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from hazina_contracts.events import ledger, origination
from hazina_ussd.application.ports import ClientRecord, Reminder
from hazina_ussd.domain.limit import History
from hazina_ussd.domain.menu import Borrower, Loan, Movement
from hazina_ussd.domain.schedule import equal_shares, instalments, next_instalment

DDL = """
CREATE TABLE IF NOT EXISTS borrower_clients (
    client_id uuid PRIMARY KEY,
    name text NOT NULL,
    national_id text NOT NULL,
    phone text NOT NULL,
    status text NOT NULL
);
ALTER TABLE borrower_clients ADD COLUMN IF NOT EXISTS details_as_of timestamptz;
CREATE INDEX IF NOT EXISTS borrower_clients_phone ON borrower_clients (phone);
CREATE TABLE IF NOT EXISTS borrower_loans (
    loan_id uuid PRIMARY KEY,
    client_id uuid NOT NULL,
    account_number text,
    origination_status text,
    ledger_status text,
    principal_cents bigint NOT NULL DEFAULT 0,
    frequency text NOT NULL DEFAULT 'monthly',
    opened boolean NOT NULL DEFAULT false,
    total_interest_cents bigint NOT NULL DEFAULT 0,
    total_fees_cents bigint NOT NULL DEFAULT 0,
    instalments integer NOT NULL DEFAULT 1,
    disbursed_on date,
    schedule jsonb,
    paid_principal_cents bigint NOT NULL DEFAULT 0,
    paid_interest_cents bigint NOT NULL DEFAULT 0,
    paid_fees_cents bigint NOT NULL DEFAULT 0,
    outstanding_cents bigint NOT NULL DEFAULT 0,
    days_past_due integer NOT NULL DEFAULT 0,
    ever_in_arrears boolean NOT NULL DEFAULT false,
    ever_defaulted boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS borrower_loans_client ON borrower_loans (client_id);
CREATE TABLE IF NOT EXISTS borrower_loan_closures (
    loan_id uuid PRIMARY KEY,
    status text NOT NULL
);
CREATE TABLE IF NOT EXISTS borrower_movements (
    loan_id uuid NOT NULL,
    key text NOT NULL,
    kind text NOT NULL,
    amount_cents bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (loan_id, key)
);
CREATE TABLE IF NOT EXISTS borrower_savings (
    client_id uuid PRIMARY KEY,
    balance_cents bigint NOT NULL,
    as_of timestamptz NOT NULL
);
"""

CLOSED = ("repaid", "written_off")
# Origination's final word on an application: the loan is no longer open, whatever arrives after.
# Kept apart (borrower_loan_closures) because it can arrive before the application itself, and a
# late or repeated LoanInitiated or LoanApproved must not reopen it (it would block the borrower's
# next application: one open loan at a time).
DECIDED = ("rejected", "cancelled")
_STATUS_BY_EVENT = {
    origination.LoanApproved: "approved",
    origination.LoanDisbursementRequested: "disbursing",
}
_CLOSURE = "(SELECT status FROM borrower_loan_closures c WHERE c.loan_id = borrower_loans.loan_id)"


def _upsert_loan(conn: psycopg.Connection[Any], loan_id: uuid.UUID, **columns: Any) -> None:
    names = list(columns)
    placeholders = ", ".join(["%s"] * (len(names) + 1))
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n != "client_id")
    conn.execute(
        f"INSERT INTO borrower_loans (loan_id, {', '.join(names)}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT (loan_id) DO UPDATE SET {updates}",
        (loan_id, *columns.values()),
    )


class ClientNotYetKnownError(LookupError):
    """An edit that overtook the onboarding: the consumer delivers it again (then parks it)."""


def apply_origination(event: object, conn: psycopg.Connection[Any]) -> None:
    match event:
        case origination.ClientOnboarded():
            # Delivered again after an edit, it changes nothing: the newer details stand.
            conn.execute(
                """INSERT INTO borrower_clients (client_id, name, national_id, phone, status,
                                                 details_as_of)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (client_id) DO UPDATE SET name = EXCLUDED.name,
                     national_id = EXCLUDED.national_id, phone = EXCLUDED.phone,
                     details_as_of = EXCLUDED.details_as_of
                   WHERE borrower_clients.details_as_of IS NULL
                      OR borrower_clients.details_as_of <= EXCLUDED.details_as_of""",
                (
                    event.client_id,
                    event.name,
                    event.national_id,
                    event.phone,
                    event.status,
                    event.occurred_at,
                ),
            )
        case origination.ClientDetailsChanged():
            # A new phone number: the borrower dials from it, and their SMS go to it, not to the
            # old one (a number Safaricom may give to someone else); a corrected national ID is
            # the one their PIN set-up asks for. An older edit than the one kept changes nothing.
            changed = conn.execute(
                """UPDATE borrower_clients SET name = %(name)s, national_id = %(national_id)s,
                     phone = %(phone)s, details_as_of = %(as_of)s
                   WHERE client_id = %(client_id)s
                     AND (details_as_of IS NULL OR details_as_of <= %(as_of)s)""",
                {
                    "client_id": event.client_id,
                    "name": event.name,
                    "national_id": event.national_id,
                    "phone": event.phone,
                    "as_of": event.occurred_at,
                },
            ).rowcount
            if not changed and client_phone(conn, event.client_id) is None:
                raise ClientNotYetKnownError(
                    f"client {event.client_id} was edited before their onboarding arrived"
                )
        case origination.ClientApproved():
            conn.execute(
                "UPDATE borrower_clients SET status = 'active' WHERE client_id = %s",
                (event.client_id,),
            )
        case origination.LoanInitiated():
            _upsert_loan(
                conn,
                event.loan_id,
                client_id=event.client_id,
                account_number=event.account_number,
                principal_cents=event.principal_cents,
                frequency=event.terms.repayment_frequency,
            )
            conn.execute(  # the first status; delivered again later, it moves nothing back
                f"UPDATE borrower_loans SET origination_status = coalesce({_CLOSURE}, 'initiated') "  # noqa: S608
                "WHERE loan_id = %s AND origination_status IS NULL",
                (event.loan_id,),
            )
        case origination.LoanApproved() | origination.LoanDisbursementRequested():
            conn.execute(
                f"UPDATE borrower_loans SET origination_status = %s WHERE loan_id = %s AND {_CLOSURE} IS NULL",  # noqa: S608
                (_STATUS_BY_EVENT[type(event)], event.loan_id),
            )
        case origination.LoanRejected() | origination.LoanCancelled():
            status = "rejected" if isinstance(event, origination.LoanRejected) else "cancelled"
            conn.execute(
                "INSERT INTO borrower_loan_closures (loan_id, status) VALUES (%s, %s) "
                "ON CONFLICT (loan_id) DO NOTHING",
                (event.loan_id, status),
            )
            conn.execute(
                f"UPDATE borrower_loans SET origination_status = {_CLOSURE} WHERE loan_id = %s",  # noqa: S608
                (event.loan_id,),
            )


def apply_ledger(event: object, conn: psycopg.Connection[Any]) -> None:
    match event:
        case ledger.LoanAccountOpened():
            _upsert_loan(
                conn,
                event.loan_id,
                client_id=event.client_id,
                opened=True,
                ledger_status="current",
                total_interest_cents=event.total_interest_cents,
                total_fees_cents=event.total_fees_cents,
                instalments=event.instalments,
                disbursed_on=event.disbursed_on,
                schedule=Jsonb(
                    [
                        [
                            row.due_on.isoformat(),
                            row.principal_cents + row.interest_cents + row.fee_cents,
                        ]
                        for row in event.schedule
                    ]
                )
                if isinstance(event, ledger.LoanAccountOpenedV2)
                else None,
                outstanding_cents=event.principal_cents
                + event.total_interest_cents
                + event.total_fees_cents,
            )
            _movement(conn, event.loan_id, "opened", "disbursement", event.principal_cents, event)
        case ledger.RepaymentPosted():
            # A receipt counts once, however often and under whatever event id it is reported.
            if not _movement(
                conn, event.loan_id, event.receipt, "repayment", event.amount_cents, event
            ):
                return
            conn.execute(
                """UPDATE borrower_loans SET paid_principal_cents = paid_principal_cents + %s,
                     paid_interest_cents = paid_interest_cents + %s,
                     paid_fees_cents = paid_fees_cents + %s, outstanding_cents = %s
                   WHERE loan_id = %s""",
                (
                    event.principal_cents,
                    event.interest_cents,
                    event.fee_cents,
                    event.outstanding_cents,
                    event.loan_id,
                ),
            )
        case ledger.RepaymentReversed():
            if not _movement(
                conn, event.loan_id, f"rev:{event.receipt}", "reversal", event.amount_cents, event
            ):
                return
            conn.execute(
                """UPDATE borrower_loans SET paid_principal_cents = paid_principal_cents - %s,
                     paid_interest_cents = paid_interest_cents - %s,
                     paid_fees_cents = paid_fees_cents - %s, outstanding_cents = %s,
                     ledger_status = CASE WHEN %s THEN 'current' ELSE ledger_status END
                   WHERE loan_id = %s""",
                (
                    event.principal_cents,
                    event.interest_cents,
                    event.fee_cents,
                    event.outstanding_cents,
                    event.reopened,
                    event.loan_id,
                ),
            )
        case ledger.LoanStatusChanged():
            conn.execute(
                """UPDATE borrower_loans SET ledger_status = %s, days_past_due = %s,
                     outstanding_cents = %s,
                     ever_in_arrears = ever_in_arrears OR %s, ever_defaulted = ever_defaulted OR %s
                   WHERE loan_id = %s""",
                (
                    event.status,
                    event.days_past_due,
                    event.outstanding_cents,
                    event.status != "current",
                    event.status in ("defaulted", "written_off"),
                    event.loan_id,
                ),
            )
        case ledger.LoanRepaid():
            conn.execute(
                """UPDATE borrower_loans SET ledger_status = 'repaid', outstanding_cents = 0,
                     days_past_due = 0 WHERE loan_id = %s""",
                (event.loan_id,),
            )
        case ledger.SavingsBalanceChanged():
            conn.execute(
                """INSERT INTO borrower_savings (client_id, balance_cents, as_of) VALUES (%s, %s, %s)
                   ON CONFLICT (client_id) DO UPDATE SET balance_cents = EXCLUDED.balance_cents,
                     as_of = EXCLUDED.as_of WHERE borrower_savings.as_of <= EXCLUDED.as_of""",
                (event.client_id, event.balance_cents, event.occurred_at),
            )


def _movement(
    conn: psycopg.Connection[Any],
    loan_id: uuid.UUID,
    key: str,
    kind: str,
    amount_cents: int,
    event: ledger.LoanAccountOpened | ledger.RepaymentPosted | ledger.RepaymentReversed,
) -> bool:
    """Keep the movement; False when it was kept before (the same fact again)."""
    row = conn.execute(
        """INSERT INTO borrower_movements (loan_id, key, kind, amount_cents, occurred_at)
           VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1""",
        (loan_id, key, kind, amount_cents, event.occurred_at),
    ).fetchone()
    return row is not None


def loan_and_client(
    conn: psycopg.Connection[Any], loan_id: uuid.UUID
) -> tuple[str | None, dict[str, Any] | None]:
    """A loan's account number and its client's row (for a message about the loan)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            """SELECT l.account_number, c.client_id, c.phone FROM borrower_loans l
               LEFT JOIN borrower_clients c ON c.client_id = l.client_id WHERE l.loan_id = %s""",
            (loan_id,),
        ).fetchone()
    if row is None:
        return None, None
    return row["account_number"], row if row["client_id"] else None


def client_phone(conn: psycopg.Connection[Any], client_id: uuid.UUID) -> str | None:
    """A client's phone (for a message about them)."""
    row = conn.execute(
        "SELECT phone FROM borrower_clients WHERE client_id = %s", (client_id,)
    ).fetchone()
    return str(row[0]) if row else None


def client_of(row: dict[str, Any]) -> ClientRecord:
    return ClientRecord(
        client_id=row["client_id"],
        name=row["name"],
        national_id=row["national_id"],
        phone=row["phone"],
        approved=row["status"] in ("active", "legacy"),
    )


class PostgresBorrowerDirectory:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def client(self, client_id: uuid.UUID) -> ClientRecord | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                "SELECT * FROM borrower_clients WHERE client_id = %s", (client_id,)
            ).fetchone()
        return client_of(row) if row else None

    def borrower(self, client: ClientRecord) -> tuple[Borrower, History]:
        with self.pool.connection() as conn, conn.pipeline():
            cursors = borrower_queries(conn, "client_id = %s", (client.client_id,))
            return borrower_of(client, *(c.fetchall() for c in cursors))

    def reminders_due(self, today: date, days_ahead: int) -> Iterator[Reminder]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                """SELECT l.*, c.phone FROM borrower_loans l
                   JOIN borrower_clients c USING (client_id)
                   WHERE l.opened AND l.disbursed_on IS NOT NULL AND l.outstanding_cents > 0
                     AND coalesce(l.ledger_status, '') NOT IN ('repaid', 'written_off')"""
            ).fetchall()
        for row in rows:
            rows_due = instalments(_schedule(row), _paid(row))
            unpaid = [r for r in rows_due if r.unpaid_cents > 0]
            overdue = [r for r in unpaid if r.due_on < today]
            soon = [r for r in unpaid if (r.due_on - today).days == days_ahead]
            for kind, found in (("overdue", overdue[-1:]), ("due_soon", soon[:1])):
                for r in found:
                    amount = (
                        sum(x.unpaid_cents for x in overdue)
                        if kind == "overdue"
                        else r.unpaid_cents
                    )
                    yield Reminder(
                        kind=kind,
                        client_id=row["client_id"],
                        loan_id=row["loan_id"],
                        account_number=row["account_number"] or "",
                        phone=row["phone"],
                        due_on=r.due_on,
                        amount_cents=amount,
                    )


def _total(row: dict[str, Any]) -> int:
    return int(row["principal_cents"] + row["total_interest_cents"] + row["total_fees_cents"])


def _schedule(row: dict[str, Any]) -> list[tuple[date, int]]:
    """The ledger's own schedule (v2), or equal shares from its totals (v1)."""
    if row["schedule"]:
        return [(date.fromisoformat(due), int(amount)) for due, amount in row["schedule"]]
    return equal_shares(_total(row), row["instalments"], row["disbursed_on"], row["frequency"])


def _paid(row: dict[str, Any]) -> int:
    return int(row["paid_principal_cents"] + row["paid_interest_cents"] + row["paid_fees_cents"])


def _loan(row: dict[str, Any], status: str, movements: tuple[Movement, ...]) -> Loan:
    due = None
    if row["opened"] and row["disbursed_on"] is not None:
        due = next_instalment(_schedule(row), _paid(row))
    return Loan(
        loan_id=row["loan_id"],
        account_number=row["account_number"],
        status=status,
        principal_cents=row["principal_cents"],
        principal_outstanding_cents=max(row["principal_cents"] - row["paid_principal_cents"], 0),
        interest_outstanding_cents=max(row["total_interest_cents"] - row["paid_interest_cents"], 0),
        outstanding_cents=row["outstanding_cents"],
        days_in_arrears=row["days_past_due"],
        next_due=due,
        movements=movements,
    )


def borrower_queries(
    conn: psycopg.Connection[Any], whose: str, params: tuple[Any, ...]
) -> tuple[psycopg.Cursor[dict[str, Any]], ...]:
    """A borrower's loans, recent movements and savings: three queries sent together (in a
    pipeline, one round trip). ``whose`` picks the client: ``client_id = %s`` or a subquery."""
    loans = conn.cursor(row_factory=dict_row)
    moves = conn.cursor(row_factory=dict_row)
    savings = conn.cursor(row_factory=dict_row)
    loans.execute(
        f"SELECT * FROM borrower_loans WHERE {whose} ORDER BY account_number",  # noqa: S608
        params,
    )
    moves.execute(
        f"""SELECT m.* FROM borrower_movements m JOIN borrower_loans l USING (loan_id)
           WHERE l.{whose} ORDER BY m.occurred_at DESC LIMIT 50""",  # noqa: S608
        params,
    )
    savings.execute(
        f"SELECT balance_cents FROM borrower_savings WHERE {whose}",  # noqa: S608
        params,
    )
    return loans, moves, savings


def borrower_of(
    client: ClientRecord,
    loans: list[dict[str, Any]],
    moves: list[dict[str, Any]],
    savings_rows: list[dict[str, Any]],
) -> tuple[Borrower, History]:
    """What the menu knows of a borrower, and the history their limit is computed from."""
    savings = savings_rows[0] if savings_rows else None
    by_loan: dict[uuid.UUID, list[Movement]] = {}
    for m in moves:
        by_loan.setdefault(m["loan_id"], []).append(
            Movement(m["occurred_at"].date(), m["kind"], m["amount_cents"])
        )
    open_loans = []
    for row in loans:
        status = row["ledger_status"] or row["origination_status"]
        if status is None or status in (*CLOSED, *DECIDED) or not row["account_number"]:
            continue
        open_loans.append(_loan(row, status, tuple(by_loan.get(row["loan_id"], [])[:5])))
    history = History(
        savings_cents=savings["balance_cents"] if savings else 0,
        repaid_on_time=sum(
            1 for r in loans if r["ledger_status"] == "repaid" and not r["ever_in_arrears"]
        ),
        repaid_late=sum(
            1
            for r in loans
            if r["ledger_status"] == "repaid" and r["ever_in_arrears"] and not r["ever_defaulted"]
        ),
        defaulted=sum(1 for r in loans if r["ever_defaulted"]),
        days_in_arrears=max(
            (r["days_past_due"] for r in loans if r["ledger_status"] not in CLOSED), default=0
        ),
        cycles_completed=sum(1 for r in loans if r["ledger_status"] == "repaid"),
    )
    borrower = Borrower(
        client_id=client.client_id,
        name=client.name,
        national_id=client.national_id,
        approved=client.approved,
        loans=tuple(open_loans),
        savings_cents=history.savings_cents,
    )
    return borrower, history
