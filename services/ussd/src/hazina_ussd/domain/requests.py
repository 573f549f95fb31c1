"""What a borrower asked for on USSD that another service carries out: a loan application
(origination records it) and an M-Pesa STK Push to repay (the payments gateway sends it).

Each id derives from the USSD session, so a repeated hop (or a retry after a crash) finds the
request already made instead of making a second one.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

REQUEST_NAMESPACE = uuid.UUID("6b1d0e7c-2a4f-4c39-8e15-93a7d2c4b6e1")
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I  # pragma: allowlist secret


def request_id(session_id: str, kind: str) -> uuid.UUID:
    return uuid.uuid5(REQUEST_NAMESPACE, f"{kind}:{session_id}")


def reference_of(application_id: uuid.UUID) -> str:
    """A short reference a borrower can read out: eight characters from the id."""
    number = application_id.int
    chars = []
    for _ in range(8):
        number, index = divmod(number, len(_REFERENCE_ALPHABET))
        chars.append(_REFERENCE_ALPHABET[index])
    return "U" + "".join(chars)


class LoanApplication(Aggregate):
    TOPIC = "hazina.ussd.LoanApplication"

    class Created(Aggregate.Created):
        TOPIC = "hazina.ussd.LoanApplication.Created"

    @staticmethod
    def create_id(session_id: str, **_: Any) -> uuid.UUID:
        return request_id(session_id, "application")

    class Requested(Aggregate.Created):
        TOPIC = "hazina.ussd.LoanApplication.Requested"
        session_id: str
        client_id: uuid.UUID
        national_id: str
        phone: str
        amount_cents: int
        term: int
        purpose: str
        product_type: str
        reference: str
        limit_cents: int

    @event(Requested)
    def __init__(
        self,
        *,
        session_id: str,
        client_id: uuid.UUID,
        national_id: str,
        phone: str,
        amount_cents: int,
        term: int,
        purpose: str,
        product_type: str,
        reference: str,
        limit_cents: int,
    ) -> None:
        self.session_id = session_id
        self.client_id = client_id
        self.national_id = national_id
        self.phone = phone
        self.amount_cents = amount_cents
        self.term = term
        self.purpose = purpose
        self.product_type = product_type
        self.reference = reference
        self.limit_cents = limit_cents


class RepaymentPrompt(Aggregate):
    TOPIC = "hazina.ussd.RepaymentPrompt"

    class Created(Aggregate.Created):
        TOPIC = "hazina.ussd.RepaymentPrompt.Created"

    @staticmethod
    def create_id(session_id: str, **_: Any) -> uuid.UUID:
        return request_id(session_id, "prompt")

    class Requested(Aggregate.Created):
        TOPIC = "hazina.ussd.RepaymentPrompt.Requested"
        session_id: str
        client_id: uuid.UUID
        loan_id: uuid.UUID
        phone: str
        amount_cents: int
        account_reference: str

    @event(Requested)
    def __init__(
        self,
        *,
        session_id: str,
        client_id: uuid.UUID,
        loan_id: uuid.UUID,
        phone: str,
        amount_cents: int,
        account_reference: str,
    ) -> None:
        self.session_id = session_id
        self.client_id = client_id
        self.loan_id = loan_id
        self.phone = phone
        self.amount_cents = amount_cents
        self.account_reference = account_reference
