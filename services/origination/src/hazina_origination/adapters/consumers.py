"""What origination does with other services' events.

PAYMENTS: a disbursement's M-Pesa result moves the loan to ``disbursed`` or back to ``approved``.
LEDGER: savings balances feed the savings rule (a local projection; origination never calls the
ledger), and repaid/arrears states (and a reversal that reopens a repaid loan) move the loan on.
A second LEDGER consumer keeps each loan's figures (total due, outstanding, paid) as the ledger
reports them, reversals included.
IDENTITY: staff users, so views can name who did what and groups go only to active loan officers;
branches, so groups and clients show their branch's name and location.

Every handler is idempotent on its own: the loan records an outcome once per disbursement and a
ledger state only when it is newer than the last one, so a redelivery, or a message that is
handled again after a crash between the loan's save and the consumer's commit, changes nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from psycopg.types.json import Jsonb

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import identity, ledger, payments
from hazina_origination.application.origination import Origination
from hazina_origination.domain.errors import NotFoundError
from hazina_servicekit.consumer import Handler

log = structlog.get_logger(__name__)

PAYMENTS_SUBJECTS = (
    payments.DisbursementCompleted.subject(),
    payments.DisbursementFailed.subject(),
)
LEDGER_SUBJECTS = (
    ledger.SavingsBalanceChanged.subject(),
    ledger.LoanRepaid.subject(),
    ledger.LoanStatusChanged.subject(),
    ledger.RepaymentReversed.subject(),
)
# Each durable consumer is given these subjects on start (servicekit updates an existing
# consumer's filter and keeps its position), so adding a subject here reaches running systems.
LOAN_BALANCE_SUBJECTS = (
    ledger.LoanAccountOpened.subject(),
    ledger.RepaymentPosted.subject(),
    ledger.LoanStatusChanged.subject(),
    ledger.LoanRepaid.subject(),
    ledger.RepaymentReversed.subject(),
)
IDENTITY_SUBJECTS = (
    identity.UserCreated.subject(),
    identity.UserRoleChanged.subject(),
    identity.UserDeactivated.subject(),
    identity.UserReactivated.subject(),
    identity.BranchOpened.subject(),
    identity.BranchDetailsChanged.subject(),
)


def payments_handler(app: Origination) -> Handler:
    def handle(envelope: EventEnvelope, _conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        try:
            if isinstance(event, payments.DisbursementCompleted):
                app.record_disbursement_completed(
                    event.loan_id,
                    event.disbursement_id,
                    mpesa_receipt=event.mpesa_receipt,
                    completed_at=event.completed_at,
                    charge_cents=event.charge_cents,
                    correlation_id=envelope.correlation_id,
                )
            elif isinstance(event, payments.DisbursementFailed):
                app.record_disbursement_failed(
                    event.loan_id,
                    event.disbursement_id,
                    reason=f"{event.result_description} (M-Pesa result {event.result_code})",
                    result_code=event.result_code,
                    correlation_id=envelope.correlation_id,
                )
        except NotFoundError:
            log.error(
                "payment_for_unknown_loan",
                type=envelope.type,
                loan_id=str(getattr(event, "loan_id", "")),
            )

    return handle


def ledger_handler(app: Origination) -> Handler:
    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        if isinstance(event, ledger.SavingsBalanceChanged):
            record_savings(conn, event)
            return
        try:
            if isinstance(event, ledger.LoanRepaid):
                app.record_loan_repaid(
                    event.loan_id,
                    occurred_at=event.occurred_at,
                    total_paid_cents=event.total_paid_cents,
                    correlation_id=envelope.correlation_id,
                )
            elif isinstance(event, ledger.LoanStatusChanged):
                app.record_ledger_status(
                    event.loan_id,
                    ledger_status=event.status,
                    occurred_at=event.occurred_at,
                    days_past_due=event.days_past_due,
                    outstanding_cents=event.outstanding_cents,
                    correlation_id=envelope.correlation_id,
                )
            elif isinstance(event, ledger.RepaymentReversed) and event.reopened:
                # A repaid loan whose repayment was reversed is owed again.
                app.record_ledger_status(
                    event.loan_id,
                    ledger_status="current",
                    occurred_at=event.occurred_at,
                    days_past_due=0,
                    outstanding_cents=event.outstanding_cents,
                    correlation_id=envelope.correlation_id,
                )
        except NotFoundError:
            log.error(
                "ledger_event_for_unknown_loan",
                type=envelope.type,
                loan_id=str(getattr(event, "loan_id", "")),
            )

    return handle


def record_savings(conn: psycopg.Connection[Any], event: ledger.SavingsBalanceChanged) -> None:
    """Keep the movement, and the balance of the newest movement seen (they may arrive out of order)."""
    conn.execute(
        """INSERT INTO savings_movements (client_id, transaction_id, change_cents, balance_cents, reason, occurred_at)
           VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
        (
            event.client_id,
            event.transaction_id,
            event.change_cents,
            event.balance_cents,
            event.reason,
            event.occurred_at,
        ),
    )
    conn.execute(
        """INSERT INTO savings_balances (client_id, balance_cents, as_of) VALUES (%s, %s, %s)
           ON CONFLICT (client_id) DO UPDATE SET balance_cents = EXCLUDED.balance_cents, as_of = EXCLUDED.as_of,
               updated_at = now()
           WHERE savings_balances.as_of < EXCLUDED.as_of""",
        (event.client_id, event.balance_cents, event.occurred_at),
    )


