"""NCBA behind a narrow interface: B2C float purchase, its status, an account's balance, and the
paybill push notification used for partner wallet top-ups.

NCBA's API is not public. Assumptions, from third-party code quoting NCBA's private documents
(docs/integrations.md §4), each isolated here so a real specification changes only this file:
- an Azure-APIM gateway: ``Ocp-Apim-Subscription-Key`` on every call, a bearer token from
  ``POST /api/v1/Auth/generate-token`` (no stated lifetime: fetched again on a 401);
- ``POST /api/v1/FloatPurchase/floatpurchase`` with our ``reqCustomerRef`` (deterministic, stored
  before the call) and ``resultCode "000"`` for accepted; a repeated reference is refused
  (``"094"``, assumed) and then means "already accepted";
- a status query by our reference (``GET /api/v1/FloatPurchase/status/{ref}``) — not confirmed to
  exist; without it, only statements can settle an unknown purchase;
- paybill notifications signed with base64(SHA-256(secret + TransType + TransID + TransTime +
  TransAmount + BusinessShortCode + BillRefNumber + Mobile + name + "1")); public code disagrees
  on digest-vs-hex, so both are accepted.
Amounts cross this interface as integer cents.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx

from hazina_contracts.money import MoneyParseError, format_cents, parse_kes_to_cents
from hazina_payments_gateway.domain.rules import EAT

DUPLICATE_REFERENCE = "094"


@dataclass(frozen=True)
class FloatPurchaseAccepted:
    request_id: str
    bank_reference: str | None
    duplicate: bool = False


@dataclass(frozen=True)
class BankRejected:
    code: str
    description: str
    retryable: bool


@dataclass(frozen=True)
class BankUnknown:
    reason: str


@dataclass(frozen=True)
class FloatPurchaseStatus:
    request_id: str
    state: Literal["pending", "completed", "failed", "not_found"]
    bank_reference: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Balance:
    account: str
    available_cents: int
    as_of: datetime | None


@dataclass(frozen=True)
class VerifiedTopUp:
    trans_id: str
    ft_ref: str | None
    amount_cents: int
    account: str
    bill_ref: str
    payer: str | None
    paid_at: datetime


class NcbaClient:
    def __init__(
        self,
        base_url: str,
        *,
        subscription_key: str,
        user_id: str,
        password: str,
        timeout_seconds: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.http = http or httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={
                "Ocp-Apim-Subscription-Key": subscription_key,
                "Content-Type": "application/json",
                "User-Agent": "hazina-payments-gateway",
            },  # NCBA's WAF blocks library default agents
            timeout=httpx.Timeout(timeout_seconds, connect=5.0),
        )
        self._user_id = user_id
        self._password = password
        self._token: str | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _authorised(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(2):
            if self._token is None:
                response = await self.http.post(
                    "/api/v1/Auth/generate-token",
                    json={"userID": self._user_id, "password": self._password},
                )
                if response.status_code != 200:
                    raise BankAuthError(f"NCBA token refused: HTTP {response.status_code}")
                self._token = str(response.json()["accessToken"])
            response = await self.http.request(
                method, path, headers={"Authorization": f"Bearer {self._token}"}, **kwargs
            )
            if response.status_code == 401 and attempt == 0:
                self._token = None  # refused before processing: a fresh token, once
                continue
            return response
        raise AssertionError("unreachable")

    async def purchase_float(
        self,
        *,
        request_id: str,
        amount_cents: int,
        debit_account: str,
        b2c_shortcode: str,
        narration: str,
    ) -> FloatPurchaseAccepted | BankRejected | BankUnknown:
        body = {
            "reqAmount": format_cents(amount_cents),
            "reqCustomerRef": request_id,
            "reqDebitAccountNo": debit_account,
            "reqDebitAccountCurrency": "KES",
            "reqCountry": "KE",
            "reqB2CShortcode": b2c_shortcode,
            "reqNarration": narration[:100],
        }
        try:
            response = await self._authorised(
                "POST", "/api/v1/FloatPurchase/floatpurchase", json=body
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, BankAuthError) as exc:
            return BankRejected("not_sent", str(exc) or type(exc).__name__, retryable=True)
        except httpx.HTTPError as exc:
            return BankUnknown(
                f"{type(exc).__name__}: ask get_float_purchase_status before anything else"
            )
        if response.status_code >= 500:
            return BankUnknown(f"HTTP {response.status_code}")
        data = _json(response)
        code = str(data.get("resultCode", ""))
        if code == "000":
            return FloatPurchaseAccepted(request_id, data.get("transactionId"))
        if code == DUPLICATE_REFERENCE:
            return FloatPurchaseAccepted(request_id, None, duplicate=True)
        return BankRejected(
            code or f"http_{response.status_code}",
            str(data.get("resultDesc") or data.get("message")),
            retryable=False,
        )

    async def get_float_purchase_status(self, request_id: str) -> FloatPurchaseStatus | BankUnknown:
        try:
            response = await self._authorised("GET", f"/api/v1/FloatPurchase/status/{request_id}")
        except (httpx.HTTPError, BankAuthError) as exc:
            return BankUnknown(type(exc).__name__)
        data = _json(response)
        states = {
            "pending": "pending",
            "completed": "completed",
            "failed": "failed",
            "notfound": "not_found",
        }
        state = states.get(str(data.get("status", "")).lower())
        if response.status_code != 200 or state is None:
            return BankUnknown(f"HTTP {response.status_code} status {data.get('status')!r}")
        return FloatPurchaseStatus(request_id, state, data.get("bankReference"), data.get("reason"))  # type: ignore[arg-type]

    async def get_balance(self, account: str) -> Balance | BankUnknown:
        try:
            response = await self._authorised("GET", f"/api/v1/AccountBalance/{account}")
        except (httpx.HTTPError, BankAuthError) as exc:
            return BankUnknown(type(exc).__name__)
        data = _json(response)
        if response.status_code != 200:
            return BankUnknown(f"HTTP {response.status_code}")
        as_of = data.get("asOf")
        return Balance(
            account,
            parse_kes_to_cents(data["availableBalance"]),
            datetime.fromisoformat(as_of) if as_of else None,
        )


class BankAuthError(Exception):
    pass


class InvalidNotificationError(ValueError):
    pass


def _expected_hashes(secret: str, fields: dict[str, Any]) -> set[str]:
    text = (
        secret
        + "".join(
            str(fields.get(k, ""))
            for k in (
                "TransType",
                "TransID",
                "TransTime",
                "TransAmount",
                "BusinessShortCode",
                "BillRefNumber",
                "Mobile",
                "name",
            )
        )
        + "1"
    )
    digest = hashlib.sha256(text.encode())
    return {
        base64.b64encode(digest.digest()).decode(),
        base64.b64encode(digest.hexdigest().encode()).decode(),
    }


def parse_notification(
    raw_body: bytes, *, secret: str, username: str, password: str
) -> VerifiedTopUp:
    """A JSON paybill notification, checked (credentials and hash) before it is believed."""
    try:
        fields = json.loads(raw_body)
    except ValueError:
        raise InvalidNotificationError("not JSON") from None
    if not isinstance(fields, dict):
        raise InvalidNotificationError("not a JSON object")
    if not (
        hmac.compare_digest(str(fields.get("Username", "")), username)
        and hmac.compare_digest(str(fields.get("Password", "")), password)
    ):
        raise InvalidNotificationError("wrong credentials")
    given = str(fields.get("Hash", ""))
    if not any(
        hmac.compare_digest(given, expected) for expected in _expected_hashes(secret, fields)
    ):
        raise InvalidNotificationError("hash does not match")
    try:
        amount = parse_kes_to_cents(fields.get("TransAmount"), allow_zero=False)
        paid_at = datetime.strptime(str(fields.get("TransTime")), "%Y%m%d%H%M%S").replace(
            tzinfo=EAT
        )
    except (MoneyParseError, ValueError):
        raise InvalidNotificationError("amount or time unreadable") from None
    return VerifiedTopUp(
        trans_id=str(fields.get("TransID", "")).upper(),
        ft_ref=fields.get("FTRef"),
        amount_cents=amount,
        account=str(fields.get("BusinessShortCode", "")),
        bill_ref=str(fields.get("BillRefNumber", "")),
        payer=fields.get("name"),
        paid_at=paid_at,
    )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
