"""A hand-written async Daraja client: explicit timeouts, typed results, and no automatic retry of a
money-moving request unless it provably never reached Daraja (connect failure, no token) or was
refused before processing (an invalid token, answered once by a fresh token).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog

from hazina_payments_gateway.adapters.daraja.auth import DarajaTokens, TokenUnavailableError
from hazina_payments_gateway.adapters.daraja.callbacks import (
    msisdn_field,
    parse_stk_query,
    reference_field,
    required_amount,
    required_receipt,
    shown,
    text_field,
)
from hazina_payments_gateway.application.ports import (
    Accepted,
    B2COrder,
    Rejected,
    SendResult,
    StkAccepted,
    StkOrder,
    StkQueryAnswer,
    StkResult,
    Unknown,
)
from hazina_payments_gateway.application.records import IncomingPayment, MalformedCallbackError
from hazina_payments_gateway.domain.rules import EAT, whole_shillings
from hazina_payments_gateway.domain.stk_prompt import PROMPT_REFERENCE_LENGTH

log = structlog.get_logger(__name__)

INVALID_TOKEN_CODES = frozenset({"404.001.03", "400.003.01", "401.002.01"})
# Refused by Daraja's API gateway before processing: the same request may go again later.
RATE_LIMIT_CODES = frozenset({"500.003.02", "500.003.03", "00.002.1001"})
DUPLICATE_OCID_CODE = "500.002.1001"


@dataclass(frozen=True)
class DarajaSettings:
    base_url: str
    consumer_key: str
    consumer_secret: str
    initiator_name: str
    security_credential: str
    b2c_shortcode: str
    c2b_shortcode: str
    stk_shortcode: str
    stk_passkey: str
    callback_base_url: str
    callback_token: str
    b2c_command_id: str = "BusinessPayment"
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 30.0

    def callback_url(self, path: str) -> str:
        return f"{self.callback_base_url.rstrip('/')}/api/pay/{path}/{self.callback_token}"


def _timestamp(at: datetime) -> str:
    return at.astimezone(EAT).strftime("%Y%m%d%H%M%S")


class DarajaClient:
    def __init__(self, settings: DarajaSettings, *, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=httpx.Timeout(
                settings.read_timeout_seconds, connect=settings.connect_timeout_seconds
            ),
            headers={"Content-Type": "application/json"},
        )
        self.tokens = DarajaTokens(
            self.http, consumer_key=settings.consumer_key, consumer_secret=settings.consumer_secret
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    # Transport

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response | Rejected | Unknown:
        """POST with a token; retried only when Daraja refused the token (it never processed the request)."""
        for attempt in range(2):
            try:
                token = await self.tokens.token()
            except TokenUnavailableError as exc:
                return Rejected("token_unavailable", str(exc), retryable=True, never_sent=True)
            try:
                response = await self.http.post(
                    path, json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                return Rejected(
                    "not_sent", f"{type(exc).__name__}", retryable=True, never_sent=True
                )
            except httpx.HTTPError as exc:  # sent, or partly: nobody knows what Daraja did
                return Unknown(f"{type(exc).__name__} on {path}")
            if _error_code(response) in INVALID_TOKEN_CODES and attempt == 0:
                await self.tokens.invalidate(token)
                continue
            return response
        return Rejected(
            "invalid_token", "Daraja refused a fresh token", retryable=True, never_sent=True
        )

    @staticmethod
    def _ack(
        response: httpx.Response | Rejected | Unknown, *, ocid: str | None = None
    ) -> SendResult:
        if isinstance(response, Rejected | Unknown):
            return response
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if response.status_code >= 500 or response.status_code == 200:
                return Unknown(f"HTTP {response.status_code} with an unreadable body")
            return Rejected(
                f"http_{response.status_code}", "unreadable error body", retryable=False
            )
        code = str(body.get("errorCode") or "")
        message = str(body.get("errorMessage") or "")
        if response.status_code == 200 and str(body.get("ResponseCode", "")) == "0":
            return Accepted(
                conversation_id=str(body.get("ConversationID") or ""),
                originator_conversation_id=str(body.get("OriginatorConversationID") or ocid or ""),
                raw=body,
            )
        if response.status_code == 200:
            return Rejected(
                str(body.get("ResponseCode")),
                str(body.get("ResponseDescription") or ""),
                retryable=False,
            )
        if code == DUPLICATE_OCID_CODE and "duplicate" in message.lower():
            return Accepted(
                conversation_id="", originator_conversation_id=ocid, duplicate=True, raw=body
            )
        if code in RATE_LIMIT_CODES:
            return Rejected(code, message, retryable=True, never_sent=True)
        if 400 <= response.status_code < 500:
            return Rejected(code or f"http_{response.status_code}", message, retryable=False)
        return Unknown(f"HTTP {response.status_code} {code} {message}".strip())

    # B2C

    async def b2c_payment(self, order: B2COrder) -> SendResult:
        s = self.settings
        body = {
            "OriginatorConversationID": order.ocid,
            "InitiatorName": s.initiator_name,
            "SecurityCredential": s.security_credential,
            "CommandID": s.b2c_command_id,
            "Amount": str(whole_shillings(order.amount_cents)),
            "PartyA": s.b2c_shortcode,
            "PartyB": order.phone,
            "Remarks": order.remarks[:100] or "Loan disbursement",
            "QueueTimeOutURL": s.callback_url("b2c/timeout"),
            "ResultURL": s.callback_url("b2c/result"),
            "Occassion": order.occasion[:100],
        }
        return self._ack(await self._post("/mpesa/b2c/v3/paymentrequest", body), ocid=order.ocid)

    async def transaction_status(
        self, *, ocid: str | None, receipt: str | None, occasion: str
    ) -> SendResult:
        s = self.settings
        body: dict[str, Any] = {
            "Initiator": s.initiator_name,
            "SecurityCredential": s.security_credential,
            "CommandID": "TransactionStatusQuery",
            "PartyA": s.b2c_shortcode,
            "IdentifierType": "4",
            "ResultURL": s.callback_url("status/result"),
            "QueueTimeOutURL": s.callback_url("status/timeout"),
            "Remarks": "Status check",
            "Occasion": occasion,
        }
        if receipt:
            body["TransactionID"] = receipt
        if ocid:
            body["OriginalConversationID"] = ocid
        return self._ack(await self._post("/mpesa/transactionstatus/v1/query", body))

    # STK Push

    def stk_password(self, at: datetime) -> tuple[str, str]:
        timestamp = _timestamp(at)
        raw = f"{self.settings.stk_shortcode}{self.settings.stk_passkey}{timestamp}"
        return base64.b64encode(raw.encode()).decode(), timestamp

    async def stk_push(self, order: StkOrder, *, at: datetime | None = None) -> StkResult:
        s = self.settings
        password, timestamp = self.stk_password(at or datetime.now(EAT))
        body = {
            "BusinessShortCode": s.stk_shortcode,
            "Password": password,
            "Timestamp": timestamp,
            "TransactionType": "CustomerPayBillOnline",
            "Amount": str(whole_shillings(order.amount_cents)),
            "PartyA": order.phone,
            "PartyB": s.stk_shortcode,
            "PhoneNumber": order.phone,
            "CallBackURL": s.callback_url("stk/callback"),
            "AccountReference": order.account_reference[:PROMPT_REFERENCE_LENGTH],
            "TransactionDesc": order.description[:13],
        }
        response = await self._post("/mpesa/stkpush/v1/processrequest", body)
        if isinstance(response, Rejected | Unknown):
            return response
        try:
            data = response.json()
        except ValueError:
            data = {}
        if (
            response.status_code == 200
            and str(data.get("ResponseCode")) == "0"
            and data.get("CheckoutRequestID")
        ):
            return StkAccepted(
                str(data["CheckoutRequestID"]), str(data.get("MerchantRequestID") or "")
            )
        result = self._ack(response)
        if isinstance(result, Accepted):  # "0" without a CheckoutRequestID: nothing to follow up
            return Unknown("STK accepted without a CheckoutRequestID")
        return result

    async def stk_query(
        self, checkout_request_id: str, *, at: datetime | None = None
    ) -> StkQueryAnswer:
        """Where a prompt stands; asked only when its callback is late (it never has the receipt)."""
        password, timestamp = self.stk_password(at or datetime.now(EAT))
        response = await self._post(
            "/mpesa/stkpushquery/v1/query",
            {
                "BusinessShortCode": self.settings.stk_shortcode,
                "Password": password,
                "Timestamp": timestamp,
                "CheckoutRequestID": checkout_request_id,
            },
        )
        if isinstance(response, Rejected):
            return StkQueryAnswer("unknown", description=f"{response.code}: {response.description}")
        if isinstance(response, Unknown):
            return StkQueryAnswer("unknown", description=response.reason)
        return parse_stk_query(response.status_code, response.content)

    # C2B and Pull Transactions

    async def register_c2b_urls(self, *, response_type: str = "Completed") -> SendResult:
        s = self.settings
        body = {
            "ShortCode": s.c2b_shortcode,
            "ResponseType": response_type,
            "ConfirmationURL": s.callback_url("c2b/confirmation"),
            "ValidationURL": s.callback_url("c2b/validation"),
        }
        response = await self._post("/mpesa/c2b/v2/registerurl", body)
        if isinstance(response, Rejected | Unknown):
            return response
        data = _json(response)
        if response.status_code == 200 and str(data.get("ResponseCode")) == "0":
            return Accepted(
                conversation_id=str(data.get("OriginatorCoversationID") or ""), raw=data
            )
        return self._ack(response)

    async def pull_transactions(
        self, start: datetime, end: datetime, *, shortcode: str | None = None
    ) -> list[IncomingPayment]:
        """Payments Daraja recorded on ``shortcode`` (default: the C2B paybill) between ``start``
        and ``end`` (EAT, last 48 h only), all pages."""
        shortcode = shortcode or self.settings.c2b_shortcode
        rows: list[IncomingPayment] = []
        offset = 0
        if end.microsecond:  # Daraja reads whole seconds: round the end up, not down
            end = end.replace(microsecond=0) + timedelta(seconds=1)
        while True:
            response = await self._post(
                "/pulltransactions/v1/query",
                {
                    "ShortCode": shortcode,
                    "StartDate": start.astimezone(EAT).strftime("%Y-%m-%d %H:%M:%S"),
                    "EndDate": end.astimezone(EAT).strftime("%Y-%m-%d %H:%M:%S"),
                    "OffSetValue": str(offset),
                },
            )
            if isinstance(response, Rejected | Unknown):
                raise PullFailedError(str(response))
            data = _json(response)
            code = str(data.get("ResponseCode", ""))
            if code == "1001":
                return rows
            if code != "1000":
                raise PullFailedError(
                    f"pull answered {response.status_code} {code or data.get('errorCode')}"
                )
            page = parse_pull_rows(data.get("Response"), shortcode=shortcode)
            rows.extend(page)
            if len(page) < 1000:
                return rows
            offset += len(page)

    async def stk_payments(self, start: datetime, end: datetime) -> list[IncomingPayment]:
        """Pull Transactions on the STK shortcode: where a paid prompt's receipt is found when its
        callback never came (an STK Push to a paybill is a payment on that paybill)."""
        return await self.pull_transactions(start, end, shortcode=self.settings.stk_shortcode)


class PullFailedError(Exception):
    pass


def parse_pull_rows(response: Any, *, shortcode: str | None) -> list[IncomingPayment]:
    """Pull Transactions rows (a list, or Daraja's list of lists) -> payments."""
    flat: list[dict[str, Any]] = []
    stack = [response]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            flat.append(item)
    out = []
    for row in flat:
        if not row.get("transactionId"):
            continue
        if "debit" not in str(row.get("transactiontype", "c2b-pay-bill-debit")).lower():
            continue
        try:
            # The same checks as a callback's: nothing unreadable becomes an event.
            receipt = required_receipt(row.get("transactionId"), "transactionId")
            amount = required_amount(row.get("amount"), "amount")
            paid_at = datetime.fromisoformat(str(row.get("trxDate")).replace("Z", "+00:00"))
            msisdn = msisdn_field(row.get("msisdn"), "msisdn")
            bill_ref = reference_field(row.get("billreference"), "billreference")
            payer = text_field(row.get("organizationname"), "organizationname", limit=100)
        except (MalformedCallbackError, ValueError) as exc:
            log.warning(
                "pull_row_unreadable", transaction=shown(row.get("transactionId")), error=str(exc)
            )
            continue
        if paid_at.tzinfo is None:
            paid_at = paid_at.replace(tzinfo=EAT)
        out.append(
            IncomingPayment(
                receipt=receipt,
                amount_cents=amount,
                msisdn=msisdn,
                bill_ref=bill_ref,
                paid_at=paid_at,
                payer_name=payer,
                shortcode=shortcode,
                channel="reconciliation",
            )
        )
    return out


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _error_code(response: httpx.Response) -> str:
    if response.status_code == 200:
        return ""
    return str(_json(response).get("errorCode") or "")