# Loan figures from the ledger


def loan_balances_handler() -> Handler:
    """Each loan's total due, outstanding and paid, as the ledger's events say (newest fact wins)."""

    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        if isinstance(event, ledger.LoanAccountOpened):
            record_account_opened(conn, event)
        elif isinstance(event, ledger.RepaymentPosted):
            record_repayment(conn, event)
        elif isinstance(event, ledger.LoanStatusChanged):
            _outstanding(conn, event.loan_id, event.outstanding_cents, event.occurred_at)
        elif isinstance(event, ledger.LoanRepaid):
            conn.execute(
                """INSERT INTO loan_balances (loan_id, repaid_total_paid_cents, repaid_as_of)
                   VALUES (%s, %s, %s)
                   ON CONFLICT (loan_id) DO UPDATE SET updated_at = now(),
                       repaid_total_paid_cents = CASE
                           WHEN loan_balances.repaid_as_of IS NULL
                               OR loan_balances.repaid_as_of < EXCLUDED.repaid_as_of
                           THEN EXCLUDED.repaid_total_paid_cents
                           ELSE loan_balances.repaid_total_paid_cents END,
                       repaid_as_of = GREATEST(loan_balances.repaid_as_of, EXCLUDED.repaid_as_of)""",
                (event.loan_id, event.total_paid_cents, event.occurred_at),
            )
            _outstanding(conn, event.loan_id, 0, event.occurred_at)
        elif isinstance(event, ledger.RepaymentReversed):
            record_reversal(conn, event)

    return handle


def record_account_opened(conn: psycopg.Connection[Any], event: ledger.LoanAccountOpened) -> None:
    """The schedule's totals; until a later fact says otherwise, everything due is outstanding."""
    total_due = event.principal_cents + event.total_interest_cents + event.total_fees_cents
    conn.execute(
        """INSERT INTO loan_balances (loan_id, principal_cents, total_interest_cents, total_fees_cents,
               total_due_cents, instalments, disbursed_on, maturity_on, opened_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (loan_id) DO UPDATE SET principal_cents = EXCLUDED.principal_cents,
               total_interest_cents = EXCLUDED.total_interest_cents,
               total_fees_cents = EXCLUDED.total_fees_cents, total_due_cents = EXCLUDED.total_due_cents,
               instalments = EXCLUDED.instalments, disbursed_on = EXCLUDED.disbursed_on,
               maturity_on = EXCLUDED.maturity_on, opened_at = EXCLUDED.opened_at, updated_at = now()""",
        (
            event.loan_id,
            event.principal_cents,
            event.total_interest_cents,
            event.total_fees_cents,
            total_due,
            event.instalments,
            event.disbursed_on,
            event.maturity_on,
            event.occurred_at,
        ),
    )
    _outstanding(conn, event.loan_id, total_due, event.occurred_at)
    if isinstance(event, ledger.LoanAccountOpenedV2):
        for row in event.schedule:
            conn.execute(
                """INSERT INTO loan_schedule (loan_id, number, due_on, principal_cents, interest_cents,
                       fee_cents) VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (loan_id, number) DO UPDATE SET due_on = EXCLUDED.due_on,
                       principal_cents = EXCLUDED.principal_cents,
                       interest_cents = EXCLUDED.interest_cents, fee_cents = EXCLUDED.fee_cents""",
                (
                    event.loan_id,
                    row.number,
                    row.due_on,
                    row.principal_cents,
                    row.interest_cents,
                    row.fee_cents,
                ),
            )


