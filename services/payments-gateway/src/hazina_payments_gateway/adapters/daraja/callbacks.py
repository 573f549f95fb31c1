"""Reading Daraja's callbacks, tolerant of its quirks: numbers as strings or numbers, a single
``ResultParameter``/``ReferenceItem`` as an object instead of a list, amounts as ``"1200"`` or
``"1200.00"``, times in three formats. Anything that cannot be read raises MalformedCallbackError.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hazina_contracts.money import MoneyParseError, parse_kes_to_cents
from hazina_payments_gateway.application.records import (
    B2CResult,
    B2CTimeout,
    IncomingPayment,
    MalformedCallbackError,
    StatusResult,
    StkCallback,
)
from hazina_payments_gateway.domain.rules import (
    GatewayRuleError,
    parse_daraja_compact_time,
    parse_daraja_dmy_time,
)


def load_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedCallbackError("body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedCallbackError("body is not a JSON object")
    return data


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _params(container: Any, list_key: str, name_key: str = "Key") -> dict[str, Any]:
    if not isinstance(container, dict):
        return {}
    out = {}
    for item in _as_list(container.get(list_key)):
        if isinstance(item, dict) and name_key in item:
            out[str(item[name_key])] = item.get("Value")
    return out


def _code(value: Any) -> str:
    if value is None:
        raise MalformedCallbackError("ResultCode is missing")
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


def _amount(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse_kes_to_cents(value, allow_zero=False)
    except MoneyParseError:
        raise MalformedCallbackError(f"amount '{value}' is not readable") from None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _recipient(public_name: Any) -> str | None:
    """``"254712345678 - JANE WANJIKU"`` -> ``"JANE WANJIKU"``; the number is not repeated in events."""
    text = _text(public_name)
    if text is None:
        return None
    return text.split(" - ", 1)[1].strip() if " - " in text else text


def _time(value: Any, parser: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed: datetime = parser(value)
    except (GatewayRuleError, ValueError):
        return None
    return parsed


def _result(data: dict[str, Any]) -> dict[str, Any]:
    result = data.get("Result")
    if not isinstance(result, dict):
        raise MalformedCallbackError("no Result object")
    return result


def parse_b2c_result(body: bytes) -> B2CResult:
    result = _result(load_json(body))
    ocid = _text(result.get("OriginatorConversationID"))
    if not ocid:
        raise MalformedCallbackError("no OriginatorConversationID")
    params = _params(result.get("ResultParameters"), "ResultParameter")
    code = _code(result.get("ResultCode"))
    receipt = _text(params.get("TransactionReceipt")) or (
        _text(result.get("TransactionID")) if code == "0" else None
    )
    return B2CResult(
        ocid=ocid,
        conversation_id=_text(result.get("ConversationID")),
        result_code=code,
        description=str(result.get("ResultDesc") or ""),
        receipt=receipt.upper() if receipt else None,
        amount_cents=_amount(params.get("TransactionAmount")),
        recipient_name=_recipient(params.get("ReceiverPartyPublicName")),
        completed_at=_time(params.get("TransactionCompletedDateTime"), parse_daraja_dmy_time),
    )


def parse_b2c_timeout(body: bytes) -> B2CTimeout:
    result = _result(load_json(body))
    ocid = _text(result.get("OriginatorConversationID"))
    if not ocid:
        raise MalformedCallbackError("no OriginatorConversationID")
    return B2CTimeout(
        ocid=ocid,
        conversation_id=_text(result.get("ConversationID")),
        description=str(result.get("ResultDesc") or "timed out"),
    )


def _charge(value: Any) -> int | None:
    """``"Fee For B2C Payment|KES|22.40"`` -> 2240."""
    text = _text(value)
    if not text:
        return None
    try:
        return parse_kes_to_cents(text.rsplit("|", 1)[-1])
    except MoneyParseError:
        return None


def parse_status_result(body: bytes) -> StatusResult:
    result = _result(load_json(body))
    params = _params(result.get("ResultParameters"), "ResultParameter")
    references = _params(result.get("ReferenceData"), "ReferenceItem")
    recipient = params.get("CreditPartyName") or params.get("ReceiverPartyPublicName")
    return StatusResult(
        query_conversation_id=_text(result.get("ConversationID")),
        occasion=_text(references.get("Occasion") or references.get("Occassion")),
        result_code=_code(result.get("ResultCode")),
        description=str(result.get("ResultDesc") or ""),
        original_ocid=_text(params.get("OriginatorConversationID")),
        transaction_status=_text(params.get("TransactionStatus")),
        receipt=(_text(params.get("ReceiptNo")) or "").upper() or None,
        amount_cents=_amount(params.get("Amount")),
        recipient_name=_recipient(recipient),
        finalised_at=_time(params.get("FinalisedTime"), parse_daraja_compact_time),
        charge_cents=_charge(params.get("DebitPartyCharges")),
    )


def parse_c2b(body: bytes, *, channel: str = "c2b") -> IncomingPayment:
    """A validation or confirmation request (identical shapes)."""
    data = load_json(body)
    receipt = _text(data.get("TransID"))
    if not receipt:
        raise MalformedCallbackError("no TransID")
    amount = _amount(data.get("TransAmount"))
    if amount is None:
        raise MalformedCallbackError("no TransAmount")
    paid_at = _time(data.get("TransTime"), parse_daraja_compact_time)
    if paid_at is None:
        raise MalformedCallbackError("TransTime is not YYYYMMDDHHmmss")
    names = [_text(data.get(k)) for k in ("FirstName", "MiddleName", "LastName")]
    payer = " ".join(n for n in names if n) or None
    return IncomingPayment(
        receipt=receipt.upper(),
        amount_cents=amount,
        msisdn=_text(data.get("MSISDN")),
        bill_ref=str(data.get("BillRefNumber") or ""),  # as sent: the contract keeps it verbatim
        paid_at=paid_at,
        payer_name=payer,
        shortcode=_text(data.get("BusinessShortCode")),
        channel="c2b" if channel == "c2b" else "reconciliation",
    )


def parse_stk_callback(body: bytes) -> StkCallback:
    data = load_json(body)
    callback = (
        (data.get("Body") or {}).get("stkCallback") if isinstance(data.get("Body"), dict) else None
    )
    if not isinstance(callback, dict):
        raise MalformedCallbackError("no Body.stkCallback")
    checkout = _text(callback.get("CheckoutRequestID"))
    if not checkout:
        raise MalformedCallbackError("no CheckoutRequestID")
    items = _params(callback.get("CallbackMetadata"), "Item", name_key="Name")
    code = _code(callback.get("ResultCode"))
    receipt = _text(items.get("MpesaReceiptNumber"))
    phone = items.get("PhoneNumber")
    return StkCallback(
        checkout_request_id=checkout,
        merchant_request_id=_text(callback.get("MerchantRequestID")),
        result_code=code,
        description=str(callback.get("ResultDesc") or ""),
        receipt=receipt.upper() if receipt else None,
        amount_cents=_amount(items.get("Amount")),
        phone=str(phone) if phone is not None else None,
        paid_at=_time(items.get("TransactionDate"), parse_daraja_compact_time),
    )
