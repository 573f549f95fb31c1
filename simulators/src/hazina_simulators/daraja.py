"""A Safaricom Daraja simulator: OAuth, B2C v3 (v1), C2B register/simulate, STK Push and query,
Transaction Status, Reversal, Account Balance and Pull Transactions, with callbacks fired
asynchronously to the URLs the caller gave, in Daraja's wire formats (including its quirks:
numbers as strings or numbers, ``OriginatorCoversationID``, ``RecieverIdentifierType``).

Outcomes are chosen for the next N requests with ``POST /_control/<kind>``
``{"outcome": "...", "count": N, "delay_seconds": s}``; success is the default. ``GET /_control/state``
shows what the simulator recorded (B2C requests, C2B transactions, callback deliveries);
``POST /_control/stk/{CheckoutRequestID}/act`` ends an STK prompt's pending period at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hazina_simulators.common import (
    BackgroundTasks,
    OutcomeQueue,
    conversation_id,
    daraja_error,
    mpesa_receipt,
    now_eat,
)

SANDBOX_STK_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
_FORBIDDEN_URL_WORDS = ("m-pesa", "mpesa", "safaricom", "exec", "exe", "cmd", "sql", "query")
_MSISDN = re.compile(r"^254(7|1)\d{8}$")

B2C_OUTCOMES = {
    "success",
    "insufficient_funds",  # ResultCode 1
    "invalid_number",  # ResultCode 2040 (not an M-Pesa customer)
    "initiator_invalid",  # ResultCode 2001
    "timeout",  # no callback at all; the payment did complete (a status query says so)
    "timeout_failed",  # no callback at all; the payment failed (a status query says Declined)
    "queue_timeout",  # only the QueueTimeOutURL is called; nothing was processed
    "duplicate_callbacks",  # the result callback arrives twice (``extra.copies`` for more)
    "delayed",  # the result callback arrives after ``delay_seconds``
    "out_of_order",  # a queue-timeout notification first, then the success result
    "server_error",  # HTTP 500 500.003.1001; nothing processed
    "server_error_processed",  # HTTP 500 500.003.1001, yet processed and called back (ambiguous)
    "slow_ack",  # the acknowledgement takes ``delay_seconds``; processed and called back
}
C2B_OUTCOMES = {
    "success",
    "drop_confirmation",
    "duplicate_confirmation",
    "delayed",
    "validation_only",
}
STK_OUTCOMES = {
    "success",
    "cancelled",
    "insufficient_funds",
    "unreachable",
    "no_callback",  # the prompt times out (1037) and no callback is sent
    "paid_no_callback",  # paid, but neither the callback nor a C2B confirmation is sent
    "delayed",
}
OAUTH_OUTCOMES = {"success", "server_error", "bad_gateway", "slow"}
STATUS_OUTCOMES = {"success", "no_callback", "server_error"}


class DarajaConfig(BaseModel):
    consumer_key: str = "sim-consumer-key"
    consumer_secret: str = "sim-consumer-secret"
    token_ttl_seconds: int = 3599
    invalidate_on_reissue: bool = False
    initiator_name: str | None = None  # when set, B2C/status/etc. check it
    initiator_password: str | None = (
        None  # with private_key_pem: SecurityCredential is decrypted and checked
    )
    private_key_pem: str | None = None
    stk_passkey: str = SANDBOX_STK_PASSKEY
    callback_delay_seconds: float = 0.2
    stk_pending_seconds: float = 0.3
    validation_timeout_seconds: float = 8.0
    external_validation: bool = True
    stk_emits_c2b: bool = True
    utility_balance_cents: int = 5_000_000_00
    tariff: list[tuple[int, int, int]] = Field(
        default_factory=lambda: [
            (10, 100, 0),
            (101, 1500, 5),
            (1501, 5000, 9),
            (5001, 20000, 11),
            (20001, 250000, 13),
        ]
    )


@dataclass
class B2CTransaction:
    ocid: str
    conversation_id: str
    request: dict[str, Any]
    outcome: str
    amount: int
    msisdn: str
    receipt: str | None = None
    status: str = "Initiated"  # Initiated -> Completed | Declined | (absent when never processed)
    result_code: int | str | None = None
    result_desc: str = ""
    initiated_at: datetime = field(default_factory=now_eat)
    finalised_at: datetime | None = None
    recipient_name: str = "JANE WANJIKU"


@dataclass
class C2BTransaction:
    trans_id: str
    shortcode: str
    command_id: str
    amount: int
    msisdn: str
    bill_ref: str
    trans_time: datetime
    first_name: str
    status: str = "Pending"  # Pending -> Completed | Rejected
    confirmation_deliveries: int = 0
    outcome: str = "success"


@dataclass
class StkRequest:
    merchant_request_id: str
    checkout_request_id: str
    request: dict[str, Any]
    outcome: str
    done_at: float
    result_code: int | None = None
    result_desc: str = ""
    receipt: str | None = None
    # Set by ``POST /_control/stk/{CheckoutRequestID}/act``: the customer acts now.
    acted: asyncio.Event = field(default_factory=asyncio.Event)


class ControlRequest(BaseModel):
    outcome: str
    count: int = Field(default=1, ge=1, le=10_000)
    delay_seconds: float | None = Field(default=None, ge=0, le=3600)
    extra: dict[str, Any] = Field(default_factory=dict)


class DarajaSimulator:
    """State of one simulated Daraja: tokens, shortcodes' registrations, transactions, deliveries."""

    def __init__(self, config: DarajaConfig | None = None) -> None:
        self.config = config or DarajaConfig()
        self._lock = threading.Lock()
        self.tasks = BackgroundTasks()
        self.client: httpx.AsyncClient | None = None
        self.reset()
        self._private_key: rsa.RSAPrivateKey | None = None
        if self.config.private_key_pem:
            key = serialization.load_pem_private_key(
                self.config.private_key_pem.encode(), password=None
            )
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError("the simulator's private key must be RSA")
            self._private_key = key

    def reset(self) -> None:
        with self._lock:
            self.tokens: dict[str, float] = {}
            self.b2c: dict[str, B2CTransaction] = {}
            self.b2c_requests: list[dict[str, Any]] = []
            self.c2b_registrations: dict[str, dict[str, Any]] = {}
            self.c2b: dict[str, C2BTransaction] = {}
            self.stk: dict[str, StkRequest] = {}
            self.status_queries: list[dict[str, Any]] = []
            self.pull_registrations: dict[str, dict[str, Any]] = {}
            self.deliveries: list[dict[str, Any]] = []
            self.outcomes = {
                "b2c": OutcomeQueue(B2C_OUTCOMES),
                "c2b": OutcomeQueue(C2B_OUTCOMES),
                "stk": OutcomeQueue(STK_OUTCOMES),
                "oauth": OutcomeQueue(OAUTH_OUTCOMES),
                "status": OutcomeQueue(STATUS_OUTCOMES),
            }
            self.oauth_requests = 0

    # Helpers

    def charge_for(self, amount: int) -> int:
        for low, high, charge in self.config.tariff:
            if low <= amount <= high:
                return charge
        return self.config.tariff[-1][2]

    def check_credential(self, credential: str) -> bool:
        if self._private_key is None or self.config.initiator_password is None:
            return bool(credential)
        try:
            plain = self._private_key.decrypt(
                base64.b64decode(credential, validate=True), padding.PKCS1v15()
            )
        except Exception:
            return False
        return plain == self.config.initiator_password.encode()

    def initiator_ok(self, name: str, credential: str) -> bool:
        if self.config.initiator_name is not None and name != self.config.initiator_name:
            return False
        return self.check_credential(credential)

    async def deliver(self, url: str, payload: dict[str, Any], *, delay: float, kind: str) -> None:
        """POST one callback; Daraja does not retry a failed delivery, and neither do we."""
        if delay > 0:
            await asyncio.sleep(delay)
        record: dict[str, Any] = {"kind": kind, "url": url, "at": time.time(), "payload": payload}
        assert self.client is not None
        try:
            response = await self.client.post(url, json=payload, timeout=10.0)
            record["status"] = response.status_code
            with contextlib.suppress(ValueError):
                record["response"] = response.json()
        except httpx.HTTPError as exc:
            record["status"] = None
            record["error"] = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.deliveries.append(record)

    def later(
        self, url: str, payload: dict[str, Any], *, delay: float | None = None, kind: str
    ) -> None:
        self.tasks.spawn(
            self.deliver(
                url,
                payload,
                delay=self.config.callback_delay_seconds if delay is None else delay,
                kind=kind,
            )
        )


