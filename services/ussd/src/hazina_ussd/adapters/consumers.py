"""What the USSD service does with other services' events: keep its local projections, and
enqueue the SMS a fact calls for, in the same transaction as the consumer's record of the
message, so a fact delivered twice is projected once and texted once.

ORIGINATION: clients (phone, national ID, approval) and loans (account number, state); a USSD
loan application origination refused (SMS: it was not accepted).
LEDGER: loan accounts, repayments (SMS receipt), reversals, arrears states, savings balances.
The ledger sends one or more of these per C2B payment, so its consumer runs in batch mode: the
messages of a batch each go through the same code, in order, in the batch's one transaction.
PAYMENTS: a completed disbursement (SMS: the money is on its way).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
import structlog

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import ledger, origination, payments
from hazina_servicekit.consumer import BatchHandler, Handler
from hazina_ussd.adapters.read_models import (
    apply_ledger,
    apply_origination,
    client_phone,
    loan_and_client,
)
from hazina_ussd.adapters.sms_store import enqueue
from hazina_ussd.application.ports import Notice
from hazina_ussd.domain import texts
from hazina_ussd.domain.texts import Language, kes

log = structlog.get_logger(__name__)

ORIGINATION_SUBJECTS = (
    origination.ClientOnboarded.subject(),
    origination.ClientApproved.subject(),
    origination.ClientDetailsChanged.subject(),
    origination.LoanInitiated.subject(),
    origination.LoanApproved.subject(),
    origination.LoanRejected.subject(),
    origination.LoanCancelled.subject(),
    origination.LoanDisbursementRequested.subject(),
    origination.LoanApplicationRefused.subject(),
)
LEDGER_SUBJECTS = (
    ledger.LoanAccountOpened.subject(),
    ledger.RepaymentPosted.subject(),
    ledger.RepaymentReversed.subject(),
    ledger.LoanStatusChanged.subject(),
    ledger.LoanRepaid.subject(),
    ledger.SavingsBalanceChanged.subject(),
)
PAYMENTS_SUBJECTS = (payments.DisbursementCompleted.subject(),)

LanguageOf = Callable[[uuid.UUID], Language]


def origination_handler(language_of: LanguageOf) -> Handler:
    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        apply_origination(event, conn)
        if isinstance(event, origination.LoanApplicationRefused):
            _refused(conn, event, language_of)

    return handle


def _refused(
    conn: psycopg.Connection[Any],
    event: origination.LoanApplicationRefused,
    language_of: LanguageOf,
) -> None:
    phone = client_phone(conn, event.client_id)
    if phone is None:
        log.warning("sms_refusal_without_client", client_id=str(event.client_id))
        return
    language = language_of(event.client_id)
    kind = "application_refused" if event.reason_code == "not_eligible" else "application_failed"
    enqueue(
        conn,
        Notice(
            key=f"application-refused:{event.application_id}",
            client_id=event.client_id,
            phone=phone,
            kind=kind,
            language=language,
            text=texts.sms(kind, language, reference=event.reference),
        ),
    )


def ledger_handler(language_of: LanguageOf) -> Handler:
    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        _apply_ledger_event(conn, envelope.event(), language_of)

    return handle


def ledger_batch_handler(language_of: LanguageOf) -> BatchHandler:
    """The ledger handler for a batch: each message as one by one, in order, in the batch's
    transaction (one commit for the batch's projections and SMS receipts). A message that cannot
    be read is handed back (retried, then parked); any other failure takes the batch apart, and
    servicekit applies each message alone."""

    def handle_batch(
        envelopes: Sequence[EventEnvelope], conn: psycopg.Connection[Any]
    ) -> Mapping[uuid.UUID, Exception]:
        failed: dict[uuid.UUID, Exception] = {}
        for envelope in envelopes:
            try:
                event = envelope.event()
            except Exception as exc:
                failed[envelope.event_id] = exc
                continue
            _apply_ledger_event(conn, event, language_of)
        return failed

    return handle_batch


def _apply_ledger_event(
    conn: psycopg.Connection[Any], event: object, language_of: LanguageOf
) -> None:
    apply_ledger(event, conn)
    if isinstance(event, ledger.RepaymentPosted):
        _receipt(conn, event, language_of)


def _receipt(
    conn: psycopg.Connection[Any], event: ledger.RepaymentPosted, language_of: LanguageOf
) -> None:
    account, client = loan_and_client(conn, event.loan_id)
    if client is None:
        log.warning("sms_receipt_without_client", loan_id=str(event.loan_id))
        return
    language = language_of(client["client_id"])
    extra = ""
    if event.fee_cents:
        extra += texts.SMS_EXTRA["fees"][language].format(fees=kes(event.fee_cents))
    if event.suspense_cents:
        extra += texts.SMS_EXTRA["excess"][language].format(excess=kes(event.suspense_cents))
    enqueue(
        conn,
        Notice(
            key=f"payment:{event.loan_id}:{event.receipt}",
            client_id=client["client_id"],
            phone=client["phone"],
            kind="payment",
            language=language,
            text=texts.sms(
                "payment",
                language,
                amount=kes(event.amount_cents),
                account=account or "",
                receipt=event.receipt,
                interest=kes(event.interest_cents),
                principal=kes(event.principal_cents),
                extra=extra,
                balance=kes(event.outstanding_cents),
            ),
        ),
    )


def payments_handler(language_of: LanguageOf, service_code: str) -> Handler:
    def handle(envelope: EventEnvelope, conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        if not isinstance(event, payments.DisbursementCompleted):
            return
        account, client = loan_and_client(conn, event.loan_id)
        if client is None:
            log.warning("sms_disbursement_without_client", loan_id=str(event.loan_id))
            return
        language = language_of(client["client_id"])
        enqueue(
            conn,
            Notice(
                key=f"disbursed:{event.disbursement_id}",
                client_id=client["client_id"],
                phone=client["phone"],
                kind="disbursed",
                language=language,
                text=texts.sms(
                    "disbursed",
                    language,
                    amount=kes(event.amount_cents),
                    account=account or "",
                    receipt=event.mpesa_receipt,
                    code=service_code,
                ),
            ),
        )

    return handle
