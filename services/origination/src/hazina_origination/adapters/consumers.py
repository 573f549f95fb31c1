"""What origination does with other services' events.

PAYMENTS: a disbursement's M-Pesa result moves the loan to ``disbursed`` or back to ``approved``.
LEDGER: savings balances feed the savings rule (a local projection; origination never calls the
ledger), and repaid/arrears states move the loan on.

Every handler is idempotent on its own: the loan records an outcome once per disbursement and a
ledger state only when it is newer than the last one, so a redelivery, or a message that is
handled again after a crash between the loan's save and the consumer's commit, changes nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg
import structlog

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import ledger, payments
from hazina_contracts.events.base import ContractEvent, event_class
from hazina_origination.application.origination import Origination
from hazina_origination.domain.errors import NotFoundError

log = structlog.get_logger(__name__)

PAYMENTS_SUBJECTS = (
    payments.DisbursementCompleted.subject(),
    payments.DisbursementFailed.subject(),
)
LEDGER_SUBJECTS = (
    ledger.SavingsBalanceChanged.subject(),
    ledger.LoanRepaid.subject(),
    ledger.LoanStatusChanged.subject(),
)


def _decode(envelope: EventEnvelope) -> ContractEvent:
    return event_class(envelope.type, envelope.version).model_validate(envelope.data)


def payments_handler(app: Origination) -> Any:
    def handle(envelope: EventEnvelope, _conn: psycopg.Connection[Any]) -> None:
        event = _decode(envelope)
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


def ledger_handler(app: Origination) -> Any:
    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        event = _decode(envelope)
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
