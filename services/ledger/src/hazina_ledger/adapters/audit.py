"""Audit checks over a set of read models: the books balance, loans agree with their schedules,
running totals agree with postings, and a rebuild agrees with the live tables."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from psycopg import sql
from psycopg_pool import ConnectionPool

from hazina_ledger.adapters.read_models import READ_MODEL_TABLES
from hazina_ledger.application.ledger import Ledger
from hazina_ledger.application.unit_of_work import UnitOfWork
from hazina_ledger.domain.loan_account import WRITTEN_OFF, LoanAccount


@dataclass
class AuditReport:
    checks: dict[str, int] = field(default_factory=dict)  # check name -> differences found
    details: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    def record(self, name: str, problems: list[str]) -> None:
        self.checks[name] = len(problems)
        self.details += [f"{name}: {p}" for p in problems[:20]]

    @property
    def ok(self) -> bool:
        return all(v == 0 for v in self.checks.values())


def check_books(pool: ConnectionPool, report: AuditReport) -> None:
    with pool.connection() as conn:
        totals = conn.execute(
            "SELECT coalesce(sum(debit_cents), 0), coalesce(sum(credit_cents), 0) FROM account_balances"
        ).fetchone()
        unbalanced = conn.execute(
            "SELECT entry_id, sum(amount_cents) FROM journal_postings GROUP BY entry_id HAVING sum(amount_cents) <> 0"
        ).fetchall()
        drift = conn.execute(
            """
            SELECT coalesce(b.account_id, p.account_id), b.net, p.net FROM
                (SELECT account_id, debit_cents - credit_cents AS net FROM account_balances) b
                FULL JOIN (SELECT account_id, sum(amount_cents) AS net FROM journal_postings GROUP BY account_id) p
                ON p.account_id = b.account_id
            WHERE b.net IS DISTINCT FROM p.net
            """
        ).fetchall()
    debit, credit = (int(totals[0]), int(totals[1])) if totals else (0, 0)
    report.record(
        "trial_balance_is_zero", [] if debit == credit else [f"debits {debit} != credits {credit}"]
    )
    report.record("every_entry_balances", [f"entry {e} is off by {v}" for e, v in unbalanced])
    report.record(
        "running_totals_equal_postings",
        [f"account {a}: running {b}, postings {p}" for a, b, p in drift],
    )


def check_held_disbursements(pool: ConnectionPool, report: AuditReport) -> None:
    """Each loan's held-for-review suspense (1035) is exactly its payouts still waiting for staff,
    and its to-recover account (1036) exactly those marked for recovery."""
    with pool.connection() as conn:
        rows = conn.execute(
            """
            SELECT coalesce(b.loan_id, m.loan_id), coalesce(b.code, m.code), b.net, m.due FROM
                (SELECT split_part(account_id, ':', 2) AS loan_id, code, debit_cents - credit_cents AS net
                 FROM account_balances WHERE code IN ('1035', '1036')) b
                FULL JOIN (SELECT loan_id::text AS loan_id,
                                  CASE status WHEN 'held' THEN '1035' ELSE '1036' END AS code,
                                  sum(amount_cents) AS due
                           FROM disbursement_mismatches WHERE status IN ('held', 'recovery')
                           GROUP BY 1, 2) m
                ON m.loan_id = b.loan_id AND m.code = b.code
            WHERE coalesce(b.net, 0) <> coalesce(m.due, 0)
            """
        ).fetchall()
        held = conn.execute(
            "SELECT count(*), coalesce(sum(amount_cents), 0) FROM disbursement_mismatches "
            "WHERE status = 'held'"
        ).fetchone()
    report.record(
        "held_disbursements_equal_their_suspense",
        [
            f"loan {loan} account {code}: balance {net}, held payouts {due}"
            for loan, code, net, due in rows
        ],
    )
    if held and held[0]:
        report.details.append(
            f"{held[0]} disbursements ({held[1]} cents) held for staff: not the approved principal"
        )


CHUNK = 10  # loans read back from the event store at a time: memory is bounded by loan history, not store


def check_loans(pool: ConnectionPool, ledger: Ledger, report: AuditReport) -> None:
    """Each loan's outstanding = its schedule minus its allocations, in the event store, the read
    model and the general ledger's per-loan receivable accounts alike."""
    with pool.connection() as conn:
        loans = conn.execute(
            """
            SELECT l.loan_id, l.status, l.outstanding_cents,
                   coalesce(s.due, 0) - coalesce(p.paid, 0) AS schedule_minus_paid
            FROM loan_accounts l
            LEFT JOIN (SELECT loan_id, sum(principal_cents + interest_cents + fee_cents) AS due
                       FROM loan_instalments GROUP BY loan_id) s ON s.loan_id = l.loan_id
            LEFT JOIN (SELECT loan_id, sum(principal_cents + interest_cents + fee_cents) AS paid
                       FROM repayment_lines GROUP BY loan_id) p ON p.loan_id = l.loan_id
            WHERE l.status NOT IN ('approved', 'cancelled')
            """
        ).fetchall()
        receivable: dict[str, int] = defaultdict(int)
        for account_id, net in conn.execute(
            "SELECT account_id, debit_cents - credit_cents FROM account_balances WHERE code IN ('1100', '1110', '1120')"
        ).fetchall():
            receivable[account_id.split(":", 1)[1]] += int(net)
    problems: list[str] = []
    ids = [row[0] for row in loans]
    uow = UnitOfWork(ledger)
    for start in range(0, len(ids), CHUNK):
        uow.preload(ledger.pool, ids[start : start + CHUNK], build=True)
        for loan_id, status, outstanding, schedule_minus_paid in loans[start : start + CHUNK]:
            aggregate = uow.get(LoanAccount, loan_id)
            truth = aggregate.outstanding.total_cents if aggregate else None
            expected = 0 if status == WRITTEN_OFF else int(schedule_minus_paid)
            gl = receivable.get(str(loan_id), 0)
            if len({truth, int(outstanding), expected, gl}) != 1:
                problems.append(
                    f"loan {loan_id}: event store {truth}, read model {outstanding}, "
                    f"schedule - allocations {expected}, receivable accounts {gl}"
                )
        uow.seen.clear()
    report.record("loan_outstanding_equals_schedule_minus_allocations", problems)


def compare_schemas(pool: ConnectionPool, live: str, rebuilt: str, report: AuditReport) -> None:
    problems: list[str] = []
    with pool.connection() as conn:
        for table in READ_MODEL_TABLES:
            query = sql.SQL(
                "SELECT count(*) FROM ((SELECT * FROM {a}.{t} EXCEPT ALL SELECT * FROM {b}.{t}) "
                "UNION ALL (SELECT * FROM {b}.{t} EXCEPT ALL SELECT * FROM {a}.{t})) d"
            ).format(a=sql.Identifier(live), b=sql.Identifier(rebuilt), t=sql.Identifier(table))
            row = conn.execute(query).fetchone()
            differing = int(row[0]) if row else 0
            if differing:
                problems.append(f"{table}: {differing} rows differ")
    report.record("rebuilt_equals_live", problems)


def loan_ids(pool: ConnectionPool) -> list[uuid.UUID]:
    with pool.connection() as conn:
        return [
            r[0]
            for r in conn.execute("SELECT loan_id FROM loan_accounts ORDER BY loan_id").fetchall()
        ]