def _required(body: dict[str, Any], names: list[str]) -> JSONResponse | None:
    for name in names:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return daraja_error(400, "400.002.02", f"Bad Request - Invalid {name}")
    return None


def _whole_amount(value: Any) -> int | None:
    try:
        text = str(value).strip()
        if re.fullmatch(r"\d+(\.0+)?", text):
            return int(text.split(".")[0])
    except Exception:
        return None
    return None


def _forbidden_url(url: str) -> bool:
    lowered = url.lower()
    return any(word in lowered for word in _FORBIDDEN_URL_WORDS)


def _fmt_dmy(at: datetime) -> str:
    return at.strftime("%d.%m.%Y %H:%M:%S")


def _fmt_compact(at: datetime) -> str:
    return at.strftime("%Y%m%d%H%M%S")


def _masked(msisdn: str) -> str:
    return f"{msisdn[:4]} ***** {msisdn[-3:]}" if len(msisdn) >= 7 else "***"


def create_app(config: DarajaConfig | None = None) -> FastAPI:
    sim = DarajaSimulator(config)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        sim.client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0))
        try:
            yield
        finally:
            await sim.tasks.close()
            await sim.client.aclose()

    app = FastAPI(title="Daraja simulator", lifespan=lifespan)
    app.state.sim = sim

    async def authorised_json(request: Request) -> dict[str, Any] | JSONResponse:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        expiry = sim.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or expiry < time.time():
            return daraja_error(404, "404.001.03", "Invalid Access Token")
        if "application/json" not in request.headers.get("content-type", ""):
            return daraja_error(400, "400.002.02", "Bad Request - Invalid Content-Type")
        try:
            body = await request.json()
        except ValueError:
            return daraja_error(400, "400.002.05", "Invalid request payload")
        if not isinstance(body, dict):
            return daraja_error(400, "400.002.05", "Invalid request payload")
        return body

    # OAuth

    @app.get("/oauth/v1/generate")
    async def oauth(request: Request) -> JSONResponse:
        sim.oauth_requests += 1
        outcome = sim.outcomes["oauth"].pop()
        if outcome.name == "server_error":
            return daraja_error(500, "500.003.1001", "Internal Server Error")
        if outcome.name == "bad_gateway":
            return JSONResponse({"message": "Bad Gateway"}, status_code=503)
        if outcome.name == "slow":
            await asyncio.sleep(outcome.delay_seconds or 5.0)
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return daraja_error(400, "400.008.01", "Invalid Authentication passed")
        try:
            key, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
        except Exception:
            return daraja_error(400, "400.008.01", "Invalid Authentication passed")
        if request.query_params.get("grant_type") != "client_credentials":
            return daraja_error(400, "400.008.02", "Invalid grant type passed")
        if (key, secret) != (sim.config.consumer_key, sim.config.consumer_secret):
            return daraja_error(400, "400.008.01", "Invalid Authentication passed")
        token = secrets.token_urlsafe(21)
        with sim._lock:
            if sim.config.invalidate_on_reissue:
                sim.tokens.clear()
            sim.tokens[token] = time.time() + sim.config.token_ttl_seconds
        return JSONResponse(
            {"access_token": token, "expires_in": str(sim.config.token_ttl_seconds)}
        )

    # B2C

    async def b2c(request: Request, *, version: int) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        names = [
            "InitiatorName",
            "SecurityCredential",
            "CommandID",
            "Amount",
            "PartyA",
            "PartyB",
            "Remarks",
            "QueueTimeOutURL",
            "ResultURL",
        ]
        if version == 3:
            names.insert(0, "OriginatorConversationID")
        if (missing := _required(body, names)) is not None:
            return missing
        if body["CommandID"] not in {"BusinessPayment", "SalaryPayment", "PromotionPayment"}:
            return daraja_error(400, "400.002.02", "Bad Request - Invalid CommandID")
        amount = _whole_amount(body["Amount"])
        if amount is None:
            return daraja_error(400, "400.002.02", "Bad Request - Invalid Amount")
        ocid = (
            str(body["OriginatorConversationID"])
            if version == 3
            else f"{secrets.randbelow(99999)}-{secrets.randbelow(9999999)}-1"
        )
        outcome = sim.outcomes["b2c"].pop()
        with sim._lock:
            sim.b2c_requests.append(
                {"ocid": ocid, "body": body, "outcome": outcome.name, "at": time.time()}
            )
            if ocid in sim.b2c:
                return daraja_error(500, "500.002.1001", "Duplicate OriginatorConversationID")
        if outcome.name == "server_error":
            return daraja_error(500, "500.003.1001", "Internal Server Error")
        txn = B2CTransaction(
            ocid=ocid,
            conversation_id=conversation_id(),
            request=body,
            outcome=outcome.name,
            amount=amount,
            msisdn=str(body["PartyB"]),
        )
        with sim._lock:
            sim.b2c[ocid] = txn
        delay = (
            outcome.delay_seconds
            if outcome.delay_seconds is not None
            else sim.config.callback_delay_seconds
        )
        if outcome.name == "slow_ack":
            await asyncio.sleep(outcome.delay_seconds or 5.0)
            delay = sim.config.callback_delay_seconds
        sim.tasks.spawn(_run_b2c(sim, txn, outcome.name, delay, outcome.extra))
        if outcome.name == "server_error_processed":
            return daraja_error(500, "500.003.1001", "Internal Server Error")
        return JSONResponse(
            {
                "ConversationID": txn.conversation_id,
                "OriginatorConversationID": ocid,
                "ResponseCode": "0",
                "ResponseDescription": "Accept the service request successfully.",
            }
        )

    @app.post("/mpesa/b2c/v3/paymentrequest")
    async def b2c_v3(request: Request) -> JSONResponse:
        return await b2c(request, version=3)

    @app.post("/mpesa/b2c/v1/paymentrequest")
    async def b2c_v1(request: Request) -> JSONResponse:
        return await b2c(request, version=1)

    # C2B

    async def register(request: Request) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        if (
            missing := _required(body, ["ShortCode", "ResponseType", "ConfirmationURL"])
        ) is not None:
            return missing
        if body["ResponseType"] not in {"Completed", "Cancelled"}:
            return daraja_error(400, "400.002.02", "Bad Request - Invalid ResponseType")
        for key in ("ConfirmationURL", "ValidationURL"):
            if body.get(key) and _forbidden_url(str(body[key])):
                return daraja_error(400, "400.002.02", f"Bad Request - Invalid {key}")
        version = 2 if "/v2/" in request.url.path else 1
        with sim._lock:
            sim.c2b_registrations[str(body["ShortCode"])] = {**body, "version": version}
        return JSONResponse(
            {
                "OriginatorCoversationID": f"{secrets.randbelow(99999)}-{secrets.randbelow(9999999)}-1",
                "ResponseCode": "0",
                "ResponseDescription": "Success",
            }
        )

    app.post("/mpesa/c2b/v1/registerurl")(register)
    app.post("/mpesa/c2b/v2/registerurl")(register)

    async def simulate(request: Request) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        if (missing := _required(body, ["ShortCode", "CommandID", "Amount", "Msisdn"])) is not None:
            return missing
        if body["CommandID"] not in {"CustomerPayBillOnline", "CustomerBuyGoodsOnline"}:
            return daraja_error(400, "400.002.02", "Bad Request - Invalid CommandID")
        amount = _whole_amount(body["Amount"])
        if amount is None or amount < 1:
            return daraja_error(400, "400.002.02", "Bad Request - Invalid Amount")
        shortcode = str(body["ShortCode"])
        if shortcode not in sim.c2b_registrations:
            return daraja_error(500, "500.003.1001", "Urls are not registered for this shortcode")
        outcome = sim.outcomes["c2b"].pop()
        txn = C2BTransaction(
            trans_id=mpesa_receipt(),
            shortcode=shortcode,
            command_id=str(body["CommandID"]),
            amount=amount,
            msisdn=str(body["Msisdn"]),
            bill_ref=str(body.get("BillRefNumber") or ""),
            trans_time=now_eat(),
            first_name=str(body.get("FirstName") or "JANE"),
            outcome=outcome.name,
        )
        with sim._lock:
            sim.c2b[txn.trans_id] = txn
        sim.tasks.spawn(_run_c2b(sim, txn, outcome.name, outcome.delay_seconds))
        return JSONResponse(
            {
                "OriginatorCoversationID": f"{secrets.randbelow(99999)}-{secrets.randbelow(9999999)}-1",
                "ResponseCode": "0",
                "ResponseDescription": "Accept the service request successfully.",
            }
        )

    app.post("/mpesa/c2b/v1/simulate")(simulate)
    app.post("/mpesa/c2b/v2/simulate")(simulate)

    # STK Push

    def stk_password_ok(body: dict[str, Any]) -> bool:
        expected = base64.b64encode(
            f"{body['BusinessShortCode']}{sim.config.stk_passkey}{body['Timestamp']}".encode()
        ).decode()
        return secrets.compare_digest(expected, str(body["Password"]))

    @app.post("/mpesa/stkpush/v1/processrequest")
    async def stk_push(request: Request) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        names = [
            "BusinessShortCode",
            "Password",
            "Timestamp",
            "TransactionType",
            "Amount",
            "PartyA",
            "PartyB",
            "PhoneNumber",
            "CallBackURL",
            "AccountReference",
        ]
        if (missing := _required(body, names)) is not None:
            return missing
        if not re.fullmatch(r"\d{14}", str(body["Timestamp"])) or not stk_password_ok(body):
            return daraja_error(500, "500.001.1001", "Wrong credentials")
        amount = _whole_amount(body["Amount"])
        if amount is None or amount < 1:
            return daraja_error(400, "400.002.02", "Bad Request - Invalid Amount")
        if not _MSISDN.match(str(body["PhoneNumber"])):
            return daraja_error(400, "400.002.02", "Bad Request - Invalid PhoneNumber")
        outcome = sim.outcomes["stk"].pop()
        pending = (
            outcome.delay_seconds
            if outcome.delay_seconds is not None
            else sim.config.stk_pending_seconds
        )
        stk = StkRequest(
            merchant_request_id=f"{secrets.randbelow(99999)}-{secrets.randbelow(99999999)}-1",
            checkout_request_id=f"ws_CO_{now_eat():%d%m%Y%H%M%S}{secrets.randbelow(10**9):09d}",
            request=body,
            outcome=outcome.name,
            done_at=time.time() + pending,
        )
        with sim._lock:
            sim.stk[stk.checkout_request_id] = stk
        sim.tasks.spawn(_run_stk(sim, stk, pending))
        return JSONResponse(
            {
                "MerchantRequestID": stk.merchant_request_id,
                "CheckoutRequestID": stk.checkout_request_id,
                "ResponseCode": "0",
                "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing",
            }
        )

    @app.post("/mpesa/stkpushquery/v1/query")
    async def stk_query(request: Request) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        names = ["BusinessShortCode", "Password", "Timestamp", "CheckoutRequestID"]
        if (missing := _required(body, names)) is not None:
            return missing
        if not stk_password_ok(body):
            return daraja_error(500, "500.001.1001", "Wrong credentials")
        stk = sim.stk.get(str(body["CheckoutRequestID"]))
        if stk is None:
            return daraja_error(500, "500.001.1001", "The transaction is not found")
        if stk.result_code is None:
            return daraja_error(500, "500.001.1001", "The transaction is being processed")
        return JSONResponse(
            {
                "ResponseCode": "0",
                "ResponseDescription": "The service request has been accepted successsfully",
                "MerchantRequestID": stk.merchant_request_id,
                "CheckoutRequestID": stk.checkout_request_id,
                "ResultCode": str(stk.result_code),
                "ResultDesc": stk.result_desc,
            }
        )

    # Transaction Status, Reversal, Account Balance

    @app.post("/mpesa/transactionstatus/v1/query")
    async def transaction_status(request: Request) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        names = [
            "Initiator",
            "SecurityCredential",
            "CommandID",
            "PartyA",
            "IdentifierType",
            "ResultURL",
            "QueueTimeOutURL",
            "Remarks",
        ]
        if (missing := _required(body, names)) is not None:
            return missing
        if not (body.get("TransactionID") or body.get("OriginalConversationID")):
            return daraja_error(400, "400.002.02", "Bad Request - Invalid TransactionID")
        outcome = sim.outcomes["status"].pop()
        if outcome.name == "server_error":
            return daraja_error(500, "500.003.1001", "Internal Server Error")
        ack = {
            "OriginatorConversationID": f"{secrets.randbelow(99999)}-{secrets.randbelow(9999999)}-1",
            "ConversationID": conversation_id(),
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
        }
        with sim._lock:
            sim.status_queries.append({"body": body, "ack": ack, "at": time.time()})
        if outcome.name != "no_callback":
            payload = _status_result(
                sim,
                body,
                ack,
                authorised=sim.initiator_ok(
                    str(body["Initiator"]), str(body["SecurityCredential"])
                ),
            )
            sim.later(
                str(body["ResultURL"]), payload, kind="status_result", delay=outcome.delay_seconds
            )
        return JSONResponse(ack)

    @app.post("/mpesa/reversal/v1/request")
    async def reversal(request: Request) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        names = [
            "Initiator",
            "SecurityCredential",
            "CommandID",
            "TransactionID",
            "Amount",
            "ReceiverParty",
            "RecieverIdentifierType",
            "ResultURL",
            "QueueTimeOutURL",
            "Remarks",
        ]
        if (missing := _required(body, names)) is not None:
            return missing
        ack = {
            "OriginatorConversationID": f"{secrets.randbelow(99999)}-{secrets.randbelow(9999999)}-1",
            "ConversationID": conversation_id(),
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
        }
        txn = sim.c2b.get(str(body["TransactionID"]))
        result: dict[str, Any] = {
            "ResultType": 0,
            "OriginatorConversationID": ack["OriginatorConversationID"],
            "ConversationID": ack["ConversationID"],
            "TransactionID": mpesa_receipt(),
        }
        if txn is None:
            result.update(ResultCode="R000002", ResultDesc="The OriginalTransactionID is invalid.")
        elif txn.status == "Reversed":
            result.update(
                ResultCode="R000001", ResultDesc="The transaction has already been reversed."
            )
        else:
            txn.status = "Reversed"
            result.update(
                ResultCode=0,
                ResultDesc="The service request is processed successfully.",
                ResultParameters={
                    "ResultParameter": [
                        {"Key": "Amount", "Value": float(txn.amount)},
                        {"Key": "OriginalTransactionID", "Value": txn.trans_id},
                        {"Key": "TransCompletedTime", "Value": int(_fmt_compact(now_eat()))},
                        {"Key": "Charge", "Value": 0.0},
                        {
                            "Key": "CreditPartyPublicName",
                            "Value": f"{txn.msisdn} - {txn.first_name}",
                        },
                        {"Key": "DebitPartyPublicName", "Value": f"{txn.shortcode} - Hazina"},
                    ]
                },
            )
        sim.later(str(body["ResultURL"]), {"Result": result}, kind="reversal_result")
        return JSONResponse(ack)

    @app.post("/mpesa/accountbalance/v1/query")
    async def account_balance(request: Request) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        names = [
            "Initiator",
            "SecurityCredential",
            "CommandID",
            "PartyA",
            "IdentifierType",
            "Remarks",
            "QueueTimeOutURL",
            "ResultURL",
        ]
        if (missing := _required(body, names)) is not None:
            return missing
        ack = {
            "OriginatorConversationID": f"{secrets.randbelow(99999)}-{secrets.randbelow(9999999)}-1",
            "ConversationID": conversation_id(),
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
        }
        utility = sim.config.utility_balance_cents / 100
        balance = (
            f"Working Account|KES|0.00|0.00|0.00|0.00&Utility Account|KES|{utility:.2f}|{utility:.2f}|0.00|0.00"
            "&Charges Paid Account|KES|0.00|0.00|0.00|0.00"
        )
        # A single ResultParameter arrives as an object, not a list, as seen in real callbacks.
        result = {
            "Result": {
                "ResultType": 0,
                "ResultCode": 0,
                "ResultDesc": "The service request is processed successfully.",
                "OriginatorConversationID": ack["OriginatorConversationID"],
                "ConversationID": ack["ConversationID"],
                "TransactionID": mpesa_receipt(),
                "ResultParameters": {
                    "ResultParameter": [
                        {"Key": "AccountBalance", "Value": balance},
                        {"Key": "BOCompletedTime", "Value": int(_fmt_compact(now_eat()))},
                    ]
                },
                "ReferenceData": {
                    "ReferenceItem": {
                        "Key": "QueueTimeoutURL",
                        "Value": "https://internalsandbox.safaricom.co.ke/mpesa/abresults/v1/submit",
                    }
                },
            }
        }
        sim.later(str(body["ResultURL"]), result, kind="balance_result")
        return JSONResponse(ack)

    # Pull Transactions

    @app.post("/pulltransactions/v1/register")
    async def pull_register(request: Request) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        if (
            missing := _required(
                body, ["ShortCode", "RequestType", "NominatedNumber", "CallBackURL"]
            )
        ) is not None:
            return missing
        shortcode = str(body["ShortCode"])
        already = shortcode in sim.pull_registrations
        sim.pull_registrations[shortcode] = body
        return JSONResponse(
            {
                "ResponseRefID": secrets.token_hex(8),
                "ResponseStatus": "1001" if already else "1000",
                "ShortCode": shortcode,
                "ResponseDescription": "Shortcode already registered"
                if already
                else "Shortcode Registered Successfully",
            }
        )

    @app.post("/pulltransactions/v1/query")
    async def pull_query(request: Request) -> JSONResponse:
        body = await authorised_json(request)
        if isinstance(body, JSONResponse):
            return body
        if (missing := _required(body, ["ShortCode", "StartDate", "EndDate"])) is not None:
            return missing
        try:
            start = datetime.strptime(str(body["StartDate"]), "%Y-%m-%d %H:%M:%S")
            end = datetime.strptime(str(body["EndDate"]), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return daraja_error(400, "400.002.02", "Bad Request - Invalid StartDate")
        offset = int(str(body.get("OffSetValue") or "0") or 0)
        rows = [
            t
            for t in sorted(sim.c2b.values(), key=lambda t: t.trans_time)
            if t.shortcode == str(body["ShortCode"])
            and t.status == "Completed"
            and start <= t.trans_time.replace(tzinfo=None, microsecond=0) <= end
        ][offset : offset + 1000]
        if not rows:
            return JSONResponse(
                {
                    "ResponseRefID": secrets.token_hex(8),
                    "ResponseCode": "1001",
                    "ResponseMessage": "No records found",
                    "Response": [[]],
                }
            )
        return JSONResponse(
            {
                "ResponseRefID": secrets.token_hex(8),
                "ResponseCode": "1000",
                "ResponseMessage": "Success",
                "Response": [
                    [
                        {
                            "transactionId": t.trans_id,
                            "trxDate": (t.trans_time - timedelta(hours=3)).strftime(
                                "%Y-%m-%dT%H:%M:%SZ"
                            ),
                            "msisdn": int(t.msisdn) if t.msisdn.isdigit() else t.msisdn,
                            "sender": "UAT2",
                            "transactiontype": "c2b-pay-bill-debit"
                            if t.command_id == "CustomerPayBillOnline"
                            else "c2b-buy-goods-debit",
                            "billreference": t.bill_ref,
                            "amount": str(t.amount),
                            "organizationname": t.first_name,
                        }
                        for t in rows
                    ]
                ],
            }
        )

    # Control (not part of Daraja)

    @app.post("/_control/{kind}")
    async def control(kind: str, body: ControlRequest) -> JSONResponse:
        queue = sim.outcomes.get(kind)
        if queue is None:
            return JSONResponse({"message": f"unknown control '{kind}'"}, status_code=404)
        try:
            queue.push(body.outcome, body.count, body.delay_seconds, body.extra)
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        return JSONResponse({"kind": kind, "pending": queue.pending()})

    @app.post("/_control/stk/{checkout_request_id}/act")
    async def control_stk_act(checkout_request_id: str) -> JSONResponse:
        """The customer answers the prompt now (tests drive the pending period explicitly)."""
        stk = sim.stk.get(checkout_request_id)
        if stk is None:
            return JSONResponse({"message": "no such CheckoutRequestID"}, status_code=404)
        stk.acted.set()
        return JSONResponse({"checkout_request_id": checkout_request_id, "acted": True})

    @app.post("/_control/reset")
    async def control_reset() -> JSONResponse:
        sim.reset()
        return JSONResponse({"reset": True})

    @app.get("/_control/state")
    async def control_state() -> JSONResponse:
        with sim._lock:
            return JSONResponse(
                {
                    "b2c_requests": [
                        {
                            "ocid": r["ocid"],
                            "outcome": r["outcome"],
                            "amount": r["body"].get("Amount"),
                            "party_b": r["body"].get("PartyB"),
                        }
                        for r in sim.b2c_requests
                    ],
                    "b2c": [
                        {
                            "ocid": t.ocid,
                            "conversation_id": t.conversation_id,
                            "status": t.status,
                            "receipt": t.receipt,
                            "amount": t.amount,
                        }
                        for t in sim.b2c.values()
                    ],
                    "c2b_registrations": sim.c2b_registrations,
                    "c2b": [
                        {
                            "trans_id": t.trans_id,
                            "amount": t.amount,
                            "bill_ref": t.bill_ref,
                            "status": t.status,
                            "confirmation_deliveries": t.confirmation_deliveries,
                        }
                        for t in sim.c2b.values()
                    ],
                    "stk": [
                        {
                            "checkout_request_id": s.checkout_request_id,
                            "result_code": s.result_code,
                            "receipt": s.receipt,
                        }
                        for s in sim.stk.values()
                    ],
                    "status_queries": len(sim.status_queries),
                    "deliveries": [
                        {k: v for k, v in d.items() if k != "payload"} for d in sim.deliveries
                    ],
                    "oauth_requests": sim.oauth_requests,
                }
            )

    @app.get("/_control/health")
    async def control_health() -> dict[str, str]:
        return {"status": "OK", "service": "daraja-simulator"}

    return app


# What happens after an acknowledgement


def _b2c_result(txn: B2CTransaction, *, utility_after: float) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ResultType": 0,
        "ResultCode": txn.result_code,
        "ResultDesc": txn.result_desc,
        "OriginatorConversationID": txn.ocid,
        "ConversationID": txn.conversation_id,
        "TransactionID": txn.receipt or ("S" + secrets.token_hex(5).upper())[:10],
    }
    if txn.result_code == 0 and txn.finalised_at is not None:
        result["ResultParameters"] = {
            "ResultParameter": [
                {"Key": "TransactionAmount", "Value": txn.amount},
                {"Key": "TransactionReceipt", "Value": txn.receipt},
                {"Key": "ReceiverPartyPublicName", "Value": f"{txn.msisdn} - {txn.recipient_name}"},
                {"Key": "TransactionCompletedDateTime", "Value": _fmt_dmy(txn.finalised_at)},
                {"Key": "B2CUtilityAccountAvailableFunds", "Value": round(utility_after, 2)},
                {"Key": "B2CWorkingAccountAvailableFunds", "Value": 0.00},
                {"Key": "B2CRecipientIsRegisteredCustomer", "Value": "Y"},
                {"Key": "B2CChargesPaidAccountAvailableFunds", "Value": -340.00},
            ]
        }
    result["ReferenceData"] = {
        "ReferenceItem": {
            "Key": "QueueTimeoutURL",
            "Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit",
        }
    }
    return {"Result": result}


