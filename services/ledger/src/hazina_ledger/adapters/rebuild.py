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

from hazina_ledger.adapters.read_models import apply_event, entry_id_of, truncate_read_models
from hazina_ledger.application.ports import business_date
from hazina_ledger.domain.accounts import account_class

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
    "resolved_on",
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
                    str(entry_id_of(originator_id, version)),
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
        entry_id = str(entry_id_of(originator_id, version))
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


# The same rebuild done by PostgreSQL itself: the frequent events of a range of positions are parsed
# once into a temporary table and projected with set-based statements, so no row crosses into
# Python. Events outside FAST still go one by one through the live projection's code, in order;
# they split the store into segments, and a segment's statements only run once all before it ran.

_CHUNK = """
CREATE TEMP TABLE chunk ON COMMIT DROP AS
SELECT e.notification_id AS n, e.originator_id AS oid, e.originator_version AS v, e.topic, j.s, t.ts,
       CASE WHEN j.journaled THEN md5(e.originator_id::text || ':' || e.originator_version)::uuid END AS entry_id,
       CASE WHEN j.journaled THEN coalesce(
           (coalesce(j.s->>'paid_on', j.s->>'disbursed_on', j.s->>'reversed_on', j.s->>'written_off_on',
                     j.s->>'deposited_on', j.s->>'approved_on', j.s->>'resolved_on'))::date,
           ((j.s->>'paid_at')::timestamptz AT TIME ZONE 'UTC' + interval '3 hours')::date,
           (t.ts AT TIME ZONE 'UTC' + interval '3 hours')::date
       ) END AS value_date
FROM {events} e,
     LATERAL (SELECT s, coalesce(jsonb_array_length(s->'journal'), 0) > 0 AS journaled
              FROM (SELECT convert_from(e.state, 'UTF8')::jsonb AS s OFFSET 0) parsed) j,  -- OFFSET 0: parse once
     LATERAL (SELECT (j.s->'timestamp'->>'_data_')::timestamptz AS ts OFFSET 0) t
WHERE e.notification_id > %(lo)s AND e.notification_id <= %(hi)s
"""

