"""A fast rebuild of every read model from the event store, for ``hazina-ledger replay``.

The live projection applies one event at a time with plain SQL. A rebuild reads the events table
in pages, decodes each row's JSON once, and writes the frequent events (loan terms, disbursements,
repayments, receipts, deposits and their journal entries) with COPY and one set-based statement
per table per page; any other event first flushes the page, then goes through the live
projection's own code. Memory is bounded by the page, not the store. Because it is a second,
independent implementation, comparing its tables with the live ones (``replay``) checks both.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent
from psycopg_pool import ConnectionPool

from hazina_ledger.adapters.read_models import apply_event, truncate_read_models
from hazina_ledger.application.ports import business_date
from hazina_ledger.domain.accounts import account_class
from hazina_servicekit.outbox import event_id_of

ProgressCallback = Callable[[int, int], None]

LOAN = "hazina.ledger.LoanAccount."
TERMS = LOAN + "TermsRecorded"
DISBURSED = LOAN + "Disbursed"
REPAYMENT = LOAN + "RepaymentPosted"
REPAID = LOAN + "Repaid"
RECORDED = "hazina.ledger.Receipt.Recorded"
OPENED = "hazina.ledger.SavingsAccount.Opened"
DEPOSITED = "hazina.ledger.SavingsAccount.Deposited"
FAST = {TERMS, DISBURSED, REPAYMENT, REPAID, RECORDED, OPENED, DEPOSITED}
_DATE_FIELDS = (
    "paid_on",
    "disbursed_on",
    "reversed_on",
    "written_off_on",
    "deposited_on",
    "approved_on",
)


def _value_date(data: dict[str, Any], timestamp: str) -> str:
    """The same business date the live projection gives an event (read_models._value_date)."""
    for name in _DATE_FIELDS:
        if data.get(name):
            return str(data[name])
    if data.get("paid_at"):
        return business_date(dt.datetime.fromisoformat(data["paid_at"])).isoformat()
    return business_date(dt.datetime.fromisoformat(timestamp)).isoformat()


@dataclass
class _Page:
    loans: list[tuple[Any, ...]] = field(default_factory=list)
    disbursed: list[tuple[Any, ...]] = field(default_factory=list)
    instalments: list[tuple[Any, ...]] = field(default_factory=list)
    repayments: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    paid: dict[str, list[int]] = field(
        default_factory=dict
    )  # loan -> fee, int, prin, susp, recov, amount, outst
    repaid: dict[str, str] = field(default_factory=dict)
    touched: dict[str, str] = field(default_factory=dict)  # loan -> timestamp of its last event
    receipts: list[tuple[Any, ...]] = field(default_factory=list)
    savings_ids: list[tuple[Any, ...]] = field(default_factory=list)
    savings: dict[str, tuple[int, str]] = field(
        default_factory=dict
    )  # client -> balance, updated_at
    savings_new: list[str] = field(default_factory=list)
    savings_rows: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    postings: list[tuple[Any, ...]] = field(default_factory=list)
    balances: dict[str, list[Any]] = field(
        default_factory=lambda: defaultdict(lambda: [None, 0, 0])
    )

    def __bool__(self) -> bool:
        return bool(
            self.loans
            or self.touched
            or self.receipts
            or self.savings_ids
            or self.savings
            or self.entries
        )


def _copy(cur: psycopg.Cursor[Any], table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # fixed names only
            for row in rows:
                copy.write_row(row)


class BulkRebuild:
    def __init__(
        self, app: Application, pool: ConnectionPool, projection_name: str, page_size: int = 10_000
    ) -> None:
        self.app = app
        self.pool = pool
        self.name = projection_name
        self.page_size = page_size
        self.table = app.recorder.events_table_name  # type: ignore[attr-defined]

    def run(
        self, progress: ProgressCallback | None = None, source: ConnectionPool | None = None
    ) -> int:
        """Truncate the read models, then rebuild them from every event; returns events applied."""
        with self.pool.connection() as conn, conn.transaction():
            truncate_read_models(conn)
            conn.execute(
                "UPDATE projection_positions SET notification_id = 0 WHERE projection = %s",
                (self.name,),
            )
        reader = source or self.pool
        position, total = 0, 0
        with reader.connection() as read_conn:
            while True:
                rows = read_conn.execute(
                    f"SELECT notification_id, originator_id, originator_version, topic, state FROM {self.table} "  # noqa: S608
                    "WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                    (position, self.page_size),
                ).fetchall()
                if not rows:
                    return total
                with self.pool.connection() as conn, conn.transaction():
                    self._apply_page(conn, rows)
                    position = rows[-1][0]
                    conn.execute(
                        "UPDATE projection_positions SET notification_id = %s WHERE projection = %s",
                        (position, self.name),
                    )
                total += len(rows)
                if progress is not None:
                    progress(position, total)

    def _apply_page(self, conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
        page = _Page()
        for position, originator_id, version, topic, state in rows:
            if topic not in FAST:
                if page:
                    self._flush(conn, page)
                    page = _Page()
                stored = StoredEvent(originator_id, version, topic, bytes(state))
                apply_event(self.app.mapper.to_domain_event(stored), conn, position)
                continue
            data = json.loads(state)
            self._buffer(page, position, originator_id, version, topic, data)
        if page:
            self._flush(conn, page)

    def _buffer(
        self,
        page: _Page,
        position: int,
        originator_id: Any,
        version: int,
        topic: str,
        data: dict[str, Any],
    ) -> None:
        at = data["timestamp"]["_data_"]
        oid = str(originator_id)
        if topic == REPAYMENT:
            lines = data["lines"]
            fee = sum(r[1] for r in lines)
            interest = sum(r[2] for r in lines)
            principal = sum(r[3] for r in lines)
            page.repayments.append(
                (
                    data["receipt"],
                    oid,
                    data["amount_cents"],
                    data["method"],
                    data["source_account"],
                    data["paid_on"],
                    at,
                    fee,
                    interest,
                    principal,
                    data["suspense_cents"],
                    data["recovery_cents"],
                    data["outstanding_cents"],
                    position,
                )
            )
            page.lines += [
                (data["receipt"], oid, n, data["paid_on"], f, i, p) for n, f, i, p in lines
            ]
            paid = page.paid.get(oid)
            if paid is None:
                page.paid[oid] = [
                    fee,
                    interest,
                    principal,
                    data["suspense_cents"],
                    data["recovery_cents"],
                    data["amount_cents"],
                    data["outstanding_cents"],
                ]
            else:
                paid[0] += fee
                paid[1] += interest
                paid[2] += principal
                paid[3] += data["suspense_cents"]
                paid[4] += data["recovery_cents"]
                paid[5] += data["amount_cents"]
                paid[6] = data["outstanding_cents"]
            page.touched[oid] = at
        elif topic == RECORDED:
            page.receipts.append(
                (
                    data["receipt"],
                    oid,
                    data["amount_cents"],
                    data["target"],
                    data["target_id"],
                    data["method"],
                    data["channel"],
                    "unallocated" if data["target"] == "unallocated" else "posted",
                    data["paid_at"],
                    data["account_reference"],
                    data["recorded_by"],
                    at,
                )
            )
        elif topic == TERMS:
            page.loans.append(
                (
                    oid,
                    data["client_id"],
                    data["group_id"],
                    data["loan_officer_id"],
                    data["account_number"],
                    "approved",
                    data["approved_principal_cents"],
                    json.dumps(data["terms"]),
                    data["strategy"],
                    data["approved_at"],
                    at,
                )
            )
            page.touched[oid] = at
        elif topic == DISBURSED:
            rows = data["instalments"]
            interest = sum(r[3] for r in rows)
            fees = sum(r[4] for r in rows)
            page.disbursed.append(
                (
                    oid,
                    data["disbursement_id"],
                    data["mpesa_receipt"],
                    data["principal_cents"],
                    interest,
                    fees,
                    data["charge_cents"],
                    data["disbursed_on"],
                    rows[-1][1],
                    data["principal_cents"] + interest + fees,
                )
            )
            page.instalments += [(oid, *row) for row in rows]
            page.touched[oid] = at
        elif topic == REPAID:
            page.repaid[oid] = data["repaid_on"]
            page.touched[oid] = at
        elif topic == OPENED:
            page.savings_ids.append((oid, data["client_id"]))
            page.savings_new.append(data["client_id"])
            page.savings[data["client_id"]] = (0, at)
        elif topic == DEPOSITED:
            client = data["client_id"]
            page.savings_rows.append(
                (
                    str(event_id_of(originator_id, version)),
                    client,
                    "deposit",
                    data["amount_cents"],
                    data["balance_after_cents"],
                    data["receipt"],
                    data["method"],
                    data["notes"],
                    data["recorded_by"],
                    _value_date(data, at),
                    at,
                    position,
                )
            )
            page.savings[client] = (data["balance_after_cents"], at)
        legs = data.get("journal")
        if legs:
            self._buffer_journal(page, position, originator_id, version, topic, data, at, legs)

    @staticmethod
    def _buffer_journal(
        page: _Page,
        position: int,
        originator_id: Any,
        version: int,
        topic: str,
        data: dict[str, Any],
        at: str,
        legs: list[list[Any]],
    ) -> None:
        entry_id = str(event_id_of(originator_id, version))
        value_date = _value_date(data, at)
        page.entries.append(
            (
                entry_id,
                position,
                topic.rsplit(".", 1)[1],
                value_date,
                at,
                str(originator_id) if topic.startswith(LOAN) else None,
                data.get("client_id"),
                data.get("receipt"),
            )
        )
        for account, amount in legs:
            code = account_class(account).code
            page.postings.append((entry_id, account, code, amount, value_date, position))
            balance = page.balances[account]
            balance[0] = code
            if amount > 0:
                balance[1] += amount
            else:
                balance[2] -= amount

    def _flush(self, conn: psycopg.Connection[Any], page: _Page) -> None:
        with conn.cursor() as cur:
            _copy(
                cur,
                "loan_accounts",
                "loan_id, client_id, group_id, loan_officer_id, account_number, status, "
                "approved_principal_cents, terms, strategy, approved_at, last_event_at",
                page.loans,
            )
            if page.disbursed:
                columns = list(zip(*page.disbursed, strict=True))
                cur.execute(
                    """
                    UPDATE loan_accounts l SET status = 'current', disbursement_id = d.did, mpesa_receipt = d.mr,
                        principal_cents = d.p, interest_cents = d.i, fee_cents = d.f, charge_cents = d.c,
                        disbursed_on = d.don, maturity_on = d.mon, outstanding_cents = d.o
                    FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[],
                                %s::bigint[], %s::date[], %s::date[], %s::bigint[])
                        AS d(loan_id, did, mr, p, i, f, c, don, mon, o)
                    WHERE l.loan_id = d.loan_id
                    """,
                    [list(c) for c in columns],
                )
            _copy(
                cur,
                "loan_instalments",
                "loan_id, number, due_on, principal_cents, interest_cents, fee_cents",
                page.instalments,
            )
            _copy(
                cur,
                "repayments",
                "receipt, loan_id, amount_cents, method, source_account, paid_on, recorded_at, "
                "fee_cents, interest_cents, principal_cents, suspense_cents, recovery_cents, "
                "outstanding_after_cents, notification_id",
                page.repayments,
            )
            _copy(
                cur,
                "repayment_lines",
                "receipt, loan_id, number, paid_on, fee_cents, interest_cents, principal_cents",
                page.lines,
            )
            if page.paid:
                loans = list(page.paid)
                sums = list(zip(*(page.paid[k] for k in loans), strict=True))
                cur.execute(
                    """
                    UPDATE loan_accounts l SET paid_fee_cents = paid_fee_cents + d.f,
                        paid_interest_cents = paid_interest_cents + d.i, paid_principal_cents = paid_principal_cents + d.p,
                        suspense_cents = suspense_cents + d.s, recovered_cents = recovered_cents + d.r,
                        total_paid_cents = total_paid_cents + d.a, outstanding_cents = d.o
                    FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[],
                                %s::bigint[], %s::bigint[]) AS d(loan_id, f, i, p, s, r, a, o)
                    WHERE l.loan_id = d.loan_id
                    """,
                    [loans, *[list(c) for c in sums]],
                )
            if page.repaid:
                cur.execute(
                    "UPDATE loan_accounts l SET status = 'repaid', days_past_due = 0, repaid_on = d.repaid_on "
                    "FROM unnest(%s::uuid[], %s::date[]) AS d(loan_id, repaid_on) WHERE l.loan_id = d.loan_id",
                    [list(page.repaid), list(page.repaid.values())],
                )
            if page.touched:
                cur.execute(
                    "UPDATE loan_accounts l SET last_event_at = d.at "
                    "FROM unnest(%s::uuid[], %s::timestamptz[]) AS d(loan_id, at) WHERE l.loan_id = d.loan_id",
                    [list(page.touched), list(page.touched.values())],
                )
            _copy(
                cur,
                "receipts",
                "receipt, receipt_uuid, amount_cents, target, target_id, method, channel, status, "
                "paid_at, account_reference, recorded_by, recorded_at",
                page.receipts,
            )
            _copy(cur, "savings_account_ids", "account_id, client_id", page.savings_ids)
            _copy(
                cur,
                "savings_accounts",
                "client_id, balance_cents, updated_at",
                [(c, 0, page.savings[c][1]) for c in page.savings_new],
            )
            _copy(
                cur,
                "savings_transactions",
                "entry_id, client_id, kind, amount_cents, balance_after_cents, "
                "transaction_id, method, notes, recorded_by, value_date, created_at, notification_id",
                page.savings_rows,
            )
            if page.savings:
                clients = list(page.savings)
                cur.execute(
                    "UPDATE savings_accounts s SET balance_cents = d.b, updated_at = d.at "
                    "FROM unnest(%s::uuid[], %s::bigint[], %s::timestamptz[]) AS d(client_id, b, at) "
                    "WHERE s.client_id = d.client_id",
                    [
                        clients,
                        [page.savings[c][0] for c in clients],
                        [page.savings[c][1] for c in clients],
                    ],
                )
            _copy(
                cur,
                "journal_entries",
                "entry_id, notification_id, kind, value_date, recorded_at, loan_id, "
                "client_id, receipt",
                page.entries,
            )
            _copy(
                cur,
                "journal_postings",
                "entry_id, account_id, code, amount_cents, value_date, notification_id",
                page.postings,
            )
            if page.balances:
                accounts = list(page.balances)
                values = [page.balances[a] for a in accounts]
                cur.execute(
                    """
                    INSERT INTO account_balances (account_id, code, debit_cents, credit_cents)
                    SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[])
                    ON CONFLICT (account_id) DO UPDATE SET
                        debit_cents = account_balances.debit_cents + EXCLUDED.debit_cents,
                        credit_cents = account_balances.credit_cents + EXCLUDED.credit_cents
                    """,
                    [
                        accounts,
                        [v[0] for v in values],
                        [v[1] for v in values],
                        [v[2] for v in values],
                    ],
                )
