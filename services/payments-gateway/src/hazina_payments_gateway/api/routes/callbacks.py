"""Callback ingress from Daraja: stored raw and durably, then acknowledged in Daraja's exact format.

Registered URLs live under ``/api/pay/...`` (Safaricom refuses URLs containing 'mpesa'); the seed's
``/api/mpesa/...`` paths are aliases of the same handlers. The last path segment is the shared
secret ``MPESA_CALLBACK_TOKEN``; a wrong token or an address outside the allow list is refused,
logged, and changes nothing. If a callback cannot be stored the answer is not a 2xx, so the
sender may try again; "Accepted" is never said for money we did not record. A callback with a bad
field is stored all the same and answered as Daraja expects (a validation is refused with the
code of the field at fault); the inbox flags it for staff. Bad input never gets a 500.
"""

from __future__ import annotations

import hmac
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hazina_payments_gateway.api.deps import GatewayApi
from hazina_payments_gateway.application.ports import InboxUnavailableError
from hazina_payments_gateway.application.records import MalformedCallbackError
from hazina_servicekit.http import client_address
from hazina_servicekit.openapi import error_response

log = structlog.get_logger(__name__)
router = APIRouter(tags=["callbacks"])

# (path under /api/pay and /api/mpesa, inbox kind)
CALLBACKS = [
    ("b2c/result", "b2c_result"),
    ("b2c/timeout", "b2c_timeout"),
    ("c2b/validation", "c2b_validation"),
    ("c2b/confirmation", "c2b_confirmation"),
    ("stk/callback", "stk_callback"),
    ("status/result", "status_result"),
    ("status/timeout", "status_timeout"),
    ("reversal/result", "reversal_result"),
    ("reversal/timeout", "reversal_timeout"),
    ("balance/result", "balance_result"),
    ("balance/timeout", "balance_timeout"),
]

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
CONFIRMED = {"ResultCode": 0, "ResultDesc": "Success"}
VALIDATION_ACCEPT = {"ResultCode": "0", "ResultDesc": "Accepted"}


FORBIDDEN = {"message": "Forbidden", "code": "forbidden"}
NOT_STORED = {
    "ResultCode": 1,
    "ResultDesc": "Temporarily unable to record; please retry",
    "message": "Temporarily unable to record the callback",
    "code": "unavailable",
}


def refused(api: GatewayApi, token: str, kind: str, address: str) -> bool:
    """A wrong token or a sender outside the allow list: logged, and nothing else happens."""
    policy = api.callbacks
    if not policy.token or not hmac.compare_digest(token.encode(), policy.token.encode()):
        log.warning("callback_refused", reason="wrong token", kind=kind, address=address)
        return True
    if policy.allowed_ips and address not in policy.allowed_ips:
        log.warning("callback_refused", reason="address not allowed", kind=kind, address=address)
        return True
    return False


async def stored(api: GatewayApi, kind: str, body: bytes, address: str) -> bool:
    """Whether the callback is durably in the inbox; when it is not, "Accepted" is never said."""
    try:
        await api.inbox_writer.store(kind, body, address)
    except InboxUnavailableError:
        log.error("callback_not_stored", kind=kind)
        return False
    return True


def acknowledgement(kind: str) -> dict[str, Any]:
    return CONFIRMED if kind == "c2b_confirmation" else ACCEPTED


async def _store(api: GatewayApi, kind: str, body: bytes, request: Request) -> JSONResponse | None:
    if await stored(api, kind, body, client_address(request)):
        return None
    return JSONResponse(NOT_STORED, status_code=503)


async def receive(request: Request, token: str, kind: str) -> JSONResponse:
    """Store, then acknowledge. A callback with a bad field is still stored exactly as received
    and acknowledged the way Daraja expects (it cannot fix it by sending it again); the inbox
    flags it for staff when it is processed. Only the validation comes here on the way in; the
    other kinds are served by ``CallbackFastPath`` with the same ``refused`` and ``stored``."""
    api: GatewayApi = request.app.state.gateway_api
    if refused(api, token, kind, client_address(request)):
        return JSONResponse(FORBIDDEN, status_code=403)
    body = await request.body()
    if kind == "c2b_validation":
        return await _validate(api, body, request)
    if (failure := await _store(api, kind, body, request)) is not None:
        return failure
    return JSONResponse(acknowledgement(kind))


# The validation rejection that tells the customer (by SMS) what was wrong; C2B00016: other.
REJECTION_BY_FIELD = {
    "MSISDN": "C2B00011",
    "BillRefNumber": "C2B00012",
    "TransAmount": "C2B00013",
    "FirstName": "C2B00014",
    "MiddleName": "C2B00014",
    "LastName": "C2B00014",
    "BusinessShortCode": "C2B00015",
}


def _rejection(code: str) -> dict[str, Any]:
    return {"ResultCode": code, "ResultDesc": "Rejected"}