_STATEMENTS = [
    # loans approved
    """INSERT INTO loan_accounts (loan_id, client_id, group_id, loan_officer_id, account_number, status,
           approved_principal_cents, terms, strategy, approved_at, last_event_at)
       SELECT oid, (s->>'client_id')::uuid, (s->>'group_id')::uuid, (s->>'loan_officer_id')::uuid,
              s->>'account_number', 'approved', (s->>'approved_principal_cents')::bigint, s->'terms',
              s->>'strategy', (s->>'approved_at')::timestamptz, ts
       FROM chunk WHERE topic = 'hazina.ledger.LoanAccount.TermsRecorded' ORDER BY n""",
    # disbursed: the loan opens with its schedule
    """UPDATE loan_accounts l SET status = 'current', disbursement_id = x.s->>'disbursement_id',
           mpesa_receipt = x.s->>'mpesa_receipt', principal_cents = (x.s->>'principal_cents')::bigint,
           interest_cents = x.i, fee_cents = x.f, charge_cents = (x.s->>'charge_cents')::bigint,
           disbursed_on = (x.s->>'disbursed_on')::date, maturity_on = (x.s->'instalments'->-1->>1)::date,
           outstanding_cents = (x.s->>'principal_cents')::bigint + x.i + x.f
       FROM (SELECT oid, s,
                    (SELECT sum((r->>3)::bigint) FROM jsonb_array_elements(s->'instalments') r) AS i,
                    (SELECT sum((r->>4)::bigint) FROM jsonb_array_elements(s->'instalments') r) AS f
             FROM chunk WHERE topic = 'hazina.ledger.LoanAccount.Disbursed') x
       WHERE l.loan_id = x.oid""",
    """INSERT INTO loan_instalments (loan_id, number, due_on, principal_cents, interest_cents, fee_cents)
       SELECT oid, (r->>0)::int, (r->>1)::date, (r->>2)::bigint, (r->>3)::bigint, (r->>4)::bigint
       FROM chunk, jsonb_array_elements(s->'instalments') r
       WHERE topic = 'hazina.ledger.LoanAccount.Disbursed'""",
    # repayments and what each paid on each instalment
    """INSERT INTO repayments (receipt, loan_id, amount_cents, method, source_account, paid_on, recorded_at,
           fee_cents, interest_cents, principal_cents, suspense_cents, recovery_cents, outstanding_after_cents,
           notification_id)
       SELECT s->>'receipt', oid, (s->>'amount_cents')::bigint, s->>'method', s->>'source_account',
              (s->>'paid_on')::date, ts, coalesce(t.f, 0), coalesce(t.i, 0), coalesce(t.p, 0),
              (s->>'suspense_cents')::bigint, (s->>'recovery_cents')::bigint, (s->>'outstanding_cents')::bigint, n
       FROM chunk, LATERAL (SELECT sum((r->>1)::bigint) AS f, sum((r->>2)::bigint) AS i, sum((r->>3)::bigint) AS p
                            FROM jsonb_array_elements(s->'lines') r) t
       WHERE topic = 'hazina.ledger.LoanAccount.RepaymentPosted'""",
    """INSERT INTO repayment_lines (receipt, loan_id, number, paid_on, fee_cents, interest_cents, principal_cents)
       SELECT s->>'receipt', oid, (r->>0)::int, (s->>'paid_on')::date, (r->>1)::bigint, (r->>2)::bigint,
              (r->>3)::bigint
       FROM chunk, jsonb_array_elements(s->'lines') r
       WHERE topic = 'hazina.ledger.LoanAccount.RepaymentPosted'""",
    """UPDATE loan_accounts l SET paid_fee_cents = paid_fee_cents + x.f,
           paid_interest_cents = paid_interest_cents + x.i, paid_principal_cents = paid_principal_cents + x.p,
           suspense_cents = suspense_cents + x.su, recovered_cents = recovered_cents + x.re,
           total_paid_cents = total_paid_cents + x.a, outstanding_cents = x.o
       FROM (SELECT oid, sum(coalesce(t.f, 0)) AS f, sum(coalesce(t.i, 0)) AS i, sum(coalesce(t.p, 0)) AS p,
                    sum((s->>'suspense_cents')::bigint) AS su, sum((s->>'recovery_cents')::bigint) AS re,
                    sum((s->>'amount_cents')::bigint) AS a,
                    (array_agg((s->>'outstanding_cents')::bigint ORDER BY n DESC))[1] AS o
             FROM chunk, LATERAL (SELECT sum((r->>1)::bigint) AS f, sum((r->>2)::bigint) AS i,
                                         sum((r->>3)::bigint) AS p FROM jsonb_array_elements(s->'lines') r) t
             WHERE topic = 'hazina.ledger.LoanAccount.RepaymentPosted' GROUP BY oid) x
       WHERE l.loan_id = x.oid""",
    """UPDATE loan_accounts l SET status = 'repaid', days_past_due = 0, repaid_on = (c.s->>'repaid_on')::date
       FROM chunk c WHERE c.topic = 'hazina.ledger.LoanAccount.Repaid' AND l.loan_id = c.oid""",
    """UPDATE loan_accounts l SET last_event_at = x.ts
       FROM (SELECT DISTINCT ON (oid) oid, ts FROM chunk WHERE topic LIKE 'hazina.ledger.LoanAccount.%%'
             ORDER BY oid, n DESC) x
       WHERE l.loan_id = x.oid""",
    # receipts
    """INSERT INTO receipts (receipt, receipt_uuid, amount_cents, target, target_id, method, channel, status,
           paid_at, account_reference, recorded_by, recorded_at)
       SELECT s->>'receipt', oid, (s->>'amount_cents')::bigint, s->>'target', (s->>'target_id')::uuid,
              s->>'method', s->>'channel', CASE WHEN s->>'target' = 'unallocated' THEN 'unallocated' ELSE 'posted' END,
              (s->>'paid_at')::timestamptz, s->>'account_reference', (s->>'recorded_by')::uuid, ts
       FROM chunk WHERE topic = 'hazina.ledger.Receipt.Recorded'""",
    # savings
    """INSERT INTO savings_account_ids (account_id, client_id)
       SELECT oid, (s->>'client_id')::uuid FROM chunk WHERE topic = 'hazina.ledger.SavingsAccount.Opened'""",
    """INSERT INTO savings_accounts (client_id, balance_cents, updated_at)
       SELECT (s->>'client_id')::uuid, 0, ts FROM chunk WHERE topic = 'hazina.ledger.SavingsAccount.Opened'""",
    """INSERT INTO savings_transactions (entry_id, client_id, kind, amount_cents, balance_after_cents,
           transaction_id, method, notes, recorded_by, value_date, created_at, notification_id)
       SELECT entry_id, (s->>'client_id')::uuid, 'deposit', (s->>'amount_cents')::bigint,
              (s->>'balance_after_cents')::bigint, s->>'receipt', s->>'method', s->>'notes',
              (s->>'recorded_by')::uuid, value_date, ts, n
       FROM chunk WHERE topic = 'hazina.ledger.SavingsAccount.Deposited'""",
    """UPDATE savings_accounts a SET balance_cents = x.b, updated_at = x.ts
       FROM (SELECT DISTINCT ON (s->>'client_id') (s->>'client_id')::uuid AS client_id, ts,
                    coalesce((s->>'balance_after_cents')::bigint, 0) AS b
             FROM chunk WHERE topic IN ('hazina.ledger.SavingsAccount.Opened',
                                        'hazina.ledger.SavingsAccount.Deposited')
             ORDER BY s->>'client_id', n DESC) x
       WHERE a.client_id = x.client_id""",
    # the journal
    """INSERT INTO journal_entries (entry_id, notification_id, kind, value_date, recorded_at, loan_id, client_id,
           receipt)
       SELECT entry_id, n, regexp_replace(topic, '^.*\\.', ''), value_date, ts,
              CASE WHEN topic LIKE 'hazina.ledger.LoanAccount.%%' THEN oid END, (s->>'client_id')::uuid,
              s->>'receipt'
       FROM chunk WHERE entry_id IS NOT NULL""",
    """INSERT INTO journal_postings (entry_id, account_id, code, amount_cents, value_date, notification_id)
       SELECT entry_id, leg->>0, split_part(leg->>0, ':', 1), (leg->>1)::bigint, value_date, n
       FROM chunk, jsonb_array_elements(s->'journal') leg WHERE entry_id IS NOT NULL""",
    """INSERT INTO account_balances (account_id, code, debit_cents, credit_cents)
       SELECT leg->>0, split_part(leg->>0, ':', 1), sum(greatest((leg->>1)::bigint, 0)),
              sum(greatest(-(leg->>1)::bigint, 0))
       FROM chunk, jsonb_array_elements(s->'journal') leg WHERE entry_id IS NOT NULL
       GROUP BY leg->>0
       ON CONFLICT (account_id) DO UPDATE SET
           debit_cents = account_balances.debit_cents + EXCLUDED.debit_cents,
           credit_cents = account_balances.credit_cents + EXCLUDED.credit_cents""",
]


