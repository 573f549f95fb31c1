"""A hand-written async client for a partner's Apache Fineract / Mifos X (current 1.x API).

Basic auth and the ``Fineract-Platform-TenantId`` header on every call; exactly the whitelisted
fields per command (Fineract answers 400 to any other); dates sent as ``yyyy-MM-dd`` with
``locale``; money as KES decimals from integer cents. Postings carry the M-Pesa receipt as
``externalId`` (unique in Fineract) and an ``Idempotency-Key``, so a retry after a timeout is
answered from Fineract's cache or refused as a duplicate, never posted twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx

from hazina_contracts.money import format_cents, parse_kes_to_cents

DATE_FORMAT = "yyyy-MM-dd"


@dataclass(frozen=True)
class FineractOk:
    resource_id: int | None
    served_from_cache: bool = False
    duplicate: bool = False
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FineractRejected:
    status: int
    code: str
    message: str
    retryable: bool
    parameter: str | None = None


@dataclass(frozen=True)
class FineractUnknown:
    reason: str


FineractResult = FineractOk | FineractRejected | FineractUnknown


@dataclass(frozen=True)
class LoanSummary:
    loan_id: int
    account_no: str
    status_id: int
    status: str
    client_id: int
    principal_cents: int
    product_id: int


@dataclass(frozen=True)
class ProductLimits:
    product_id: int
    name: str
    min_principal_cents: int | None
    max_principal_cents: int | None


class FineractClient:
    def __init__(
        self,
        base_url: str,
        *,
        username: str,
        password: str,
        tenant: str,
        timeout_seconds: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.http = http or httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=(username, password),
            headers={"Fineract-Platform-TenantId": tenant, "Content-Type": "application/json"},
            timeout=httpx.Timeout(timeout_seconds, connect=5.0),
        )
        self._username = username
        self._password = password

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _send(
        self, method: str, path: str, *, json: Any = None, idempotency_key: str | None = None
    ) -> FineractResult:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        try:
            response = await self.http.request(method, path, json=json, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return FineractRejected(0, "not_sent", type(exc).__name__, retryable=True)
        except httpx.HTTPError as exc:
            return FineractUnknown(f"{type(exc).__name__} on {path}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code < 300:
            resource = body.get("resourceId") if isinstance(body, dict) else None
            return FineractOk(
                resource_id=int(resource) if resource is not None else None,
                served_from_cache=response.headers.get("x-served-from-cache") == "true",
                body=body if isinstance(body, dict) else {"items": body},
            )
        errors = body.get("errors") if isinstance(body, dict) else None
        first = errors[0] if errors else {}
        code = str(
            (body or {}).get("userMessageGlobalisationCode")
            or first.get("userMessageGlobalisationCode")
            or ""
        )
        message = str((body or {}).get("defaultUserMessage") or response.text[:200])
        if response.status_code >= 500:
            return FineractUnknown(f"HTTP {response.status_code} {code}")
        # 409: in flight under the same Idempotency-Key, or a loan locked by close-of-business: later.
        return FineractRejected(
            response.status_code,
            code,
            message,
            retryable=response.status_code == 409,
            parameter=first.get("parameterName"),
        )

    # Reading

    async def test_connection(self) -> FineractResult:
        """Credentials and tenant work (``POST /authentication``)."""
        return await self._send(
            "POST", "/authentication", json={"username": self._username, "password": self._password}
        )

    async def get_loan(self, loan_id: int) -> LoanSummary | FineractRejected | FineractUnknown:
        result = await self._send("GET", f"/loans/{loan_id}?associations=transactions")
        if not isinstance(result, FineractOk):
            return result
        return _loan(result.body)

    async def list_loans(
        self, *, status: int | None = None, offset: int = 0, limit: int = 200
    ) -> list[LoanSummary]:
        query = f"/loans?offset={offset}&limit={limit}" + (
            f"&status={status}" if status is not None else ""
        )
        result = await self._send("GET", query)
        if not isinstance(result, FineractOk):
            raise FineractError(str(result))
        return [_loan(item) for item in result.body.get("pageItems", [])]

    async def get_product_limits(
        self, product_id: int
    ) -> ProductLimits | FineractRejected | FineractUnknown:
        result = await self._send("GET", f"/loanproducts/{product_id}")
        if not isinstance(result, FineractOk):
            return result
        body = result.body

        def cents(value: Any) -> int | None:
            return parse_kes_to_cents(value) if value is not None else None

        return ProductLimits(
            product_id=int(body["id"]),
            name=str(body.get("name", "")),
            min_principal_cents=cents(body.get("minPrincipal")),
            max_principal_cents=cents(body.get("maxPrincipal")),
        )

    # Commands

    async def approve_loan(
        self, loan_id: int, *, on: dt.date, amount_cents: int | None = None, note: str | None = None
    ) -> FineractResult:
        body: dict[str, Any] = {
            "approvedOnDate": on.isoformat(),
            "dateFormat": DATE_FORMAT,
            "locale": "en",
        }
        if amount_cents is not None:
            body["approvedLoanAmount"] = format_cents(amount_cents)
        if note:
            body["note"] = note[:1000]
        return await self._send(
            "POST",
            f"/loans/{loan_id}?command=approve",
            json=body,
            idempotency_key=f"approve-{loan_id}",
        )

    async def disburse_loan(
        self,
        loan_id: int,
        *,
        on: dt.date,
        amount_cents: int,
        mpesa_receipt: str,
        payment_type_id: int | None = None,
        note: str | None = None,
    ) -> FineractResult:
        body = _money_movement(
            "actualDisbursementDate",
            on,
            amount_cents,
            mpesa_receipt,
            payment_type_id,
            note,
            external_id=True,
        )
        result = await self._send(
            "POST",
            f"/loans/{loan_id}?command=disburse",
            json=body,
            idempotency_key=f"disburse-{mpesa_receipt}",
        )
        return await self._confirm_duplicate(loan_id, mpesa_receipt, result)

    async def post_repayment(
        self,
        loan_id: int,
        *,
        on: dt.date,
        amount_cents: int,
        mpesa_receipt: str,
        payment_type_id: int | None = None,
        note: str | None = None,
    ) -> FineractResult:
        body = _money_movement(
            "transactionDate",
            on,
            amount_cents,
            mpesa_receipt,
            payment_type_id,
            note,
            external_id=True,
        )
        result = await self._send(
            "POST",
            f"/loans/{loan_id}/transactions?command=repayment",
            json=body,
            idempotency_key=f"repayment-{mpesa_receipt}",
        )
        return await self._confirm_duplicate(loan_id, mpesa_receipt, result)

    async def post_savings_deposit(
        self,
        savings_id: int,
        *,
        on: dt.date,
        amount_cents: int,
        mpesa_receipt: str,
        payment_type_id: int | None = None,
    ) -> FineractResult:
        """Savings transactions have no ``externalId`` in this API: the Idempotency-Key is the guard."""
        body = _money_movement(
            "transactionDate",
            on,
            amount_cents,
            mpesa_receipt,
            payment_type_id,
            None,
            external_id=False,
        )
        return await self._send(
            "POST",
            f"/savingsaccounts/{savings_id}/transactions?command=deposit",
            json=body,
            idempotency_key=f"deposit-{mpesa_receipt}",
        )

    async def _confirm_duplicate(
        self, loan_id: int, external_id: str, result: FineractResult
    ) -> FineractResult:
        """A 403 for a repeated externalId means it was posted before: confirm by reading it back."""
        if (
            isinstance(result, FineractRejected)
            and result.status == 403
            and "duplicate" in result.code.lower()
        ):
            found = await self._send(
                "GET", f"/loans/{loan_id}/transactions/external-id/{external_id}"
            )
            if isinstance(found, FineractOk):
                return FineractOk(resource_id=found.body.get("id"), duplicate=True, body=found.body)
        return result


def _money_movement(
    date_field: str,
    on: dt.date,
    amount_cents: int,
    mpesa_receipt: str,
    payment_type_id: int | None,
    note: str | None,
    *,
    external_id: bool,
) -> dict[str, Any]:
    """The body every Fineract money command shares; the M-Pesa receipt identifies it."""
    body: dict[str, Any] = {
        date_field: on.isoformat(),
        "transactionAmount": format_cents(amount_cents),
        "receiptNumber": mpesa_receipt,
        "dateFormat": DATE_FORMAT,
        "locale": "en",
    }
    if external_id:
        body["externalId"] = mpesa_receipt
    if payment_type_id is not None:
        body["paymentTypeId"] = payment_type_id
    if note:
        body["note"] = note[:1000]
    return body


class FineractError(Exception):
    pass


def _loan(body: dict[str, Any]) -> LoanSummary:
    status = body.get("status") or {}
    return LoanSummary(
        loan_id=int(body["id"]),
        account_no=str(body.get("accountNo", "")),
        status_id=int(status.get("id", 0)),
        status=str(status.get("value", "")),
        client_id=int(body.get("clientId", 0)),
        principal_cents=parse_kes_to_cents(
            body.get("approvedPrincipal") or body.get("principal") or 0
        ),
        product_id=int(body.get("loanProductId", 0)),
    )
