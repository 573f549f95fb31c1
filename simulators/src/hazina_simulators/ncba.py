"""An NCBA simulator for the gateway's narrow bank interface (float purchase, its status, account
balance) and NCBA's paybill push notification. NCBA's API is not public: paths and fields follow
the third-party implementations summarised in docs/integrations.md §4, and are assumptions.

- ``POST /api/v1/Auth/generate-token`` ``{"userID","password"}`` -> ``{"accessToken","tokenType"}``
- ``POST /api/v1/FloatPurchase/floatpurchase`` ``{reqAmount, reqCustomerRef, reqDebitAccountNo,
  reqDebitAccountCurrency, reqCountry, reqB2CShortcode, reqNarration}`` -> ``{resultCode "000"}``;
  a repeated ``reqCustomerRef`` answers ``resultCode "094"`` (assumed duplicate-reference code)
- ``GET /api/v1/FloatPurchase/status/{reqCustomerRef}`` -> ``{"status": Pending|Completed|Failed|NotFound}``
- ``GET /api/v1/AccountBalance/{account}`` -> ``{"accountNumber","availableBalance","currency"}``
Every call needs ``Ocp-Apim-Subscription-Key``; all but the token need ``Authorization: Bearer``.
``POST /_control/notify`` sends a signed paybill notification to a URL (for wallet top-ups);
``POST /_control/settle/{reqCustomerRef}`` settles a float purchase at once.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hazina_simulators.common import mpesa_receipt, now_eat


class NcbaConfig(BaseModel):
    subscription_key: str = "sim-subscription-key"
    user_id: str = "sim-user"
    password: str = "sim-password"
    notification_secret: str = "sim-notification-secret"
    balances: dict[str, str] = Field(default_factory=lambda: {"1234567890": "2500000.00"})
    settle_after_seconds: float = 0.2
    fail_accounts: list[str] = Field(default_factory=list)


def notification_hash(secret: str, fields: dict[str, str]) -> str:
    """base64(SHA-256(secret + TransType + TransID + TransTime + TransAmount + BusinessShortCode +
    BillRefNumber + Mobile + name + "1")) over the raw digest — one of the variants seen in public code."""
    text = (
        secret
        + "".join(
            fields.get(k, "")
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
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


class Notify(BaseModel):
    url: str
    amount: str
    bill_ref: str
    mobile: str = "254712345678"
    name: str = "JANE WANJIKU"
    shortcode: str = "880100"


def create_app(config: NcbaConfig | None = None) -> FastAPI:
    cfg = config or NcbaConfig()
    lock = threading.Lock()
    tokens: set[str] = set()
    purchases: dict[str, dict[str, Any]] = {}
    balances = {k: Decimal(v) for k, v in cfg.balances.items()}
    app = FastAPI(title="NCBA simulator")
    app.state.purchases = purchases

    def refused(request: Request, *, token: bool = True) -> JSONResponse | None:
        if request.headers.get("ocp-apim-subscription-key") != cfg.subscription_key:
            return JSONResponse(
                {"statusCode": 401, "message": "Access denied due to invalid subscription key."},
                status_code=401,
            )
        if token:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or value not in tokens:
                return JSONResponse({"statusCode": 401, "message": "Unauthorized"}, status_code=401)
        return None

    @app.post("/api/v1/Auth/generate-token")
    async def token(request: Request) -> JSONResponse:
        if (problem := refused(request, token=False)) is not None:
            return problem
        body = await request.json()
        if (body.get("userID"), body.get("password")) != (cfg.user_id, cfg.password):
            return JSONResponse(
                {"statusCode": 401, "message": "Invalid credentials"}, status_code=401
            )
        value = secrets.token_urlsafe(24)
        tokens.add(value)
        return JSONResponse({"accessToken": value, "tokenType": "Bearer"})

    @app.post("/api/v1/FloatPurchase/floatpurchase")
    async def float_purchase(request: Request) -> JSONResponse:
        if (problem := refused(request)) is not None:
            return problem
        body = await request.json()
        ref = str(body.get("reqCustomerRef") or "")
        try:
            amount = Decimal(str(body.get("reqAmount")))
        except InvalidOperation:
            return JSONResponse(
                {"resultCode": "001", "resultDesc": "Invalid reqAmount"}, status_code=400
            )
        if not ref or amount <= 0:
            return JSONResponse(
                {"resultCode": "001", "resultDesc": "Invalid request"}, status_code=400
            )
        account = str(body.get("reqDebitAccountNo") or "")
        with lock:
            if ref in purchases:
                return JSONResponse({"resultCode": "094", "resultDesc": "Duplicate reqCustomerRef"})
            if account not in balances:
                return JSONResponse({"resultCode": "002", "resultDesc": "Invalid debit account"})
            failed = account in cfg.fail_accounts or balances[account] < amount
            purchases[ref] = {
                "amount": amount,
                "account": account,
                "bankReference": f"FT{secrets.token_hex(5).upper()}",
                "settles_at": time.time() + cfg.settle_after_seconds,
                "failed": failed,
                "shortcode": body.get("reqB2CShortcode"),
            }
            if not failed:
                balances[account] -= amount
        return JSONResponse(
            {
                "resultCode": "000",
                "resultDesc": "Request accepted",
                "transactionId": purchases[ref]["bankReference"],
            }
        )

    @app.get("/api/v1/FloatPurchase/status/{ref}")
    async def float_status(ref: str, request: Request) -> JSONResponse:
        if (problem := refused(request)) is not None:
            return problem
        purchase = purchases.get(ref)
        if purchase is None:
            return JSONResponse({"status": "NotFound", "reqCustomerRef": ref})
        if time.time() < purchase["settles_at"]:
            return JSONResponse({"status": "Pending", "reqCustomerRef": ref})
        if purchase["failed"]:
            return JSONResponse(
                {"status": "Failed", "reqCustomerRef": ref, "reason": "Insufficient funds"}
            )
        return JSONResponse(
            {
                "status": "Completed",
                "reqCustomerRef": ref,
                "bankReference": purchase["bankReference"],
                "completedAt": now_eat().isoformat(),
            }
        )

    @app.get("/api/v1/AccountBalance/{account}")
    async def balance(account: str, request: Request) -> JSONResponse:
        if (problem := refused(request)) is not None:
            return problem
        if account not in balances:
            return JSONResponse(
                {"statusCode": 404, "message": "Account not found"}, status_code=404
            )
        return JSONResponse(
            {
                "accountNumber": account,
                "availableBalance": f"{balances[account]:.2f}",
                "currency": "KES",
                "asOf": now_eat().isoformat(),
            }
        )

    @app.post("/_control/settle/{ref}")
    async def settle(ref: str) -> JSONResponse:
        """Settle a float purchase now (tests drive the bank's timing explicitly)."""
        with lock:
            purchase = purchases.get(ref)
            if purchase is None:
                return JSONResponse({"message": "no such reqCustomerRef"}, status_code=404)
            purchase["settles_at"] = 0.0
        return JSONResponse({"reqCustomerRef": ref, "settled": True})

    @app.post("/_control/notify")
    async def notify(body: Notify) -> JSONResponse:
        fields = {
            "TransType": "Pay Bill",
            "TransID": mpesa_receipt(),
            "FTRef": f"FT{secrets.token_hex(5).upper()}",
            "TransTime": now_eat().strftime("%Y%m%d%H%M%S"),
            "TransAmount": body.amount,
            "BusinessShortCode": body.shortcode,
            "BillRefNumber": body.bill_ref,
            "Narrative": "Wallet top-up",
            "Mobile": body.mobile,
            "name": body.name,
            "Username": cfg.user_id,
            "Password": cfg.password,
        }
        fields["Hash"] = notification_hash(cfg.notification_secret, fields)
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(body.url, json=fields)
        return JSONResponse({"sent": fields["TransID"], "status": response.status_code})

    return app