def _timeout_notice(txn: B2CTransaction) -> dict[str, Any]:
    return {
        "Result": {
            "ResultType": 0,
            "ResultCode": 1,
            "ResultDesc": "The service request has timed out.",
            "OriginatorConversationID": txn.ocid,
            "ConversationID": txn.conversation_id,
            "TransactionID": "",
        }
    }


def _settle(sim: DarajaSimulator, txn: B2CTransaction, outcome: str) -> None:
    """Decide the transaction's fate (what a status query will report from now on)."""
    cfg = sim.config
    if (
        not sim.initiator_ok(
            str(txn.request.get("InitiatorName")), str(txn.request.get("SecurityCredential"))
        )
        or outcome == "initiator_invalid"
    ):
        txn.result_code, txn.result_desc, txn.status = (
            2001,
            "The initiator information is invalid.",
            "Declined",
        )
    elif txn.amount < 10:
        txn.result_code, txn.result_desc, txn.status = (
            2,
            "Declined due to limit rule: less than the minimum transaction amount.",
            "Declined",
        )
    elif txn.amount > 250_000:
        txn.result_code, txn.result_desc, txn.status = (
            3,
            "Declined due to limit rule: greater than the maximum transaction amount.",
            "Declined",
        )
    elif outcome == "invalid_number" or not _MSISDN.match(txn.msisdn):
        txn.result_code, txn.result_desc, txn.status = (
            2040,
            "Credit Party customer type (Unregistered or Registered Customer) can't be supported by the service.",
            "Declined",
        )
    elif (
        outcome in {"insufficient_funds", "timeout_failed"}
        or txn.amount * 100 > cfg.utility_balance_cents
    ):
        txn.result_code, txn.result_desc, txn.status = (
            1,
            "The balance is insufficient for the transaction.",
            "Declined",
        )
    else:
        cfg.utility_balance_cents -= (txn.amount + sim.charge_for(txn.amount)) * 100
        txn.result_code, txn.result_desc, txn.status = (
            0,
            "The service request is processed successfully.",
            "Completed",
        )
        txn.receipt = mpesa_receipt()
    txn.finalised_at = now_eat()