async def _validate(api: GatewayApi, body: bytes, request: Request) -> JSONResponse:
    """Accept every readable payment by default (the ledger parks what matches nothing); optionally
    refuse unknown account references with C2B00012. A payment that cannot be read is refused
    with the code of the field at fault. Answers well inside Daraja's ~8 s."""
    try:
        payment = api.read_c2b(body)
    except MalformedCallbackError as exc:
        log.warning("c2b_validation_unreadable", error=str(exc), field=exc.field)
        await _store(api, "c2b_validation", body, request)  # for the record; refused either way
        return JSONResponse(_rejection(REJECTION_BY_FIELD.get(exc.field or "", "C2B00016")))
    except Exception:  # a defect in reading must never become a 500 at Daraja's door
        log.exception("c2b_validation_read_failed")
        await _store(api, "c2b_validation", body, request)
        return JSONResponse(_rejection("C2B00016"))
    decision: dict[str, Any] = VALIDATION_ACCEPT
    if api.callbacks.reject_unknown_references:
        try:
            match = await api.inbox_writer.match_reference(payment.bill_ref)
        except Exception as exc:
            # Cannot look it up now: accept, as Daraja would on our silence (ResponseType Completed).
            log.warning("c2b_validation_lookup_failed", error=type(exc).__name__)
        else:
            if match is not None and match.target == "unallocated":
                decision = _rejection("C2B00012")
    if (failure := await _store(api, "c2b_validation", body, request)) is not None:
        return failure
    return JSONResponse(decision)


def _route(kind: str) -> Callable[[Request, str], Awaitable[JSONResponse]]:
    async def handler(request: Request, token: str) -> JSONResponse:
        return await receive(request, token, kind)

    handler.__name__ = f"callback_{kind}"
    return handler


# What the document says of every callback route: Daraja posts a JSON object (read raw here).
CALLBACK_DOCUMENT: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
CALLBACK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Acknowledged in Daraja's format (ResultCode, ResultDesc)"},
    403: error_response(403, "Wrong callback token, or a sender outside the allow list"),
    503: error_response(503, "Not stored; the sender should send it again"),
}

KIND_OF_PATH = dict(CALLBACKS)
PREFIXES = ("/api/pay/", "/api/mpesa/")
CORRELATION_HEADER = b"x-correlation-id"
SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REFUSED_BODY = json.dumps(FORBIDDEN).encode()
UNAVAILABLE_BODY = json.dumps(NOT_STORED).encode()
ACKNOWLEDGED_BODY = {kind: json.dumps(acknowledgement(kind)).encode() for _, kind in CALLBACKS}
http_log = structlog.get_logger("http")


class _TooLargeError(Exception):
    pass


class _GoneError(Exception):
    pass


class CallbackFastPath:
    """Daraja's callbacks (all but the C2B validation, which decides something) without the web
    framework: the hot path of the money in is token check, allow list, body, group-committed
    store, answer; O(1) work per callback. The same answers and checks as the routes below (which
    stay for the validation, for a wrong method or path, and for the OpenAPI document); the
    correlation id is kept, the token is redacted from the request log. Anything else passes
    through to ``app`` untouched.
    """

    def __init__(self, app: ASGIApp, *, api: Callable[[], GatewayApi], max_body_bytes: int) -> None:
        self.app = app
        self.api = api
        self.max_body_bytes = max_body_bytes

    @staticmethod
    def kind_of(path: str) -> tuple[str, str] | None:
        """(kind, token) of a callback path the fast path serves, else None."""
        for prefix in PREFIXES:
            if path.startswith(prefix):
                rest, _, token = path[len(prefix) :].rpartition("/")
                kind = KIND_OF_PATH.get(rest)
                if kind is None or kind == "c2b_validation" or not token:
                    return None
                return kind, token
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = (
            self.kind_of(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if found is None:
            await self.app(scope, receive, send)
            return
        kind, token = found
        started = time.perf_counter()
        given = b""
        length: bytes | None = None
        for name, value in scope["headers"]:
            if name == CORRELATION_HEADER:
                given = value
            elif name == b"content-length":
                length = value
        cid = given.decode("latin-1") if given and SAFE_ID.match(given.decode("latin-1")) else ""
        cid = cid or str(uuid.uuid4())
        status, body = await self._handle(scope, receive, kind, token, length)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (CORRELATION_HEADER, cid.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        http_log.info(
            "http_request",
            method="POST",
            path=scope["path"].rsplit("/", 1)[0] + "/***",
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            correlation_id=cid,
        )

    async def _handle(
        self, scope: Scope, receive: Receive, kind: str, token: str, length: bytes | None
    ) -> tuple[int, bytes]:
        api = self.api()
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if refused(api, token, kind, address):
            return 403, REFUSED_BODY
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return 400, self._too_large()
        try:
            body = await self._body(receive)
        except _TooLargeError:
            return 400, self._too_large()
        except _GoneError:
            return (
                503,
                UNAVAILABLE_BODY,
            )  # the caller went away before its body came: nothing stored
        if not await stored(api, kind, body, address):
            return 503, UNAVAILABLE_BODY
        return 200, ACKNOWLEDGED_BODY[kind]

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message: Message = await receive()
            if message["type"] != "http.request":
                raise _GoneError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> bytes:
        return json.dumps(
            {
                "message": f"request body is larger than {self.max_body_bytes} bytes",
                "code": "payload_too_large",
            }
        ).encode()


for _path, _kind in CALLBACKS:
    router.add_api_route(
        f"/api/pay/{_path}/{{token}}",
        _route(_kind),
        methods=["POST"],
        include_in_schema=True,
        responses=CALLBACK_RESPONSES,
        openapi_extra=CALLBACK_DOCUMENT,
    )
    router.add_api_route(
        f"/api/mpesa/{_path}/{{token}}", _route(_kind), methods=["POST"], include_in_schema=False
    )