class SqlRebuild:
    """Rebuild with PostgreSQL doing the projecting; plain-JSON event stores only (no cipher)."""

    def __init__(
        self,
        app: Application,
        pool: ConnectionPool,
        projection_name: str,
        events_table: str,
        chunk_size: int = 50_000,
    ) -> None:
        self.app = app
        self.pool = pool
        self.name = projection_name
        self.events_table = events_table  # schema-qualified: the rebuild writes into another schema
        self.chunk_size = chunk_size

    @staticmethod
    def usable(app: Application) -> bool:
        mapper = app.mapper
        return (
            getattr(mapper, "cipher", None) is None and getattr(mapper, "compressor", None) is None
        )

    def run(self, progress: ProgressCallback | None = None) -> int:
        with self.pool.connection() as conn, conn.transaction():
            truncate_read_models(conn)
            conn.execute(
                "UPDATE projection_positions SET notification_id = 0 WHERE projection = %s",
                (self.name,),
            )
        with self.pool.connection() as conn:
            fast = list(FAST)
            top = conn.execute(
                f"SELECT coalesce(max(notification_id), 0) FROM {self.events_table}"  # noqa: S608
            ).fetchone()
            slow_ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT notification_id FROM {self.events_table} WHERE NOT (topic = ANY(%s)) "  # noqa: S608
                    "ORDER BY notification_id",
                    (fast,),
                ).fetchall()
            ]
        last = int(top[0]) if top else 0
        total, position = 0, 0
        for stop in [*slow_ids, None]:
            end = last if stop is None else stop - 1
            while position < end:
                hi = min(position + self.chunk_size, end)
                total += self._fast_range(position, hi)
                position = hi
                if progress is not None:
                    progress(position, total)
            if stop is not None:
                total += self._slow_event(stop)
                position = stop
                if progress is not None:
                    progress(position, total)
        return total

    def _fast_range(self, lo: int, hi: int) -> int:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(_CHUNK.format(events=self.events_table), {"lo": lo, "hi": hi})  # type: ignore[arg-type]
            row = conn.execute("SELECT count(*) FROM chunk").fetchone()
            count = int(row[0]) if row else 0
            if count:
                for statement in _STATEMENTS:
                    conn.execute(statement)  # type: ignore[arg-type]
            conn.execute(
                "UPDATE projection_positions SET notification_id = %s WHERE projection = %s",
                (hi, self.name),
            )
        return count

    def _slow_event(self, position: int) -> int:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {self.events_table} "  # noqa: S608
                "WHERE notification_id = %s",
                (position,),
            ).fetchone()
            if row is None:  # pragma: no cover - ids come from the same table
                return 0
            stored = StoredEvent(row[0], row[1], row[2], bytes(row[3]))
            apply_event(self.app.mapper.to_domain_event(stored), conn, position)
            conn.execute(
                "UPDATE projection_positions SET notification_id = %s WHERE projection = %s",
                (position, self.name),
            )
        return 1
