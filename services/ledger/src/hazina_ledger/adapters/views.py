"""Queries over the read models: what the API and the CLI show; and the clients as origination
describes them, the one table here the inbox writes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from hazina_ledger.domain.accounts import CHART, account_class
from hazina_ledger.domain.allocation import Components
from hazina_ledger.domain.arrears import ArrearsPolicy, arrears_position, portfolio_risk, ratio
from hazina_ledger.domain.schedule import Instalment
from hazina_servicekit.filtered import Filters, counted_page
from hazina_servicekit.ownership import CLIENTS_OF_OFFICER, LOANS_OF_OFFICER

CLIENTS_DDL = """
CREATE TABLE IF NOT EXISTS clients (
    client_id uuid PRIMARY KEY,
    national_id text NOT NULL,
    name text NOT NULL,
    group_id uuid,
    loan_officer_id uuid,
    status text NOT NULL,
    onboarded_at timestamptz NOT NULL,
    details_as_of timestamptz,
    status_as_of timestamptz
);
ALTER TABLE clients ADD COLUMN IF NOT EXISTS details_as_of timestamptz;
ALTER TABLE clients ADD COLUMN IF NOT EXISTS status_as_of timestamptz;
CREATE INDEX IF NOT EXISTS clients_group ON clients (group_id);
"""


def upsert_client(conn: psycopg.Connection[Any], row: dict[str, Any]) -> None:
    """A client as origination first described them (ClientOnboarded). Delivered again, it
    changes only what no later edit or decision (``*_as_of``) has changed since."""
    inserted = conn.execute(
        """
        INSERT INTO clients (client_id, national_id, name, group_id, loan_officer_id, status, onboarded_at,
                             details_as_of, status_as_of)
        VALUES (%(client_id)s, %(national_id)s, %(name)s, %(group_id)s, %(loan_officer_id)s, %(status)s,
                %(onboarded_at)s, %(onboarded_at)s, %(onboarded_at)s)
        ON CONFLICT (client_id) DO NOTHING RETURNING 1
        """,
        row,
    ).fetchone()
    if inserted is None:
        change_client_details(conn, {**row, "as_of": row["onboarded_at"]})
        change_client_status(conn, row["client_id"], row["status"], row["onboarded_at"])


def change_client_details(conn: psycopg.Connection[Any], row: dict[str, Any]) -> bool:
    """A client's edited details (ClientDetailsChanged: a corrected name or national id, a move to
    another group); an edit older than the one shown changes nothing. False: the client is not
    known here yet."""
    changed = conn.execute(
        """
        UPDATE clients SET national_id = %(national_id)s, name = %(name)s, group_id = %(group_id)s,
            loan_officer_id = %(loan_officer_id)s, details_as_of = %(as_of)s
        WHERE client_id = %(client_id)s AND (details_as_of IS NULL OR details_as_of <= %(as_of)s)
        RETURNING 1
        """,
        row,
    ).fetchone()
    return changed is not None or _known(conn, row["client_id"])


def change_client_status(
    conn: psycopg.Connection[Any], client_id: uuid.UUID, status: str, as_of: dt.datetime
) -> bool:
    """Origination's decision on a client (approved, rejected); an older one changes nothing.
    False: the client is not known here yet."""
    changed = conn.execute(
        """
        UPDATE clients SET status = %s, status_as_of = %s
        WHERE client_id = %s AND (status_as_of IS NULL OR status_as_of <= %s) RETURNING 1
        """,
        (status, as_of, client_id, as_of),
    ).fetchone()
    return changed is not None or _known(conn, client_id)


def _known(conn: psycopg.Connection[Any], client_id: uuid.UUID) -> bool:
    return (
        conn.execute("SELECT 1 FROM clients WHERE client_id = %s", (client_id,)).fetchone()
        is not None
    )


def owned_target(target: str, target_id: str, officer_id: uuid.UUID) -> tuple[str, list[Any]]:
    """A WHERE fragment: the money row's target (a loan, or a client's savings) is the officer's."""
    return (
        f"(({target} = 'loan' AND {target_id} IN ({LOANS_OF_OFFICER})) OR "
        f"({target} = 'savings' AND {target_id} IN ({CLIENTS_OF_OFFICER})))",
        [officer_id, officer_id],
    )


