"""Reading Daraja's callbacks, tolerant of its quirks: numbers as strings or numbers, a single
``ResultParameter``/``ReferenceItem`` as an object instead of a list, amounts as ``"1200"`` or
``"1200.00"``, times in three formats.

Strict about everything that would become an event: every string in a callback is free of control
characters (NUL included), every amount is written as Daraja writes amounts and is read by
``parse_kes_to_cents``, ids and phones have Daraja's shapes. Anything else raises
MalformedCallbackError naming the field; the raw callback stays in the inbox, flagged for staff.

This is the gateway's edge for money in: a receipt leaves here as an ``MpesaReceipt`` and a
payment's amount as an ``AmountCents``, normalised and checked once; nothing further in checks
them again.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from hazina_contracts.money import AmountCents, MoneyParseError, parse_kes_to_cents
from hazina_contracts.receipts import MpesaReceipt, ReceiptError
from hazina_payments_gateway.application.ports import StkQueryAnswer
from hazina_payments_gateway.application.records import (
    AccountBalanceResult,
    B2CResult,
    B2CTimeout,
    BalanceLine,
    IncomingPayment,
    MalformedCallbackError,
    QueueTimeout,
    ReversalResult,
    StatusResult,
    StkCallback,
)
from hazina_payments_gateway.domain.rules import (
    MAX_RAIL_AMOUNT_CENTS,
    GatewayRuleError,
    is_rail_amount_text,
    msisdn_shape,
    parse_daraja_compact_time,
    parse_daraja_dmy_time,
    unsafe_character,
)

MAX_TEXT = 200  # any one string in a callback (ids, names, descriptions, references)
MAX_REFERENCE = 100  # BillRefNumber: M-Pesa allows 20; kept generous, never unbounded


def shown(value: Any, limit: int = 40) -> str:
    """A value quoted for a message a person reads: escaped, never the raw bytes, never long."""
    text = value if isinstance(value, str) else str(value)
    clipped = text[:limit]
    return ascii(clipped) + ("…" if len(text) > limit else "")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def load_json(body: bytes) -> dict[str, Any]:
    """The callback as a JSON object; numbers with a fraction are read as Decimal, never float."""
    try:
        data = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedCallbackError("body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedCallbackError("body is not a JSON object")
    _check_strings(data)
    return data


def _check_strings(data: Any) -> None:
    """Every key and string value anywhere in the callback is storable and readable."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                if (bad := unsafe_character(str(key))) is not None:
                    raise MalformedCallbackError(
                        f"a field name contains a control character ({bad})", field=None
                    )
                stack.append((where, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, str) and (bad := unsafe_character(value)) is not None:
            raise MalformedCallbackError(
                f"{path} contains a control character ({bad})", field=_leaf(path)
            )


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[", 1)[0]


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
        raise MalformedCallbackError("ResultCode is missing", field="ResultCode")
    if isinstance(value, dict | list | bool):
        raise MalformedCallbackError("ResultCode is not a code", field="ResultCode")
    text = str(value).strip()
    if not text or len(text) > 40:
        raise MalformedCallbackError(f"ResultCode {shown(text)} is not a code", field="ResultCode")
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text


def amount_cents(
    value: Any,
    name: str,
    *,
    ceiling: int | None = MAX_RAIL_AMOUNT_CENTS,
    allow_zero: bool = False,
) -> int | None:
    """A Daraja amount (``1200``, ``"1200"``, ``"1200.00"``) in cents; None when absent.

    The text is checked for Daraja's shape before ``parse_kes_to_cents`` reads it, so exponents
    (``1e400000``), separators (``1,000``) and words are refused cheaply; so is anything above
    what a single M-Pesa transaction can move.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise MalformedCallbackError(f"{name} is not an amount", field=name)
    text = str(value).strip()
    if not is_rail_amount_text(text):
        raise MalformedCallbackError(f"{name} {shown(value)} is not an amount", field=name)
    try:
        cents = parse_kes_to_cents(text, allow_zero=allow_zero)
    except MoneyParseError:
        raise MalformedCallbackError(
            f"{name} {shown(value)} is not an amount", field=name
        ) from None
    if ceiling is not None and cents > ceiling:
        raise MalformedCallbackError(
            f"{name} {shown(value)} is more than any M-Pesa transaction", field=name
        )
    return cents


def payment_amount(value: Any, name: str) -> AmountCents | None:
    """The amount a payment moved (never zero, at most one M-Pesa transaction); None when absent."""
    cents = amount_cents(value, name)
    return None if cents is None else AmountCents(cents)


def required_amount(value: Any, name: str) -> AmountCents:
    amount = payment_amount(value, name)
    if amount is None:
        raise MalformedCallbackError(f"no {name}", field=name)
    return amount


def text_field(value: Any, name: str, *, limit: int = MAX_TEXT) -> str | None:
    """A scalar read as text (Daraja sends some ids as numbers), trimmed; None when empty."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise MalformedCallbackError(f"{name} is not text", field=name)
    text = str(value).strip()
    if len(text) > limit:
        raise MalformedCallbackError(f"{name} is longer than {limit} characters", field=name)
    if (bad := unsafe_character(text)) is not None:
        raise MalformedCallbackError(f"{name} contains a control character ({bad})", field=name)
    return text or None


def receipt_field(value: Any, name: str) -> MpesaReceipt | None:
    """An M-Pesa receipt (``TAF2K9LMNP``): 6 to 20 letters and digits, upper-cased; None if absent."""
    text = text_field(value, name)
    if text is None:
        return None
    try:
        return MpesaReceipt(text)
    except ReceiptError:
        raise MalformedCallbackError(
            f"{name} {shown(text)} is not an M-Pesa receipt", field=name
        ) from None


def required_receipt(value: Any, name: str) -> MpesaReceipt:
    receipt = receipt_field(value, name)
    if receipt is None:
        raise MalformedCallbackError(f"no {name}", field=name)
    return receipt


def msisdn_field(value: Any, name: str) -> str | None:
    """A phone as Daraja sends it: in full, masked (``2547 ***** 678``) or hashed; kept as sent."""
    text = text_field(value, name, limit=64)
    if text is None:
        return None
    if msisdn_shape(text) is None:
        raise MalformedCallbackError(f"{name} {shown(text)} is not a phone number", field=name)
    return text


def reference_field(value: Any, name: str) -> str:
    """What the customer typed as the account, kept verbatim (the contract keeps it as sent)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise MalformedCallbackError(f"{name} is not text", field=name)
    text = str(value)
    if len(text) > MAX_REFERENCE:
        raise MalformedCallbackError(
            f"{name} is longer than {MAX_REFERENCE} characters", field=name
        )
    if (bad := unsafe_character(text)) is not None:
        raise MalformedCallbackError(f"{name} contains a control character ({bad})", field=name)
    return text


def _recipient(public_name: Any, name: str) -> str | None:
    """``"254712345678 - JANE WANJIKU"`` -> ``"JANE WANJIKU"``; the number is not repeated in events."""
    text = text_field(public_name, name)
    if text is None:
        return None
    return text.split(" - ", 1)[1].strip() if " - " in text else text


def _time(value: Any, parser: Any) -> datetime | None:
    if value in (None, "") or isinstance(value, dict | list | bool):
        return None
    try:
        parsed: datetime = parser(value)
    except (GatewayRuleError, ValueError, OverflowError):
        return None
    return parsed


def _result(data: dict[str, Any]) -> dict[str, Any]:
    result = data.get("Result")
    if not isinstance(result, dict):
        raise MalformedCallbackError("no Result object", field="Result")
    return result


def _description(value: Any) -> str:
    return text_field(value, "ResultDesc", limit=MAX_TEXT) or ""


def parse_b2c_result(body: bytes) -> B2CResult:
    result = _result(load_json(body))
    ocid = text_field(result.get("OriginatorConversationID"), "OriginatorConversationID")
    if not ocid:
        raise MalformedCallbackError(
            "no OriginatorConversationID", field="OriginatorConversationID"
        )
    params = _params(result.get("ResultParameters"), "ResultParameter")
    code = _code(result.get("ResultCode"))
    receipt = receipt_field(params.get("TransactionReceipt"), "TransactionReceipt")
    if receipt is None and code == "0":
        receipt = receipt_field(result.get("TransactionID"), "TransactionID")
    return B2CResult(
        ocid=ocid,
        conversation_id=text_field(result.get("ConversationID"), "ConversationID"),
        result_code=code,
        description=_description(result.get("ResultDesc")),
        receipt=receipt,
        amount_cents=amount_cents(params.get("TransactionAmount"), "TransactionAmount"),
        recipient_name=_recipient(params.get("ReceiverPartyPublicName"), "ReceiverPartyPublicName"),
        completed_at=_time(params.get("TransactionCompletedDateTime"), parse_daraja_dmy_time),
    )


def parse_queue_timeout(body: bytes) -> QueueTimeout:
    """Any QueueTimeOutURL notice; its shape is undocumented, so only the ids are read."""
    result = _result(load_json(body))
    code = result.get("ResultCode")
    return QueueTimeout(
        ocid=text_field(result.get("OriginatorConversationID"), "OriginatorConversationID"),
        conversation_id=text_field(result.get("ConversationID"), "ConversationID"),
        result_code=_code(code) if code is not None else None,
        description=_description(result.get("ResultDesc")) or "timed out",
    )


def parse_b2c_timeout(body: bytes) -> B2CTimeout:
    timeout = parse_queue_timeout(body)
    if not timeout.ocid:
        raise MalformedCallbackError(
            "no OriginatorConversationID", field="OriginatorConversationID"
        )
    return B2CTimeout(
        ocid=timeout.ocid,
        conversation_id=timeout.conversation_id,
        description=timeout.description,
    )


def _charge(value: Any) -> int | None:
    """``"Fee For B2C Payment|KES|22.40"`` -> 2240."""
    text = text_field(value, "DebitPartyCharges")
    if not text:
        return None
    return amount_cents(text.rsplit("|", 1)[-1], "DebitPartyCharges", allow_zero=True)


def parse_status_result(body: bytes) -> StatusResult:
    result = _result(load_json(body))
    params = _params(result.get("ResultParameters"), "ResultParameter")
    references = _params(result.get("ReferenceData"), "ReferenceItem")
    recipient_key = (
        "CreditPartyName" if params.get("CreditPartyName") else "ReceiverPartyPublicName"
    )
    return StatusResult(
        query_conversation_id=text_field(result.get("ConversationID"), "ConversationID"),
        occasion=text_field(references.get("Occasion") or references.get("Occassion"), "Occasion"),
        result_code=_code(result.get("ResultCode")),
        description=_description(result.get("ResultDesc")),
        original_ocid=text_field(
            params.get("OriginatorConversationID"), "OriginatorConversationID"
        ),
        transaction_status=text_field(params.get("TransactionStatus"), "TransactionStatus"),
        receipt=receipt_field(params.get("ReceiptNo"), "ReceiptNo"),
        amount_cents=amount_cents(params.get("Amount"), "Amount"),
        recipient_name=_recipient(params.get(recipient_key), recipient_key),
        finalised_at=_time(params.get("FinalisedTime"), parse_daraja_compact_time),
        charge_cents=_charge(params.get("DebitPartyCharges")),
    )


def parse_reversal_result(body: bytes) -> ReversalResult:
    result = _result(load_json(body))
    params = _params(result.get("ResultParameters"), "ResultParameter")
    return ReversalResult(
        ocid=text_field(result.get("OriginatorConversationID"), "OriginatorConversationID"),
        conversation_id=text_field(result.get("ConversationID"), "ConversationID"),
        result_code=_code(result.get("ResultCode")),
        description=_description(result.get("ResultDesc")),
        transaction_id=text_field(result.get("TransactionID"), "TransactionID"),
        original_receipt=receipt_field(
            params.get("OriginalTransactionID"), "OriginalTransactionID"
        ),
        amount_cents=amount_cents(params.get("Amount"), "Amount"),
        completed_at=_time(params.get("TransCompletedTime"), parse_daraja_compact_time),
    )


def _balance_lines(value: Any) -> tuple[BalanceLine, ...]:
    """``Working Account|KES|700000.00|700000.00|0.00|0.00&Utility Account|KES|...``.

    The meaning of the four figures is garbled in Daraja's docs, so they are kept in order.
    Figures may be negative (the charges-paid account) and are balances, not transactions: no
    per-transaction ceiling applies.
    """
    text = text_field(value, "AccountBalance", limit=2000)
    if not text:
        return ()
    lines = []
    for part in text.split("&"):
        fields = [f.strip() for f in part.split("|")]
        if len(fields) < 3:
            raise MalformedCallbackError(
                f"AccountBalance entry {shown(part)} is not Name|Currency|figures",
                field="AccountBalance",
            )
        figures = []
        for figure in fields[2:]:
            negative = figure.startswith("-")
            cents = amount_cents(
                figure.removeprefix("-"), "AccountBalance", ceiling=None, allow_zero=True
            )
            figures.append(-(cents or 0) if negative else (cents or 0))
        lines.append(
            BalanceLine(account=fields[0], currency=fields[1], figures_cents=tuple(figures))
        )
    return tuple(lines)


def parse_balance_result(body: bytes) -> AccountBalanceResult:
    result = _result(load_json(body))
    params = _params(result.get("ResultParameters"), "ResultParameter")
    return AccountBalanceResult(
        ocid=text_field(result.get("OriginatorConversationID"), "OriginatorConversationID"),
        conversation_id=text_field(result.get("ConversationID"), "ConversationID"),
        result_code=_code(result.get("ResultCode")),
        description=_description(result.get("ResultDesc")),
        accounts=_balance_lines(params.get("AccountBalance")),
        completed_at=_time(params.get("BOCompletedTime"), parse_daraja_compact_time),
    )


_C2B_TEXT_FIELDS = ("FirstName", "MiddleName", "LastName")


def parse_c2b(body: bytes, *, channel: str = "c2b") -> IncomingPayment:
    """A validation or confirmation request (identical shapes)."""
    data = load_json(body)
    receipt = required_receipt(data.get("TransID"), "TransID")
    amount = required_amount(data.get("TransAmount"), "TransAmount")
    paid_at = _time(data.get("TransTime"), parse_daraja_compact_time)
    if paid_at is None:
        raise MalformedCallbackError("TransTime is not YYYYMMDDHHmmss", field="TransTime")
    names = [text_field(data.get(k), k, limit=100) for k in _C2B_TEXT_FIELDS]
    shortcode = text_field(data.get("BusinessShortCode"), "BusinessShortCode", limit=20)
    if shortcode is not None and not shortcode.isdigit():
        raise MalformedCallbackError(
            f"BusinessShortCode {shown(shortcode)} is not a shortcode", field="BusinessShortCode"
        )
    payer = " ".join(n for n in names if n) or None
    return IncomingPayment(
        receipt=receipt,
        amount_cents=amount,
        msisdn=msisdn_field(data.get("MSISDN"), "MSISDN"),
        bill_ref=reference_field(data.get("BillRefNumber"), "BillRefNumber"),
        paid_at=paid_at,
        payer_name=payer,
        shortcode=shortcode,
        channel="c2b" if channel == "c2b" else "reconciliation",
    )


def parse_stk_callback(body: bytes) -> StkCallback:
    data = load_json(body)
    callback = (
        (data.get("Body") or {}).get("stkCallback") if isinstance(data.get("Body"), dict) else None
    )
    if not isinstance(callback, dict):
        raise MalformedCallbackError("no Body.stkCallback", field="stkCallback")
    checkout = text_field(callback.get("CheckoutRequestID"), "CheckoutRequestID")
    if not checkout:
        raise MalformedCallbackError("no CheckoutRequestID", field="CheckoutRequestID")
    items = _params(callback.get("CallbackMetadata"), "Item", name_key="Name")
    code = _code(callback.get("ResultCode"))
    return StkCallback(
        checkout_request_id=checkout,
        merchant_request_id=text_field(callback.get("MerchantRequestID"), "MerchantRequestID"),
        result_code=code,
        description=_description(callback.get("ResultDesc")),
        receipt=receipt_field(items.get("MpesaReceiptNumber"), "MpesaReceiptNumber"),
        amount_cents=payment_amount(items.get("Amount"), "Amount"),
        phone=msisdn_field(items.get("PhoneNumber"), "PhoneNumber"),
        paid_at=_time(items.get("TransactionDate"), parse_daraja_compact_time),
    )


def parse_stk_query(status_code: int, body: bytes) -> StkQueryAnswer:
    """Daraja's answer to an STK Push Query, read as strictly as a callback.

    While the customer has not finished, Daraja answers with an error envelope (HTTP 500,
    ``500.001.1001``, "The transaction is being processed"): that is ``pending``, not a failure.
    """
    try:
        data = load_json(body)
        message = text_field(data.get("errorMessage"), "errorMessage") or ""
        if "being processed" in message.lower():
            return StkQueryAnswer("pending", description=message)
        if status_code == 200 and "ResultCode" in data:
            return StkQueryAnswer(
                "done",
                result_code=_code(data.get("ResultCode")),
                description=_description(data.get("ResultDesc")),
            )
        code = text_field(data.get("errorCode"), "errorCode") or f"HTTP {status_code}"
    except MalformedCallbackError as exc:
        return StkQueryAnswer("unknown", description=f"unreadable answer: {exc}")
    return StkQueryAnswer("unknown", description=f"{code} {message}".strip())