async def _run_b2c(
    sim: DarajaSimulator, txn: B2CTransaction, outcome: str, delay: float, extra: dict[str, Any]
) -> None:
    timeout_url = str(txn.request["QueueTimeOutURL"])
    result_url = str(txn.request["ResultURL"])
    if outcome == "queue_timeout":
        with sim._lock:
            sim.b2c.pop(txn.ocid, None)  # never processed: a status query finds nothing
        await sim.deliver(timeout_url, _timeout_notice(txn), delay=delay, kind="b2c_timeout")
        return
    if outcome == "out_of_order":
        await sim.deliver(timeout_url, _timeout_notice(txn), delay=delay, kind="b2c_timeout")
    else:
        await asyncio.sleep(delay)
    _settle(sim, txn, outcome)
    if outcome in {"timeout", "timeout_failed"}:
        return  # settled silently: nobody is told
    payload = _b2c_result(txn, utility_after=sim.config.utility_balance_cents / 100)
    copies = int(extra.get("copies", 2)) if outcome == "duplicate_callbacks" else 1
    for _ in range(copies):
        await sim.deliver(
            result_url,
            payload,
            delay=0.0 if outcome != "out_of_order" else delay,
            kind="b2c_result",
        )


def _status_result(
    sim: DarajaSimulator, body: dict[str, Any], ack: dict[str, str], *, authorised: bool
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ResultType": 0,
        "OriginatorConversationID": ack["OriginatorConversationID"],
        "ConversationID": ack["ConversationID"],
        "TransactionID": mpesa_receipt(),
        "ReferenceData": {
            "ReferenceItem": {
                "Key": "Occasion",
                "Value": body.get("Occasion") or body.get("Occassion") or "",
            }
        },
    }
    if not authorised:
        base.update(ResultCode=2001, ResultDesc="The initiator information is invalid.")
        return {"Result": base}
    txn: B2CTransaction | None = None
    c2b: C2BTransaction | None = None
    if body.get("OriginalConversationID"):
        txn = sim.b2c.get(str(body["OriginalConversationID"]))
    if txn is None and body.get("TransactionID"):
        receipt = str(body["TransactionID"])
        txn = next((t for t in sim.b2c.values() if t.receipt == receipt), None)
        c2b = sim.c2b.get(receipt)
    if txn is None and c2b is None:
        base.update(
            ResultCode="R000002",
            ResultDesc="The OriginatorConversationID or TransactionID is invalid.",
        )
        return {"Result": base}
    base.update(ResultCode=0, ResultDesc="The service request has been accepted successfully.")
    if txn is not None:
        params = [
            {"Key": "DebitPartyName", "Value": f"{txn.request.get('PartyA')} - Hazina"},
            {"Key": "CreditPartyName", "Value": f"{txn.msisdn} - {txn.recipient_name}"},
            {"Key": "OriginatorConversationID", "Value": txn.ocid},
            {"Key": "InitiatedTime", "Value": int(_fmt_compact(txn.initiated_at))},
            {"Key": "DebitAccountType", "Value": "Utility Account"},
            {
                "Key": "DebitPartyCharges",
                "Value": f"Fee For B2C Payment|KES|{sim.charge_for(txn.amount):.2f}"
                if txn.status == "Completed"
                else "",
            },
            {"Key": "TransactionReason", "Value": str(txn.request.get("Remarks", ""))},
            {"Key": "ReasonType", "Value": "Business Payment to Customer via API"},
            {"Key": "TransactionStatus", "Value": txn.status},
            {
                "Key": "FinalisedTime",
                "Value": int(_fmt_compact(txn.finalised_at)) if txn.finalised_at else "",
            },
            {"Key": "Amount", "Value": float(txn.amount)},
            {"Key": "ConversationID", "Value": txn.conversation_id},
            {"Key": "ReceiptNo", "Value": txn.receipt or ""},
        ]
    else:
        assert c2b is not None
        params = [
            {"Key": "DebitPartyName", "Value": f"{c2b.msisdn} - {c2b.first_name}"},
            {"Key": "CreditPartyName", "Value": f"{c2b.shortcode} - Hazina"},
            {"Key": "InitiatedTime", "Value": int(_fmt_compact(c2b.trans_time))},
            {"Key": "TransactionStatus", "Value": c2b.status},
            {"Key": "ReasonType", "Value": "Pay Bill Online"},
            {"Key": "FinalisedTime", "Value": int(_fmt_compact(c2b.trans_time))},
            {"Key": "Amount", "Value": float(c2b.amount)},
            {"Key": "ReceiptNo", "Value": c2b.trans_id},
        ]
    base["ResultParameters"] = {"ResultParameter": params}
    return {"Result": base}


