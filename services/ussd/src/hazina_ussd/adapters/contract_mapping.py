"""Which stored USSD events become which public USSD events: a loan application (origination
records it) and an STK Push request (the payments gateway sends it). A borrower's access (PIN,
lock, language) stays private."""

from __future__ import annotations

import uuid

from eventsourcing.domain import DomainEventProtocol

from hazina_contracts.events import ussd as contract
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.phones import Msisdn
from hazina_ussd.domain.requests import LoanApplication, RepaymentPrompt


def to_contract(event: DomainEventProtocol[uuid.UUID]) -> ContractEvent | None:
    match event:
        case LoanApplication.Requested():
            return contract.LoanApplicationRequested(
                occurred_at=event.timestamp,
                application_id=event.originator_id,
                reference=event.reference,
                client_id=event.client_id,
                national_id=event.national_id,
                phone=Msisdn(event.phone),
                principal_cents=event.amount_cents,
                term=event.term,
                purpose=event.purpose,
                product_type=event.product_type,
                limit_cents=event.limit_cents,
            )
        case RepaymentPrompt.Requested():
            return contract.RepaymentPromptRequested(
                occurred_at=event.timestamp,
                prompt_id=event.originator_id,
                phone=Msisdn(event.phone),
                amount_cents=event.amount_cents,
                account_reference=event.account_reference,
                loan_id=event.loan_id,
            )
    return None
