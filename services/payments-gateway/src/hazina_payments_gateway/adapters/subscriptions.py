"""Handlers of other services' events (run by servicekit's DurableConsumer: effects exactly once)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
import structlog

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import ledger, origination, ussd
from hazina_contracts.receipts import ReceiptNumber
from hazina_payments_gateway.adapters.read_models import (
    LedgerPosting,
    remember_client,
    remember_loan,
    remember_postings,
)
from hazina_payments_gateway.application.gateway import PaymentsGateway
from hazina_payments_gateway.application.records import DisbursementRequest, PromptRequest
from hazina_servicekit.consumer import Handler

log = structlog.get_logger(__name__)

REFERENCE_SUBJECTS = [
    origination.LoanInitiated.subject(),
    origination.LoanApproved.subject(),
    origination.ClientOnboarded.subject(),
    origination.ClientDetailsChanged.subject(),
]
DISBURSEMENT_SUBJECTS = [origination.LoanDisbursementRequested.subject()]
PROMPT_SUBJECTS = [ussd.RepaymentPromptRequested.subject()]
LEDGER_SUBJECTS = [
    ledger.RepaymentPosted.subject(),
    ledger.LoanAccountOpened.subject(),
    ledger.SavingsBalanceChanged.subject(),
]


def _read(envelope: EventEnvelope) -> Any:
    return envelope.event()


def on_reference_event(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
    """Keep the account references a borrower may type, in the consumer's own transaction."""
    event = _read(envelope)
    match event:
        case origination.LoanInitiated() | origination.LoanApproved():
            remember_loan(
                conn,
                loan_id=event.loan_id,
                client_id=event.client_id,
                account_number=event.account_number,
            )
        case origination.ClientOnboarded() | origination.ClientDetailsChanged():
            # A corrected national ID becomes a reference too; the old one still finds the client.
            remember_client(conn, client_id=event.client_id, national_id=event.national_id)


def disbursement_handler(app: PaymentsGateway) -> Handler:
    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        event = _read(envelope)
        if not isinstance(event, origination.LoanDisbursementRequested):
            return
        # The account number is also a reference a borrower may type for repayments.
        remember_loan(
            conn,
            loan_id=event.loan_id,
            client_id=event.client_id,
            account_number=event.account_number,
        )
        created = app.request_disbursement(
            DisbursementRequest(
                disbursement_id=event.disbursement_id,
                loan_id=event.loan_id,
                client_id=event.client_id,
                account_number=event.account_number,
                phone=event.phone,
                amount_cents=event.amount_cents,
                origin_attempt=event.attempt,
                correlation_id=envelope.correlation_id,
            )
        )
        log.info("disbursement_requested", disbursement_id=str(event.disbursement_id), new=created)

    return handle


def prompt_handler(app: PaymentsGateway) -> Handler:
    def handle(envelope: EventEnvelope, _conn: psycopg.Connection[Any]) -> None:
        event = _read(envelope)
        if not isinstance(event, ussd.RepaymentPromptRequested):
            return
        app.request_prompt(
            PromptRequest(
                prompt_id=event.prompt_id,
                phone=event.phone,
                amount_cents=event.amount_cents,
                account_reference=event.account_reference,
                loan_id=event.loan_id,
                correlation_id=envelope.correlation_id,
            )
        )

    return handle


def posting_of(envelope: EventEnvelope) -> LedgerPosting | None:
    """What a ledger event posted, as reconciliation compares it (None: nothing to compare)."""
    event = _read(envelope)
    match event:
        case ledger.RepaymentPosted() if event.payment_method == "mpesa":
            return LedgerPosting(
                key=f"repayment:{event.receipt}",
                kind="repayment",
                receipt=event.receipt,
                loan_id=event.loan_id,
                client_id=event.client_id,
                amount_cents=event.amount_cents,
                occurred_at=event.occurred_at,
            )
        case ledger.SavingsBalanceChanged() if event.reason == "deposit":
            # A deposit's transaction id is its receipt number (a withdrawal's is its uuid).
            receipt = ReceiptNumber(event.transaction_id)
            return LedgerPosting(
                key=f"deposit:{receipt}",
                kind="savings_deposit",
                receipt=receipt,
                loan_id=None,
                client_id=event.client_id,
                amount_cents=event.change_cents,
                occurred_at=event.occurred_at,
            )
        case ledger.LoanAccountOpened():
            return LedgerPosting(
                key=f"disbursement:{event.loan_id}",
                kind="disbursement",
                receipt=None,
                loan_id=event.loan_id,
                client_id=event.client_id,
                amount_cents=event.principal_cents,
                occurred_at=event.occurred_at,
            )
    return None


def on_ledger_event(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
    """Remember what the ledger posted, for reconciliation against what the rails reported."""
    on_ledger_events([envelope], conn)


def on_ledger_events(
    envelopes: Sequence[EventEnvelope], conn: psycopg.Connection[Any]
) -> dict[uuid.UUID, Exception]:
    """``on_ledger_event`` for a batch, in one statement (one posting per C2B payment arrives
    as fast as the callbacks do). An event that cannot be read breaks the batch, which is then
    taken apart, so the others are still remembered."""
    postings = [posting for envelope in envelopes if (posting := posting_of(envelope))]
    remember_postings(conn, postings)
    return {}