def _c2b_payload(
    sim: DarajaSimulator, txn: C2BTransaction, *, confirmation: bool
) -> dict[str, Any]:
    registration = sim.c2b_registrations.get(txn.shortcode, {})
    msisdn = (
        _masked(txn.msisdn)
        if registration.get("version") == 2
        else hashlib.sha256(txn.msisdn.encode()).hexdigest()
    )
    amount = f"{txn.amount}.00" if txn.amount % 2 == 0 else str(txn.amount)  # both spellings occur
    return {
        "TransactionType": "Pay Bill" if txn.command_id == "CustomerPayBillOnline" else "Buy Goods",
        "TransID": txn.trans_id,
        "TransTime": _fmt_compact(txn.trans_time),
        "TransAmount": amount,
        "BusinessShortCode": txn.shortcode,
        "BillRefNumber": txn.bill_ref,
        "InvoiceNumber": "",
        "OrgAccountBalance": f"{sim.config.utility_balance_cents / 100:.2f}"
        if confirmation
        else "",
        "ThirdPartyTransID": "",
        "MSISDN": msisdn,
        "FirstName": txn.first_name,
        "MiddleName": "",
        "LastName": "",
    }


async def _run_c2b(
    sim: DarajaSimulator, txn: C2BTransaction, outcome: str, delay: float | None
) -> None:
    registration = sim.c2b_registrations[txn.shortcode]
    validation_url = registration.get("ValidationURL")
    accepted = True
    if validation_url and sim.config.external_validation:
        assert sim.client is not None
        try:
            response = await sim.client.post(
                str(validation_url),
                json=_c2b_payload(sim, txn, confirmation=False),
                timeout=sim.config.validation_timeout_seconds,
            )
            answer = response.json() if response.status_code == 200 else None
            accepted = answer is not None and str(answer.get("ResultCode")) == "0"
            if answer is None:  # the endpoint failed: M-Pesa applies the registered default
                accepted = registration["ResponseType"] == "Completed"
            with sim._lock:
                sim.deliveries.append(
                    {
                        "kind": "c2b_validation",
                        "url": validation_url,
                        "status": response.status_code,
                        "at": time.time(),
                        "response": answer,
                    }
                )
        except (httpx.HTTPError, ValueError) as exc:
            accepted = registration["ResponseType"] == "Completed"
            with sim._lock:
                sim.deliveries.append(
                    {
                        "kind": "c2b_validation",
                        "url": validation_url,
                        "status": None,
                        "error": f"{type(exc).__name__}",
                        "at": time.time(),
                    }
                )
    if not accepted:
        txn.status = "Rejected"
        return
    txn.status = "Completed"
    sim.config.utility_balance_cents += txn.amount * 100
    if outcome in {"drop_confirmation", "validation_only"}:
        return
    wait = (
        delay
        if delay is not None
        else (sim.config.callback_delay_seconds if outcome == "delayed" else 0.0)
    )
    copies = 2 if outcome == "duplicate_confirmation" else 1
    for i in range(copies):
        txn.confirmation_deliveries += 1
        await sim.deliver(
            str(registration["ConfirmationURL"]),
            _c2b_payload(sim, txn, confirmation=True),
            delay=wait if i == 0 else 0.0,
            kind="c2b_confirmation",
        )