def record_repayment(conn: psycopg.Connection[Any], event: ledger.RepaymentPosted) -> None:
    """A receipt counts once, however often it is reported; its outstanding applies if it is the newest."""
    inserted = conn.execute(
        """INSERT INTO loan_repayments (loan_id, receipt, amount_cents, interest_cents, principal_cents,
               fee_cents, suspense_cents, outstanding_cents, payment_method, occurred_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1""",
        (
            event.loan_id,
            event.receipt,
            event.amount_cents,
            event.interest_cents,
            event.principal_cents,
            event.fee_cents,
            event.suspense_cents,
            event.outstanding_cents,
            event.payment_method,
            event.occurred_at,
        ),
    ).fetchone()
    if inserted is None:
        log.info("repayment_receipt_already_recorded", loan_id=str(event.loan_id))
        return
    conn.execute(
        """INSERT INTO loan_balances (loan_id, receipts_paid_cents, repayments_count, last_repayment_at)
           VALUES (%s, %s, 1, %s)
           ON CONFLICT (loan_id) DO UPDATE SET updated_at = now(),
               receipts_paid_cents = loan_balances.receipts_paid_cents + EXCLUDED.receipts_paid_cents,
               repayments_count = loan_balances.repayments_count + 1,
               last_repayment_at = GREATEST(loan_balances.last_repayment_at, EXCLUDED.last_repayment_at)""",
        (event.loan_id, event.amount_cents, event.occurred_at),
    )
    _outstanding(conn, event.loan_id, event.outstanding_cents, event.occurred_at)


def record_reversal(conn: psycopg.Connection[Any], event: ledger.RepaymentReversed) -> None:
    """The receipt stops counting once, however often the reversal is reported; if the reversal
    overtakes its repayment, the receipt is recorded as reversed and the repayment never counts."""
    row = conn.execute(
        """INSERT INTO loan_repayments (loan_id, receipt, amount_cents, interest_cents, principal_cents,
               fee_cents, suspense_cents, outstanding_cents, payment_method, occurred_at, reversed_at,
               reversal_reason)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (loan_id, receipt) DO UPDATE SET reversed_at = EXCLUDED.reversed_at,
               reversal_reason = EXCLUDED.reversal_reason
           WHERE loan_repayments.reversed_at IS NULL
           RETURNING (xmax = 0) AS inserted, loan_repayments.amount_cents""",
        (
            event.loan_id,
            event.receipt,
            event.amount_cents,
            event.interest_cents,
            event.principal_cents,
            event.fee_cents,
            event.suspense_cents,
            event.outstanding_cents,
            event.payment_method,
            event.occurred_at,
            event.occurred_at,
            event.reason,
        ),
    ).fetchone()
    if row is None:
        log.info("repayment_reversal_already_recorded", loan_id=str(event.loan_id))
        return
    inserted, amount_cents = row
    counted = 0 if inserted else 1  # a repayment already counted stops counting
    conn.execute(
        """INSERT INTO loan_balances (loan_id, last_reversal_at) VALUES (%s, %s)
           ON CONFLICT (loan_id) DO UPDATE SET updated_at = now(),
               receipts_paid_cents = loan_balances.receipts_paid_cents - %s,
               repayments_count = loan_balances.repayments_count - %s,
               last_reversal_at = GREATEST(loan_balances.last_reversal_at, EXCLUDED.last_reversal_at)""",
        (event.loan_id, event.occurred_at, amount_cents * counted, counted),
    )
    for moved in event.reallocations:
        conn.execute(
            """UPDATE loan_repayments SET interest_cents = %s, principal_cents = %s, fee_cents = %s,
                   suspense_cents = %s, split_as_of = %s
               WHERE loan_id = %s AND receipt = %s
                   AND (split_as_of IS NULL OR split_as_of < %s)""",
            (
                moved.interest_cents,
                moved.principal_cents,
                moved.fee_cents,
                moved.suspense_cents,
                event.occurred_at,
                event.loan_id,
                moved.receipt,
                event.occurred_at,
            ),
        )
    _outstanding(conn, event.loan_id, event.outstanding_cents, event.occurred_at)


