"""The staff analytics (``/api/analytics/*``): the ledger's projections plus what it learns from
origination's and identity's events, kept in tables of its own.

Origination's loan applications (``LoanInitiated``, ``LoanApproved``, ``LoanRejected``,
``LoanCancelled``) and credit assessments (``CreditAssessed``) arrive on the durable consumer
``ledger-analytics``; staff names and roles (``UserCreated``, ``UserRoleChanged``) on
``ledger-staff``. Each is an upsert keyed by
the record's id, so a redelivery changes nothing, and a new durable reads its stream from the
start, so what happened before it existed is learned too. Like ``clients`` and the ownership
tables these are fed by consumers, not rebuilt from the ledger's own log (``replay`` leaves them
alone). The figures' definitions: the ledger's README, "Analytics".
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
import structlog
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.identity import UserCreated, UserRoleChanged
from hazina_contracts.events.origination import (
    CreditAssessed,
    LoanApproved,
    LoanCancelled,
    LoanInitiated,
    LoanRejected,
)
from hazina_ledger.adapters.views import LedgerViews
from hazina_ledger.domain.analytics import (
    SCORE_BANDS,
    change_percent,
    default_rate_percent,
    month_start,
    non_performing,
    percent,
    points,
    risk_figures,
    score_band,
)

log = structlog.get_logger(__name__)

ANALYTICS_SUBJECTS = (
    LoanInitiated.subject(),
    LoanApproved.subject(),
    LoanRejected.subject(),
    LoanCancelled.subject(),
    CreditAssessed.subject(),
)
STAFF_SUBJECTS = (UserCreated.subject(), UserRoleChanged.subject())

ANALYTICS_DDL = """
CREATE TABLE IF NOT EXISTS analytics_loans (
    loan_id uuid PRIMARY KEY,
    client_id uuid NOT NULL,
    loan_officer_id uuid,
    principal_cents bigint NOT NULL,
    product_name text NOT NULL,
    status text NOT NULL,
    initiated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS analytics_loan_closures (
    loan_id uuid PRIMARY KEY,
    status text NOT NULL
);
CREATE TABLE IF NOT EXISTS analytics_assessments (
    assessment_id uuid PRIMARY KEY,
    loan_id uuid NOT NULL,
    total_score integer NOT NULL,
    assessed_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS analytics_staff (
    user_id uuid PRIMARY KEY,
    username text NOT NULL,
    name text,
    role text NOT NULL
);
"""

# The lifecycle as origination tells it: a later decision never goes back to "initiated", and a
# rejection or cancellation is final, whichever order the events arrive in (a closure heard
# before the application is kept in analytics_loan_closures and wins when the application comes).
_UPSERT_LOAN = """
INSERT INTO analytics_loans (loan_id, client_id, loan_officer_id, principal_cents, product_name,
                             status, initiated_at)
VALUES (%(loan_id)s, %(client_id)s, %(loan_officer_id)s, %(principal_cents)s, %(product_name)s,
        coalesce((SELECT status FROM analytics_loan_closures WHERE loan_id = %(loan_id)s),
                 %(status)s),
        %(at)s)
ON CONFLICT (loan_id) DO UPDATE SET
    client_id = EXCLUDED.client_id, loan_officer_id = EXCLUDED.loan_officer_id,
    principal_cents = EXCLUDED.principal_cents, product_name = EXCLUDED.product_name,
    status = CASE WHEN EXCLUDED.status = 'initiated'
                       OR analytics_loans.status IN ('rejected', 'cancelled')
                  THEN analytics_loans.status
                  ELSE EXCLUDED.status END,
    initiated_at = least(analytics_loans.initiated_at, EXCLUDED.initiated_at)
"""
_CLOSE_LOAN = """
WITH closed AS (
    INSERT INTO analytics_loan_closures (loan_id, status) VALUES (%(loan_id)s, %(status)s)
    ON CONFLICT (loan_id) DO NOTHING
)
UPDATE analytics_loans SET status = %(status)s WHERE loan_id = %(loan_id)s
"""


def record_for_analytics(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
    """The ``ledger-analytics`` and ``ledger-staff`` consumers' handler."""
    try:
        event = envelope.event()
    except LookupError:
        log.info("analytics_event_ignored", type=envelope.type, version=envelope.version)
        return
    if isinstance(event, LoanInitiated | LoanApproved):
        conn.execute(
            _UPSERT_LOAN,
            {
                "loan_id": event.loan_id,
                "client_id": event.client_id,
                "loan_officer_id": event.loan_officer_id,
                "principal_cents": event.principal_cents,
                "product_name": event.terms.product_name,
                "status": "initiated" if isinstance(event, LoanInitiated) else "approved",
                "at": event.occurred_at,
            },
        )
    elif isinstance(event, LoanRejected | LoanCancelled):
        status = "rejected" if isinstance(event, LoanRejected) else "cancelled"
        conn.execute(_CLOSE_LOAN, {"loan_id": event.loan_id, "status": status})
    elif isinstance(event, CreditAssessed):
        conn.execute(
            "INSERT INTO analytics_assessments (assessment_id, loan_id, total_score, assessed_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (assessment_id) DO UPDATE SET "
            "total_score = EXCLUDED.total_score",
            (event.assessment_id, event.loan_id, event.total_score, event.occurred_at),
        )
    elif isinstance(event, UserCreated):
        conn.execute(
            "INSERT INTO analytics_staff (user_id, username, name, role) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, "
            "name = EXCLUDED.name",
            (event.user_id, event.username, event.name, event.role),
        )
    elif isinstance(event, UserRoleChanged):
        conn.execute(
            "UPDATE analytics_staff SET role = %s WHERE user_id = %s", (event.role, event.user_id)
        )


LIVE = ("current", "in_arrears")
DEFAULTED = ("defaulted", "written_off")


class PortfolioAnalytics:
    """The seven analytics answers, over every officer's loans (only administrators ask)."""

    def __init__(self, pool: ConnectionPool, views: LedgerViews) -> None:
        self.pool = pool
        self.views = views
        with pool.connection() as conn, conn.transaction():
            conn.execute(ANALYTICS_DDL)

    def _all(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(sql, params).fetchall()

    def _number(self, sql: str, params: Any = ()) -> int:
        rows = self._all(sql, params)
        return int(next(iter(rows[0].values())) or 0) if rows else 0

    # Overview (the dashboard's stats row)

    def _default_rate(self, as_of: dt.date) -> float:
        """Principal of defaulted loans still owed, plus principal written off, as of ``as_of``,
        over all principal disbursed by then (the portfolio report's ``defaultRate``)."""
        report = self.views.portfolio(as_of, as_of, as_of)
        disbursed = self._number(
            "SELECT coalesce(sum(principal_cents), 0) FROM loan_accounts WHERE disbursed_on <= %s",
            (as_of,),
        )
        return default_rate_percent(
            report["writtenOffCents"], report["defaultedOutstandingCents"], disbursed
        )

    def overview(self, today: dt.date, period_days: int = 30) -> dict[str, Any]:
        start = today - dt.timedelta(days=period_days)
        before = start - dt.timedelta(days=period_days)
        loans = (
            "SELECT loan_id, min(at) AS at FROM ("
            "SELECT loan_id, initiated_at::date AS at FROM analytics_loans UNION ALL "
            "SELECT loan_id, approved_at::date FROM loan_accounts) l GROUP BY loan_id"
        )
        counted = self._all(
            f"SELECT count(*) AS total, count(*) FILTER (WHERE at > %s) AS now, "  # noqa: S608
            f"count(*) FILTER (WHERE at > %s AND at <= %s) AS before FROM ({loans}) x",
            (start, before, start),
        )[0]
        disbursed = self._all(
            "SELECT coalesce(sum(principal_cents), 0) AS total, "
            "coalesce(sum(principal_cents) FILTER (WHERE disbursed_on > %s), 0) AS now, "
            "coalesce(sum(principal_cents) FILTER (WHERE disbursed_on > %s AND disbursed_on <= %s), 0) "
            "AS before FROM loan_accounts WHERE disbursed_on IS NOT NULL",
            (start, before, start),
        )[0]
        clients = self._all(
            "SELECT count(*) AS total, count(*) FILTER (WHERE onboarded_at::date > %s) AS now, "
            "count(*) FILTER (WHERE onboarded_at::date > %s AND onboarded_at::date <= %s) AS before "
            "FROM clients",
            (start, before, start),
        )[0]
        rate_now, rate_then = self._default_rate(today), self._default_rate(start)
        return {
            "totalLoans": int(counted["total"]),
            "totalDisbursedCents": int(disbursed["total"]),
            "totalClients": int(clients["total"]),
            "defaultRatePercent": rate_now,
            "trends": {
                "totalLoansChangePercent": change_percent(
                    int(counted["now"]), int(counted["before"])
                ),
                "totalDisbursedChangePercent": change_percent(
                    int(disbursed["now"]), int(disbursed["before"])
                ),
                "totalClientsChangePercent": change_percent(
                    int(clients["now"]), int(clients["before"])
                ),
                "defaultRateChangePercent": points(rate_now, rate_then),
            },
            "periodDays": period_days,
        }

    # Portfolio by status

    def portfolio(self) -> dict[str, Any]:
        owed = self._all(
            "SELECT CASE WHEN status IN ('current', 'in_arrears') THEN 'active' "
            "WHEN status IN ('defaulted', 'written_off') THEN 'defaulted' ELSE status END AS bucket, "
            "count(*) AS n, coalesce(sum(principal_cents - paid_principal_cents), 0) AS cents "
            "FROM loan_accounts WHERE disbursed_on IS NOT NULL GROUP BY 1"
        )
        pending = self._all(
            "SELECT count(*) AS n, coalesce(sum(a.principal_cents), 0) AS cents "
            "FROM analytics_loans a LEFT JOIN loan_accounts l ON l.loan_id = a.loan_id "
            "WHERE a.status IN ('initiated', 'approved') AND l.disbursed_on IS NULL"
        )[0]
        by_status: dict[str, dict[str, int]] = {
            name: {"count": 0, "amountCents": 0} for name in ("active", "pending", "defaulted")
        }
        for row in owed:
            by_status[row["bucket"]] = {"count": int(row["n"]), "amountCents": int(row["cents"])}
        by_status["pending"] = {"count": int(pending["n"]), "amountCents": int(pending["cents"])}
        return {"byStatus": by_status}

    # Demographics

    def demographics(self) -> dict[str, Any]:
        return {
            "ageBuckets": {},
            "gender": {},
            "note": "Hazina records no birth date or gender for clients, so there is nothing to count",
        }

    # Repayments by method

    def repayments(self, since: dt.date) -> dict[str, Any]:
        rows = self._all(
            "SELECT method, count(*) AS n, coalesce(sum(amount_cents), 0) AS cents "
            "FROM repayments WHERE NOT reversed AND paid_on > %s GROUP BY method ORDER BY method",
            (since,),
        )
        return {
            "byMethod": {r["method"]: int(r["cents"]) for r in rows},
            "countByMethod": {r["method"]: int(r["n"]) for r in rows},
            "totalCents": sum(int(r["cents"]) for r in rows),
        }

    # Vintages

    def _non_performing(self, today: dt.date) -> dict[uuid.UUID, int]:
        written_off = self._all(
            "SELECT loan_id, written_off_cents FROM loan_accounts "
            "WHERE written_off_on IS NOT NULL AND written_off_on <= %s",
            (today,),
        )
        return non_performing(
            self.views.loan_positions(today),
            self.views.arrears_policy.defaulted_after_days,
            {row["loan_id"]: int(row["written_off_cents"]) for row in written_off},
        )

    def loan_performance(self, today: dt.date, months: int) -> dict[str, Any]:
        first = month_start(today, months - 1)
        npl = self._non_performing(today)
        loans = self._all(
            "SELECT loan_id, principal_cents, disbursed_on FROM loan_accounts "
            "WHERE disbursed_on >= %s AND disbursed_on <= %s",
            (first, today),
        )
        vintage: dict[str, dict[str, int]] = {
            month_start(today, back).strftime("%Y-%m"): {"n": 0, "cents": 0, "npl": 0}
            for back in range(months - 1, -1, -1)
        }
        for loan in loans:
            month = vintage[loan["disbursed_on"].strftime("%Y-%m")]
            month["n"] += 1
            month["cents"] += int(loan["principal_cents"])
            month["npl"] += npl.get(loan["loan_id"], 0)
        return {
            "vintage": [
                {
                    "month": name,
                    "disbursedCount": v["n"],
                    "disbursedCents": v["cents"],
                    "nplPercent": percent(v["npl"], v["cents"]),
                }
                for name, v in vintage.items()
            ]
        }

    # Officers

    def officers(self, since: dt.date) -> dict[str, Any]:
        rows = self._all(
            """
            WITH officer AS (
                SELECT user_id AS id FROM analytics_staff WHERE role = 'loan_officer'
                UNION SELECT loan_officer_id FROM analytics_loans WHERE loan_officer_id IS NOT NULL
                UNION SELECT loan_officer_id FROM loan_accounts WHERE loan_officer_id IS NOT NULL
            )
            SELECT o.id, coalesce(s.name, s.username, o.id::text) AS name,
                   (SELECT count(*) FROM analytics_loans a
                     WHERE a.loan_officer_id = o.id AND a.initiated_at::date > %s) AS initiated,
                   (SELECT count(*) FROM loan_accounts l
                     WHERE l.loan_officer_id = o.id AND l.disbursed_on > %s) AS disbursed,
                   (SELECT coalesce(sum(l.principal_cents), 0) FROM loan_accounts l
                     WHERE l.loan_officer_id = o.id AND l.disbursed_on > %s) AS cents
            FROM officer o LEFT JOIN analytics_staff s ON s.user_id = o.id
            ORDER BY cents DESC, name
            """,
            (since, since, since),
        )
        return {
            "officers": [
                {
                    "id": str(r["id"]),
                    "_id": str(r["id"]),
                    "name": r["name"],
                    "loansInitiated": int(r["initiated"]),
                    "loans": int(r["initiated"]),
                    "loansDisbursed": int(r["disbursed"]),
                    "disbursedCents": int(r["cents"]),
                }
                for r in rows
            ]
        }

    # Risk

    def risk(self, today: dt.date, since: dt.date) -> dict[str, Any]:
        recent = {
            r["loan_id"]: r
            for r in self._all(
                "SELECT l.loan_id, l.terms->>'product_name' AS product, "
                "coalesce(s.name, s.username, l.loan_officer_id::text, 'unassigned') AS officer "
                "FROM loan_accounts l LEFT JOIN analytics_staff s ON s.user_id = l.loan_officer_id "
                "WHERE l.disbursed_on > %s",
                (since,),
            )
        }
        positions = [
            p
            for p in self.views.loan_positions(today)
            if p.loan_id in recent and p.outstanding_principal_cents > 0
        ]
        figures = risk_figures(
            positions,
            {
                loan_id: (f"product: {row['product']}", f"officer: {row['officer']}")
                for loan_id, row in recent.items()
            },
        )
        scores = self._all(
            "SELECT DISTINCT ON (loan_id) total_score FROM analytics_assessments "
            "WHERE assessed_at::date > %s ORDER BY loan_id, assessed_at DESC",
            (since,),
        )
        bands = {name: 0 for name, _, _ in SCORE_BANDS}
        for row in scores:
            band = score_band(int(row["total_score"]))
            bands[band] = bands.get(band, 0) + 1
        return {
            "delinquencyBuckets": figures.aging_cents,
            "expectedLossCents": figures.expected_loss_cents,
            "scoreBuckets": bands,
            "topRiskDrivers": [
                {"driver": name, "impact": impact, "atRiskCents": cents}
                for name, impact, cents in figures.top_drivers
            ],
        }
