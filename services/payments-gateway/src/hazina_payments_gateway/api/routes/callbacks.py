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
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hazina_payments_gateway.adapters.daraja.callbacks import parse_c2b
from hazina_payments_gateway.adapters.inbox import InboxUnavailableError
from hazina_payments_gateway.adapters.read_models import match_reference_async
from hazina_payments_gateway.api.deps import GatewayApi
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


def _refused(request: Request, api: GatewayApi, token: str, kind: str) -> JSONResponse | None:
    policy = api.callbacks
    address = client_address(request)
    if not policy.token or not hmac.compare_digest(token.encode(), policy.token.encode()):
        log.warning("callback_refused", reason="wrong token", kind=kind, address=address)
        return JSONResponse({"message": "Forbidden", "code": "forbidden"}, status_code=403)
    if policy.allowed_ips and address not in policy.allowed_ips:
        log.warning("callback_refused", reason="address not allowed", kind=kind, address=address)
        return JSONResponse({"message": "Forbidden", "code": "forbidden"}, status_code=403)
    return None


async def _store(api: GatewayApi, kind: str, body: bytes, request: Request) -> JSONResponse | None:
    try:
        await api.inbox_writer.store(kind, body, client_address(request))
    except InboxUnavailableError:
        log.error("callback_not_stored", kind=kind)
        return JSONResponse(
            {
                "ResultCode": 1,
                "ResultDesc": "Temporarily unable to record; please retry",
                "message": "Temporarily unable to record the callback",
                "code": "unavailable",
            },
            status_code=503,
        )
    return None


async def receive(request: Request, token: str, kind: str) -> JSONResponse:
    """Store, then acknowledge. A callback with a bad field is still stored exactly as received
    and acknowledged the way Daraja expects (it cannot fix it by sending it again); the inbox
    flags it for staff when it is processed."""
    api: GatewayApi = request.app.state.gateway_api
    if (refusal := _refused(request, api, token, kind)) is not None:
        return refusal
    body = await request.body()
    if kind == "c2b_validation":
        return await _validate(api, body, request)
    if (failure := await _store(api, kind, body, request)) is not None:
        return failure
    return JSONResponse(CONFIRMED if kind == "c2b_confirmation" else ACCEPTED)


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
        payment = parse_c2b(body)
    except MalformedCallbackError as exc:
        log.warning("c2b_validation_unreadable", error=str(exc), field=exc.field)
        await _store(api, "c2b_validation", body, request)  # for the record; refused either way
        return JSONResponse(_rejection(REJECTION_BY_FIELD.get(exc.field or "", "C2B00016")))
    except Exception:  # a defect in reading must never become a 500 at Daraja's door
        log.exception("c2b_validation_read_failed")
        await _store(api, "c2b_validation", body, request)
        return JSONResponse(_rejection("C2B00016"))
    decision: dict[str, Any] = VALIDATION_ACCEPT
    if api.callbacks.reject_unknown_references and api.inbox_writer.pool is not None:
        try:
            match = await match_reference_async(api.inbox_writer.pool, payment.bill_ref)
        except Exception as exc:
            # Cannot look it up now: accept, as Daraja would on our silence (ResponseType Completed).
            log.warning("c2b_validation_lookup_failed", error=type(exc).__name__)
        else:
            if match.target == "unallocated":
                decision = _rejection("C2B00012")
    if (failure := await _store(api, "c2b_validation", body, request)) is not None:
        return failure
    return JSONResponse(decision)


def _route(kind: str) -> Any:
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
