"""Loan applications borrowers make on USSD (``LoanApplicationRequested`` on the USSD stream).

Each becomes an ``initiated`` loan of the active product of the application's type, assigned to
the client's loan officer (their group's), checked by the same eligibility rules as a loan staff
initiate, and visible in the staff API like any other. The initiator is the USSD channel, not a
staff member, so every staff member may approve it. An application is one loan, ever: a
reservation of its id is saved with the loan, and a redelivery finds it. An application the
rules refuse is recorded as refused (``LoanApplicationRefused``, once per application, whatever the
number of deliveries) so the USSD service can tell the borrower.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import psycopg
import structlog
from eventsourcing.persistence import IntegrityError

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import ussd
from hazina_origination.application.commands import Actor, InitiateLoan
from hazina_origination.application.origination import APPLICATION, Origination
from hazina_origination.domain.client import Reservation
from hazina_origination.domain.errors import (
    InvalidInputError,
    NotEligibleError,
    NotFoundError,
    OriginationError,
)
from hazina_origination.domain.refused_application import ReasonCode, RefusedApplication
from hazina_servicekit.consumer import Handler

log = structlog.get_logger(__name__)

USSD_SUBJECTS = (ussd.LoanApplicationRequested.subject(),)
# Who initiated a loan a borrower applied for on USSD.
USSD_CHANNEL = uuid.UUID("7d0c5a3e-1b2f-4e6a-8c9d-0a1b2c3d4e5f")
USSD_ROLE = "borrower_ussd"


def ussd_handler(app: Origination) -> Handler:
    def handle(envelope: EventEnvelope, _conn: psycopg.Connection[Any]) -> None:
        event = envelope.event()
        if not isinstance(event, ussd.LoanApplicationRequested):
            return
        if Reservation.create_id(APPLICATION, str(event.application_id)) in app.repository:
            return  # recorded on an earlier delivery
        try:
            loan = app.initiate_loan(
                InitiateLoan(
                    client_national_id=event.national_id,
                    product_type=event.product_type,
                    product_id=None,
                    principal_cents=event.principal_cents,
                    term=event.term,
                    purpose=f"{event.purpose} (USSD {event.reference})",
                    application_id=event.application_id,
                ),
                Actor(user_id=USSD_CHANNEL, role=USSD_ROLE, correlation_id=envelope.correlation_id),
            )
        except OriginationError as exc:
            log.warning(
                "ussd_application_refused",
                application_id=str(event.application_id),
                reference=event.reference,
                reason=str(exc),
            )
            _refuse(app, event, exc)
            return
        log.info("ussd_application_recorded", loan_id=str(loan.id), reference=event.reference)

    return handle


def _reason_code(exc: OriginationError) -> ReasonCode:
    match exc:
        case NotEligibleError():
            return "not_eligible"
        case InvalidInputError():
            return "invalid"
        case NotFoundError():
            return "not_found"
    return "other"


def _refuse(app: Origination, event: ussd.LoanApplicationRequested, exc: OriginationError) -> None:
    refusal = RefusedApplication(
        application_id=event.application_id,
        reference=event.reference,
        client_id=event.client_id,
        reason_code=_reason_code(exc),
        reason=str(exc)[:500],
    )
    with contextlib.suppress(IntegrityError):  # refused on an earlier delivery: published once
        app.save(refusal)