async def _run_stk(sim: DarajaSimulator, stk: StkRequest, pending: float) -> None:
    with contextlib.suppress(TimeoutError):  # the customer acts after ``pending``, or when told
        await asyncio.wait_for(stk.acted.wait(), timeout=pending)
    codes = {
        "success": (0, "The service request is processed successfully."),
        "delayed": (0, "The service request is processed successfully."),
        "cancelled": (1032, "Request cancelled by user"),
        "insufficient_funds": (1, "The balance is insufficient for the transaction."),
        "unreachable": (1037, "DS timeout user cannot be reached"),
        "no_callback": (1037, "DS timeout user cannot be reached"),
        "paid_no_callback": (0, "The service request is processed successfully."),
    }
    stk.result_code, stk.result_desc = codes[stk.outcome]
    body = stk.request
    callback: dict[str, Any] = {
        "MerchantRequestID": stk.merchant_request_id,
        "CheckoutRequestID": stk.checkout_request_id,
        "ResultCode": stk.result_code,
        "ResultDesc": stk.result_desc,
    }
    if stk.result_code == 0:
        stk.receipt = mpesa_receipt()
        amount = _whole_amount(body["Amount"]) or 0
        callback["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": float(amount)},
                {"Name": "MpesaReceiptNumber", "Value": stk.receipt},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": int(_fmt_compact(now_eat()))},
                {"Name": "PhoneNumber", "Value": int(str(body["PhoneNumber"]))},
            ]
        }
        shortcode = str(body["BusinessShortCode"])
        txn = C2BTransaction(
            trans_id=stk.receipt,
            shortcode=shortcode,
            command_id=str(body["TransactionType"]),
            amount=amount,
            msisdn=str(body["PhoneNumber"]),
            bill_ref=str(body["AccountReference"]),
            trans_time=now_eat(),
            first_name="JANE",
        )
        if stk.outcome == "paid_no_callback":
            # On the shortcode's statement (Pull Transactions lists it); nobody is told.
            txn.status = "Completed"
            with sim._lock:
                sim.c2b[txn.trans_id] = txn
            sim.config.utility_balance_cents += amount * 100
        elif sim.config.stk_emits_c2b and shortcode in sim.c2b_registrations:
            with sim._lock:
                sim.c2b[txn.trans_id] = txn
            sim.tasks.spawn(_run_c2b(sim, txn, "success", 0.0))
    if stk.outcome not in {"no_callback", "paid_no_callback"}:
        await sim.deliver(
            str(body["CallBackURL"]),
            {"Body": {"stkCallback": callback}},
            delay=0.0,
            kind="stk_callback",
        )