def _officer_loans(column: str, officer_id: uuid.UUID | None) -> tuple[str, tuple[Any, ...]]:
    """An ``AND`` fragment keeping only the officer's own loans, or nothing for everyone's."""
    if officer_id is None:
        return "", ()
    return f" AND {column} IN ({LOANS_OF_OFFICER})", (officer_id,)


@dataclass(frozen=True)
class LoanPosition:
    """One loan as of a date: outstanding principal and days past due."""

    loan_id: uuid.UUID
    loan_officer_id: uuid.UUID | None
    group_id: uuid.UUID | None
    principal_cents: int
    outstanding_principal_cents: int
    days_past_due: int


class LedgerViews:
    def __init__(self, pool: ConnectionPool, arrears_policy: ArrearsPolicy | None = None) -> None:
        self.pool = pool
        self.arrears_policy = arrears_policy or ArrearsPolicy()
        with pool.connection() as conn:
            conn.execute(CLIENTS_DDL)

    def _all(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    # Clients

    def client(self, client_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one("SELECT * FROM clients WHERE client_id = %s", (client_id,))

    def client_accounts(self, client_id: uuid.UUID) -> dict[str, Any]:
        savings = self._one(
            "SELECT balance_cents FROM savings_accounts WHERE client_id = %s", (client_id,)
        )
        suspense = self._one(
            "SELECT debit_cents - credit_cents AS net FROM account_balances WHERE account_id = %s",
            (f"2000:{client_id}",),
        )
        loans = self._all(
            "SELECT * FROM loan_accounts WHERE client_id = %s ORDER BY approved_at", (client_id,)
        )
        pending = self._one(
            "SELECT coalesce(sum(amount_cents), 0) AS n FROM savings_withdrawals "
            "WHERE client_id = %s AND status = 'pending'",
            (client_id,),
        )
        return {
            "savings_cents": int(savings["balance_cents"]) if savings else 0,
            "pending_withdrawals_cents": int(pending["n"]) if pending else 0,
            "suspense_cents": -int(suspense["net"]) if suspense else 0,
            "loans": loans,
        }

    # Loans

    def loan(self, loan_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one("SELECT * FROM loan_accounts WHERE loan_id = %s", (loan_id,))

    def product_terms(self, product_id: uuid.UUID) -> dict[str, Any] | None:
        """A product's terms as origination last approved a loan on them (the ledger has no catalogue)."""
        return self._one(
            "SELECT terms, strategy FROM loan_accounts WHERE terms->>'product_id' = %s "
            "ORDER BY approved_at DESC LIMIT 1",
            (str(product_id),),
        )

    def live_loan_ids(self) -> list[uuid.UUID]:
        rows = self._all(
            "SELECT loan_id FROM loan_accounts WHERE status IN ('current', 'in_arrears', 'defaulted') ORDER BY loan_id"
        )
        return [r["loan_id"] for r in rows]

    def instalments(self, loan_id: uuid.UUID) -> list[dict[str, Any]]:
        return self._all(
            """
            SELECT i.number, i.due_on, i.principal_cents, i.interest_cents, i.fee_cents,
                   coalesce(sum(l.principal_cents), 0)::bigint AS paid_principal_cents,
                   coalesce(sum(l.interest_cents), 0)::bigint AS paid_interest_cents,
                   coalesce(sum(l.fee_cents), 0)::bigint AS paid_fee_cents
            FROM loan_instalments i
            LEFT JOIN repayment_lines l ON l.loan_id = i.loan_id AND l.number = i.number
            WHERE i.loan_id = %s
            GROUP BY i.loan_id, i.number
            ORDER BY i.number
            """,
            (loan_id,),
        )

    def repayments(self, loan_id: uuid.UUID) -> list[dict[str, Any]]:
        return self._all(
            "SELECT r.*, c.channel, c.recorded_by FROM repayments r LEFT JOIN receipts c ON c.receipt = r.receipt "
            "WHERE r.loan_id = %s ORDER BY r.notification_id",
            (loan_id,),
        )

    def loan_entries(self, loan_id: uuid.UUID) -> list[dict[str, Any]]:
        """The loan's journal entries with how each moved what the borrower owes (1100/1110/1120)."""
        return self._all(
            """
            SELECT e.entry_id, e.kind, e.value_date, e.recorded_at, e.receipt, e.notification_id,
                   coalesce(sum(p.amount_cents) FILTER (WHERE p.code IN ('1100', '1110', '1120')), 0)::bigint
                       AS owed_change_cents,
                   coalesce(sum(p.amount_cents) FILTER (WHERE p.code = '1100'), 0)::bigint AS principal_change_cents,
                   coalesce(sum(p.amount_cents) FILTER (WHERE p.code = '1110'), 0)::bigint AS interest_change_cents,
                   coalesce(sum(p.amount_cents) FILTER (WHERE p.code = '1120'), 0)::bigint AS fee_change_cents
            FROM journal_entries e JOIN journal_postings p ON p.entry_id = e.entry_id
            WHERE e.loan_id = %s
            GROUP BY e.entry_id
            ORDER BY e.notification_id
            """,
            (loan_id,),
        )

    # Receipts

    def receipt(self, receipt: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM receipts WHERE receipt = %s", (receipt,))

    def receipts(
        self,
        status: str | None,
        limit: int | None,
        offset: int,
        officer_id: uuid.UUID | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """Receipts by status; for an officer only those posted or assigned to their loans and
        clients (an unallocated receipt belongs to nobody yet)."""
        filters = Filters()
        if status:
            filters.add("status = %s", status)
        if officer_id is not None:
            owned, owned_params = owned_target(
                "coalesce(assigned_target, target)",
                "coalesce(assigned_target_id, target_id)",
                officer_id,
            )
            filters.add(owned, *owned_params)
        return counted_page(
            self.pool,
            columns="*",
            source="receipts",
            filters=filters,
            order_by="paid_at, receipt",
            limit=limit,
            offset=offset,
        )

    def conflicts(self, officer_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
        if officer_id is None:
            return self._all("SELECT * FROM receipt_conflicts ORDER BY flagged_at")
        owned, params = owned_target("target", "target_id", officer_id)
        return self._all(
            f"SELECT * FROM receipt_conflicts WHERE {owned} ORDER BY flagged_at",  # noqa: S608
            params,
        )

    # Payouts that were not the approved principal

    _MISMATCHES = (
        "SELECT m.*, l.account_number, l.status AS loan_status, c.name AS client_name "
        "FROM disbursement_mismatches m JOIN loan_accounts l ON l.loan_id = m.loan_id "
        "LEFT JOIN clients c ON c.client_id = m.client_id"
    )

    def disbursement_mismatches(self, status: str | None) -> list[dict[str, Any]]:
        if status:
            return self._all(
                self._MISMATCHES + " WHERE m.status = %s ORDER BY m.held_at, m.disbursement_id",
                (status,),
            )
        return self._all(self._MISMATCHES + " ORDER BY m.held_at, m.disbursement_id")

    def disbursement_mismatch(self, disbursement_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one(
            self._MISMATCHES + " WHERE m.disbursement_id = %s", (str(disbursement_id),)
        )

    # Savings

    def savings_transactions(
        self,
        client_id: uuid.UUID | None,
        group_id: uuid.UUID | None,
        limit: int | None,
        offset: int,
        officer_id: uuid.UUID | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        filters = Filters()
        if client_id:
            filters.add("t.client_id = %s", client_id)
        if group_id:
            filters.add("c.group_id = %s", group_id)
        if officer_id is not None:
            filters.add(f"t.client_id IN ({CLIENTS_OF_OFFICER})", officer_id)
        return counted_page(
            self.pool,
            columns="t.*, c.name AS client_name",
            source="savings_transactions t LEFT JOIN clients c ON c.client_id = t.client_id",
            filters=filters,
            order_by="t.notification_id DESC",
            limit=limit,
            offset=offset,
        )

    def withdrawals(
        self,
        status: str | None,
        client_id: uuid.UUID | None,
        officer_id: uuid.UUID | None = None,
    ) -> list[dict[str, Any]]:
        filters = Filters()
        if status:
            filters.add("status = %s", status)
        if client_id:
            filters.add("client_id = %s", client_id)
        if officer_id is not None:
            filters.add(f"client_id IN ({CLIENTS_OF_OFFICER})", officer_id)
        return self._all(
            f"SELECT * FROM savings_withdrawals WHERE {filters.sql} ORDER BY requested_at",  # noqa: S608
            filters.params,
        )

    def withdrawal(self, withdrawal_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one(
            "SELECT * FROM savings_withdrawals WHERE withdrawal_id = %s", (withdrawal_id,)
        )

    # Accounts

    def account(
        self,
        account_id: str,
        as_of: dt.date | None,
        position: int | None,
        limit: int | None,
        offset: int,
    ) -> dict[str, Any]:
        account = account_class(account_id)
        where: list[str] = ["account_id = %s"]
        params: list[object] = [account_id]
        if as_of is not None:
            where.append("value_date <= %s")
            params.append(as_of)
        if position is not None:
            where.append("notification_id <= %s")
            params.append(position)
        clause = " AND ".join(where)
        totals = self._one(
            f"SELECT coalesce(sum(greatest(amount_cents, 0)), 0)::bigint AS debit_cents, "  # noqa: S608
            f"coalesce(sum(greatest(-amount_cents, 0)), 0)::bigint AS credit_cents, count(*) AS n "
            f"FROM journal_postings WHERE {clause}",
            params,
        )
        sql = (
            "SELECT p.entry_id, p.amount_cents, p.value_date, p.notification_id, e.kind, e.recorded_at, e.receipt, "  # noqa: S608
            "e.loan_id FROM journal_postings p JOIN journal_entries e ON e.entry_id = p.entry_id "
            f"WHERE {' AND '.join('p.' + w for w in where)} ORDER BY p.notification_id DESC"
        )
        page_params = list(params)
        if limit is not None:
            sql += " LIMIT %s OFFSET %s"
            page_params += [limit, offset]
        entries = self._all(sql, page_params)
        debit = int(totals["debit_cents"]) if totals else 0
        credit = int(totals["credit_cents"]) if totals else 0
        return {
            "account": account,
            "debit_cents": debit,
            "credit_cents": credit,
            "entries": entries,
            "entry_count": int(totals["n"]) if totals else 0,
        }

    def trial_balance(
        self, as_of: dt.date | None, position: int | None = None
    ) -> list[dict[str, Any]]:
        if as_of is None and position is None:
            rows = self._all(
                "SELECT code, sum(debit_cents)::bigint AS debit_cents, sum(credit_cents)::bigint AS credit_cents, "
                "count(*) AS accounts FROM account_balances GROUP BY code ORDER BY code"
            )
        else:
            where: list[str] = []
            params: list[object] = []
            if as_of is not None:
                where.append("value_date <= %s")
                params.append(as_of)
            if position is not None:
                where.append("notification_id <= %s")
                params.append(position)
            rows = self._all(
                "SELECT code, coalesce(sum(greatest(amount_cents, 0)), 0)::bigint AS debit_cents, "  # noqa: S608
                "coalesce(sum(greatest(-amount_cents, 0)), 0)::bigint AS credit_cents, "
                f"count(DISTINCT account_id) AS accounts FROM journal_postings WHERE {' AND '.join(where)} "
                "GROUP BY code ORDER BY code",
                params,
            )
        for row in rows:
            row["account"] = CHART[row["code"]]
        return rows

    def account_balances(self) -> dict[str, int]:
        """Signed (debit - credit) balance of every account, from the running totals."""
        rows = self._all(
            "SELECT account_id, debit_cents - credit_cents AS net FROM account_balances"
        )
        return {r["account_id"]: int(r["net"]) for r in rows}

    def posted_balances(self) -> dict[str, int]:
        """The same balances summed from every posting: the two must agree."""
        rows = self._all(
            "SELECT account_id, sum(amount_cents)::bigint AS net FROM journal_postings GROUP BY account_id"
        )
        return {r["account_id"]: int(r["net"]) for r in rows}

    # Portfolio

    def loan_positions(
        self, as_of: dt.date, officer_id: uuid.UUID | None = None
    ) -> list[LoanPosition]:
        """Every loan disbursed by ``as_of`` and not written off by then, as it stood that day
        (only the officer's own loans when ``officer_id`` is given)."""
        mine, params = _officer_loans("loan_id", officer_id)
        loans = self._all(
            "SELECT loan_id, loan_officer_id, group_id, principal_cents FROM loan_accounts "  # noqa: S608
            f"WHERE disbursed_on <= %s AND (written_off_on IS NULL OR written_off_on > %s){mine} ORDER BY loan_id",
            (as_of, as_of, *params),
        )
        if not loans:
            return []
        ids = [r["loan_id"] for r in loans]
        schedule: dict[uuid.UUID, list[Instalment]] = defaultdict(list)
        for r in self._all(
            "SELECT loan_id, number, due_on, principal_cents, interest_cents, fee_cents FROM loan_instalments "
            "WHERE loan_id = ANY(%s) ORDER BY loan_id, number",
            (ids,),
        ):
            schedule[r["loan_id"]].append(
                Instalment(
                    r["number"],
                    r["due_on"],
                    r["principal_cents"],
                    r["interest_cents"],
                    r["fee_cents"],
                )
            )
        paid: dict[tuple[uuid.UUID, int], Components] = {}
        for r in self._all(
            "SELECT loan_id, number, sum(fee_cents)::bigint AS f, sum(interest_cents)::bigint AS i, "
            "sum(principal_cents)::bigint AS p FROM repayment_lines WHERE loan_id = ANY(%s) AND paid_on <= %s "
            "GROUP BY loan_id, number",
            (ids, as_of),
        ):
            paid[(r["loan_id"], r["number"])] = Components(int(r["f"]), int(r["i"]), int(r["p"]))
        positions = []
        for loan in loans:
            rows = schedule[loan["loan_id"]]
            paid_rows = [paid.get((loan["loan_id"], i.number), Components()) for i in rows]
            arrears = arrears_position(rows, paid_rows, as_of, self.arrears_policy.tolerance_cents)
            outstanding = loan["principal_cents"] - sum(p.principal_cents for p in paid_rows)
            positions.append(
                LoanPosition(
                    loan["loan_id"],
                    loan["loan_officer_id"],
                    loan["group_id"],
                    loan["principal_cents"],
                    outstanding,
                    arrears.days_past_due,
                )
            )
        return positions

    def portfolio(
        self,
        as_of: dt.date,
        period_from: dt.date,
        period_to: dt.date,
        officer_id: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        """The portfolio report; over the officer's own loans only when ``officer_id`` is given."""
        positions = [
            p for p in self.loan_positions(as_of, officer_id) if p.outstanding_principal_cents > 0
        ]
        mine, params = _officer_loans("loan_id", officer_id)
        disbursed = self._all(
            "SELECT loan_officer_id, group_id, count(*) AS n, coalesce(sum(principal_cents), 0)::bigint AS cents "  # noqa: S608
            f"FROM loan_accounts WHERE disbursed_on BETWEEN %s AND %s{mine} GROUP BY loan_officer_id, group_id",
            (period_from, period_to, *params),
        )
        mine_l, params_l = _officer_loans("l.loan_id", officer_id)
        collected = self._all(
            "SELECT l.loan_officer_id, l.group_id, coalesce(sum(r.amount_cents), 0)::bigint AS amount, "  # noqa: S608
            "coalesce(sum(r.principal_cents), 0)::bigint AS principal, "
            "coalesce(sum(r.interest_cents), 0)::bigint AS interest, coalesce(sum(r.fee_cents), 0)::bigint AS fee "
            "FROM repayments r JOIN loan_accounts l ON l.loan_id = r.loan_id "
            f"WHERE NOT r.reversed AND r.paid_on BETWEEN %s AND %s{mine_l} GROUP BY l.loan_officer_id, l.group_id",
            (period_from, period_to, *params_l),
        )
        ever = self._all(
            "SELECT loan_officer_id, group_id, coalesce(sum(principal_cents), 0)::bigint AS disbursed, "  # noqa: S608
            "coalesce(sum(written_off_cents) FILTER (WHERE written_off_on <= %s), 0)::bigint AS written_off "
            f"FROM loan_accounts WHERE disbursed_on <= %s{mine} GROUP BY loan_officer_id, group_id",
            (as_of, as_of, *params),
        )
        summary = self._summarise(positions, disbursed, collected, ever, lambda _: "all")["all"]
        return {
            **summary,
            "byOfficer": self._breakdown(positions, disbursed, collected, ever, "loan_officer_id"),
            "byGroup": self._breakdown(positions, disbursed, collected, ever, "group_id"),
        }

    def _breakdown(
        self,
        positions: list[LoanPosition],
        disbursed: list[dict[str, Any]],
        collected: list[dict[str, Any]],
        ever: list[dict[str, Any]],
        key: str,
    ) -> list[dict[str, Any]]:
        def key_of(item: Any) -> str:
            value = item.get(key) if isinstance(item, dict) else getattr(item, key)
            return str(value) if value else "none"

        grouped = self._summarise(positions, disbursed, collected, ever, key_of)
        field = "officerId" if key == "loan_officer_id" else "groupId"
        return [{field: None if k == "none" else k, **v} for k, v in sorted(grouped.items())]

    def _summarise(
        self,
        positions: list[LoanPosition],
        disbursed: list[dict[str, Any]],
        collected: list[dict[str, Any]],
        ever: list[dict[str, Any]],
        key_of: Any,
    ) -> dict[str, dict[str, Any]]:
        keys = {key_of(x) for x in [*positions, *disbursed, *collected, *ever]} or {key_of({})}
        out: dict[str, dict[str, Any]] = {}
        defaulted_days = self.arrears_policy.defaulted_after_days
        for k in keys:
            mine = [p for p in positions if key_of(p) == k]
            risk = portfolio_risk((p.outstanding_principal_cents, p.days_past_due) for p in mine)
            par = risk.par()
            d = [r for r in disbursed if key_of(r) == k]
            c = [r for r in collected if key_of(r) == k]
            e = [r for r in ever if key_of(r) == k]
            ever_disbursed = sum(int(r["disbursed"]) for r in e)
            written_off = sum(int(r["written_off"]) for r in e)
            defaulted = sum(
                p.outstanding_principal_cents for p in mine if p.days_past_due >= defaulted_days
            )
            out[k] = {
                "outstandingPrincipalCents": risk.gross_outstanding_principal_cents,
                "loansOutstanding": len(mine),
                "disbursed": {
                    "count": sum(int(r["n"]) for r in d),
                    "principalCents": sum(int(r["cents"]) for r in d),
                },
                "collected": {
                    "amountCents": sum(int(r["amount"]) for r in c),
                    "principalCents": sum(int(r["principal"]) for r in c),
                    "interestCents": sum(int(r["interest"]) for r in c),
                    "feeCents": sum(int(r["fee"]) for r in c),
                },
                "par": {
                    name: {"atRiskCents": risk.at_risk_cents[name], "ratio": str(par[name])}
                    for name in par
                },
                "aging": {
                    name: {
                        "count": risk.aging_counts[name],
                        "principalCents": risk.aging_cents[name],
                    }
                    for name in risk.aging_cents
                },
                "writtenOffCents": written_off,
                "defaultedOutstandingCents": defaulted,
                "defaultRate": str(ratio(written_off + defaulted, ever_disbursed)),
            }
        return out