def _outstanding(
    conn: psycopg.Connection[Any], loan_id: Any, outstanding_cents: int, as_of: Any
) -> None:
    """Keep the outstanding of the newest fact; two facts of the same instant keep the smaller figure,
    so the result does not depend on the order they arrive in."""
    conn.execute(
        """INSERT INTO loan_balances (loan_id, outstanding_cents, outstanding_as_of) VALUES (%s, %s, %s)
           ON CONFLICT (loan_id) DO UPDATE SET outstanding_cents = EXCLUDED.outstanding_cents,
               outstanding_as_of = EXCLUDED.outstanding_as_of, updated_at = now()
           WHERE loan_balances.outstanding_as_of IS NULL
               OR loan_balances.outstanding_as_of < EXCLUDED.outstanding_as_of
               OR (loan_balances.outstanding_as_of = EXCLUDED.outstanding_as_of
                   AND EXCLUDED.outstanding_cents < loan_balances.outstanding_cents)""",
        (loan_id, outstanding_cents, as_of),
    )


# Staff from identity


def staff_handler() -> Handler:
    """The local staff projection: who each user is, their role, and whether they may still work."""

    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        if isinstance(event, identity.UserCreated):
            record_user_created(conn, event)
        elif isinstance(event, identity.UserRoleChanged):
            conn.execute(
                """INSERT INTO staff (user_id, role, regions, branch_id, role_as_of) VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (user_id) DO UPDATE SET role = EXCLUDED.role, regions = EXCLUDED.regions,
                       branch_id = EXCLUDED.branch_id, role_as_of = EXCLUDED.role_as_of, updated_at = now()
                   WHERE staff.role_as_of IS NULL OR staff.role_as_of < EXCLUDED.role_as_of""",
                (
                    event.user_id,
                    event.role,
                    Jsonb(event.regions),
                    event.branch_id,
                    event.occurred_at,
                ),
            )
        elif isinstance(event, identity.BranchOpened | identity.BranchDetailsChanged):
            # The newest description wins, whatever order the two arrive in.
            conn.execute(
                """INSERT INTO branches (branch_id, name, code, location, as_of)
                   VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (branch_id) DO UPDATE SET name = EXCLUDED.name, code = EXCLUDED.code,
                       location = EXCLUDED.location, as_of = EXCLUDED.as_of, updated_at = now()
                   WHERE branches.as_of < EXCLUDED.as_of""",
                (str(event.branch_id), event.name, event.code, event.location, event.occurred_at),
            )
        elif isinstance(event, identity.UserDeactivated | identity.UserReactivated):
            conn.execute(
                """INSERT INTO staff (user_id, active, active_as_of) VALUES (%s, %s, %s)
                   ON CONFLICT (user_id) DO UPDATE SET active = EXCLUDED.active,
                       active_as_of = EXCLUDED.active_as_of, updated_at = now()
                   WHERE staff.active_as_of IS NULL OR staff.active_as_of < EXCLUDED.active_as_of""",
                (
                    event.user_id,
                    isinstance(event, identity.UserReactivated),
                    event.occurred_at,
                ),
            )

    return handle


def record_user_created(conn: psycopg.Connection[Any], event: identity.UserCreated) -> None:
    """Name and username come only from here; role and active state only if nothing newer set them."""
    conn.execute(
        """INSERT INTO staff (user_id, username, name, role, regions, branch_id, role_as_of, active,
               active_as_of, created_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, true, %s, %s)
           ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, name = EXCLUDED.name,
               created_at = EXCLUDED.created_at, updated_at = now(),
               role = CASE WHEN staff.role_as_of IS NULL OR staff.role_as_of < EXCLUDED.role_as_of
                   THEN EXCLUDED.role ELSE staff.role END,
               regions = CASE WHEN staff.role_as_of IS NULL OR staff.role_as_of < EXCLUDED.role_as_of
                   THEN EXCLUDED.regions ELSE staff.regions END,
               branch_id = CASE WHEN staff.role_as_of IS NULL OR staff.role_as_of < EXCLUDED.role_as_of
                   THEN EXCLUDED.branch_id ELSE staff.branch_id END,
               role_as_of = GREATEST(staff.role_as_of, EXCLUDED.role_as_of),
               active = CASE WHEN staff.active_as_of IS NULL OR staff.active_as_of < EXCLUDED.active_as_of
                   THEN true ELSE staff.active END,
               active_as_of = GREATEST(staff.active_as_of, EXCLUDED.active_as_of)""",
        (
            event.user_id,
            event.username,
            event.name,
            event.role,
            Jsonb(event.regions),
            event.branch_id,
            event.occurred_at,
            event.occurred_at,
            event.occurred_at,
        ),
    )
