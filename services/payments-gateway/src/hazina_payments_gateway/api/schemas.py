"""Response shapes of the gateway's staff API (camelCase like the seed; money in cents and KES)."""

from __future__ import annotations

from typing import Any

from hazina_contracts.money import format_cents
from hazina_payments_gateway.domain.disbursement import Disbursement
from hazina_servicekit.logging import mask_phone


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def disbursement_view(d: Disbursement) -> dict[str, Any]:
    return {
        "_id": str(d.id),
        "id": str(d.id),
        "loanId": str(d.loan_id),
        "clientId": str(d.client_id),
        "accountNumber": d.account_number,
        "phone": mask_phone(d.phone),
        "amountCents": d.amount_cents,
        "amountKES": format_cents(d.amount_cents),
        "status": d.status.value,
        "attempt": d.attempt,
        "originatorConversationId": d.ocid,
        "conversationId": d.conversation_id,
        "sends": d.sends,
        "statusQueries": d.status_queries,
        "mpesaReceipt": d.receipt,
        "chargeCents": d.charge_cents,
        "recipientName": d.recipient_name,
        "completedAt": _iso(d.completed_at),
        "resultCode": d.result_code,
        "resultDescription": d.result_description,
        "retryable": d.retryable,
        "lastReason": d.last_reason,
        "nextCheckAt": _iso(d.retry_at),
        "createdAt": _iso(d.created_on),
        "updatedAt": _iso(d.modified_on),
    }


def disbursement_row_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": str(row["disbursement_id"]),
        "id": str(row["disbursement_id"]),
        "loanId": str(row["loan_id"]),
        "clientId": str(row["client_id"]),
        "accountNumber": row["account_number"],
        "phone": mask_phone(row["phone"]),
        "amountCents": row["amount_cents"],
        "amountKES": format_cents(row["amount_cents"]),
        "status": row["status"],
        "attempt": row["attempt"],
        "originatorConversationId": row["ocid"],
        "mpesaReceipt": row["receipt"],
        "chargeCents": row["charge_cents"],
        "recipientName": row["recipient_name"],
        "completedAt": _iso(row["completed_at"]),
        "resultCode": row["result_code"],
        "resultDescription": row["result_description"],
        "retryable": row["retryable"],
        "lastReason": row["last_reason"],
        "createdAt": _iso(row["requested_at"]),
        "updatedAt": _iso(row["updated_at"]),
    }
