"""Which stored gateway events become which public PAYMENTS events; the rest stay private.

A conflicting repeat of a receipt is published as a ``PaymentReceived`` of what the repeat said,
under its own event id: the ledger, which keys money on the receipt, flags it as a conflict
(``/api/repayments/conflicts``) and posts nothing.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from hazina_contracts.events import payments as contract
from hazina_contracts.events.base import ContractEvent
from hazina_payments_gateway.domain.disbursement import Disbursement
from hazina_payments_gateway.domain.payment import Payment


def contract_mapper(load_disbursement: Any) -> Any:
    """``to_contract`` for the outbox relay; ``load_disbursement(id, version)`` reads the aggregate as of then."""

    def to_contract(event: Any) -> ContractEvent | None:
        match event:
            case Disbursement.Completed():
                d: Disbursement = load_disbursement(event.originator_id, event.originator_version)
                return contract.DisbursementCompleted(
                    occurred_at=event.timestamp.astimezone(UTC),
                    disbursement_id=event.originator_id,
                    loan_id=d.loan_id,
                    amount_cents=d.amount_cents,
                    charge_cents=event.charge_cents,
                    mpesa_receipt=event.receipt,
                    recipient_name=event.recipient_name,
                    completed_at=event.completed_at.astimezone(UTC),
                )
            case Disbursement.Failed():
                d = load_disbursement(event.originator_id, event.originator_version)
                return contract.DisbursementFailed(
                    occurred_at=event.timestamp.astimezone(UTC),
                    disbursement_id=event.originator_id,
                    loan_id=d.loan_id,
                    amount_cents=d.amount_cents,
                    result_code=event.result_code,
                    result_description=event.description,
                    retryable=event.retryable,
                )
            case Payment.Received():
                return contract.PaymentReceived(
                    occurred_at=event.timestamp.astimezone(UTC),
                    receipt=event.receipt,
                    amount_cents=event.amount_cents,
                    msisdn=event.msisdn,
                    account_reference=event.account_reference,
                    loan_id=event.loan_id,
                    client_id=event.client_id,
                    target=event.target,
                    paid_at=event.paid_at.astimezone(UTC),
                    payer_name=event.payer_name,
                    channel=event.channel,
                )
            case Payment.ConflictingRepeat():
                return contract.PaymentReceived(
                    occurred_at=event.timestamp.astimezone(UTC),
                    receipt=event.receipt,
                    amount_cents=event.amount_cents,
                    msisdn=event.msisdn,
                    account_reference=event.account_reference,
                    loan_id=event.loan_id,
                    client_id=event.client_id,
                    target=event.target,
                    paid_at=event.paid_at.astimezone(UTC),
                    payer_name=event.payer_name,
                    channel=event.channel,
                )
        return None

    return to_contract
