"""One handler per Daraja callback kind: read the stored body (adapters/daraja/callbacks.py), apply
it to the use cases, and say what the inbox row becomes.

Kinds nothing acts on yet (account balance, reversal and status timeouts) are still read into
typed records, described in the row's ``detail`` and left ``open`` for staff; a reversal result
is flagged, because money moved back without the gateway asking for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hazina_payments_gateway.adapters.daraja import callbacks
from hazina_payments_gateway.adapters.inbox import BatchHandler, Handler, Outcome
from hazina_payments_gateway.application.gateway import PaymentsGateway, payment_handled
from hazina_payments_gateway.application.records import (
    AccountBalanceResult,
    Handled,
    IncomingPayment,
    MalformedCallbackError,
    QueueTimeout,
    ReversalResult,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def timeout_detail(timeout: QueueTimeout) -> dict[str, Any]:
    return {
        "originatorConversationId": timeout.ocid,
        "conversationId": timeout.conversation_id,
        "resultCode": timeout.result_code,
        "resultDescription": timeout.description,
    }


def reversal_detail(result: ReversalResult) -> dict[str, Any]:
    return {
        "originatorConversationId": result.ocid,
        "conversationId": result.conversation_id,
        "resultCode": result.result_code,
        "resultDescription": result.description,
        "transactionId": result.transaction_id,
        "originalReceipt": result.original_receipt,
        "amountCents": result.amount_cents,
        "completedAt": _iso(result.completed_at),
    }


def balance_detail(result: AccountBalanceResult) -> dict[str, Any]:
    return {
        "originatorConversationId": result.ocid,
        "conversationId": result.conversation_id,
        "resultCode": result.result_code,
        "resultDescription": result.description,
        "completedAt": _iso(result.completed_at),
        "accounts": [
            {
                "account": line.account,
                "currency": line.currency,
                "figuresCents": list(line.figures_cents),
            }
            for line in result.accounts
        ],
    }


def _reversal_result(body: bytes) -> Handled:
    result = callbacks.parse_reversal_result(body)
    what = f"of {result.original_receipt}" if result.original_receipt else "of an unknown receipt"
    return Handled(
        "reversal_result",
        "flagged",
        reason=f"Daraja reports a reversal {what}: ResultCode {result.result_code}"
        f" ({result.description or 'no description'}); check it against the ledger",
        detail=reversal_detail(result),
    )


def _open_timeout(outcome: str, what: str) -> Handler:
    def handle(body: bytes) -> Handled:
        timeout = callbacks.parse_queue_timeout(body)
        return Handled(
            outcome,
            "open",
            reason=f"{what} timed out at Daraja; its outcome is unknown",
            detail=timeout_detail(timeout),
        )

    return handle


def _balance_result(body: bytes) -> Handled:
    result = callbacks.parse_balance_result(body)
    return Handled(
        "balance_result",
        "open",
        reason="account balance recorded; nothing in the gateway acts on balances yet",
        detail=balance_detail(result),
    )


def _validation(body: bytes) -> str:
    """Answered when it arrived; kept for the record (an unreadable one is flagged)."""
    callbacks.parse_c2b(body)
    return "answered"


def _confirmation(body: bytes) -> IncomingPayment | Exception:
    """A C2B confirmation read, or why it could not be (its inbox row is flagged with it)."""
    try:
        return callbacks.parse_c2b(body)
    except MalformedCallbackError as exc:
        return exc


def callback_handlers(app: PaymentsGateway) -> tuple[dict[str, Handler], dict[str, BatchHandler]]:
    """Handlers for every callback kind, and the batch handler of the busy one (C2B confirmations)."""

    def confirmations(bodies: list[bytes]) -> list[Outcome | Exception]:
        return list(app.record_confirmations([_confirmation(body) for body in bodies]))

    handlers: dict[str, Handler] = {
        "b2c_result": lambda body: app.apply_b2c_result(callbacks.parse_b2c_result(body)),
        "b2c_timeout": lambda body: app.apply_b2c_timeout(callbacks.parse_b2c_timeout(body)),
        "status_result": lambda body: app.apply_status_result(callbacks.parse_status_result(body)),
        "status_timeout": lambda body: app.apply_status_timeout(
            callbacks.parse_queue_timeout(body)
        ),
        "c2b_validation": _validation,
        "c2b_confirmation": lambda body: payment_handled(
            app.record_payment(callbacks.parse_c2b(body))
        ),
        "stk_callback": lambda body: app.apply_stk_callback(callbacks.parse_stk_callback(body)),
        "reversal_result": _reversal_result,
        "reversal_timeout": _open_timeout("reversal_timeout", "a reversal request"),
        "balance_result": _balance_result,
        "balance_timeout": _open_timeout("balance_timeout", "an account balance query"),
    }
    return handlers, {"c2b_confirmation": confirmations}
