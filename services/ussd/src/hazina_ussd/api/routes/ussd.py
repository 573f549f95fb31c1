"""Africa's Talking's USSD callback: form fields in, ``CON ...`` / ``END ...`` text out.

Whatever happens, Africa's Talking gets a 200 with a screen: a number that is not a Kenyan mobile
is an unknown borrower, and a failure inside is an apology (``END``), never a 500 (which would
end the session with nothing shown).
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Form
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from hazina_contracts.phones import Msisdn, MsisdnError
from hazina_servicekit.text import PlainText
from hazina_ussd.api.deps import ApiDep
from hazina_ussd.application.ports import SessionEnded
from hazina_ussd.application.ussd import Hop
from hazina_ussd.domain import texts

log = structlog.get_logger(__name__)
router = APIRouter(tags=["ussd"])

Field = Annotated[PlainText, Form(max_length=200)]


def _answer(api: ApiDep, session_id: str, phone: str, text: str, service_code: str) -> str:
    language = api.ussd.policy.default_language
    try:
        msisdn = Msisdn(phone)
    except MsisdnError:
        return "END " + texts.screen("unknown", language)
    try:
        return api.ussd.answer(Hop(session_id, msisdn, text, service_code))
    except Exception:
        log.exception("ussd_hop_failed", session_id=session_id)
        return "END " + texts.screen("unavailable", language)


@router.post("/api/ussd", response_class=PlainTextResponse)
@router.post("/api/v1/ussd", response_class=PlainTextResponse, include_in_schema=False)
async def ussd_hop(
    api: ApiDep,
    sessionId: Field,  # noqa: N803 (Africa's Talking's field names)
    phoneNumber: Field,  # noqa: N803
    serviceCode: Field = "",  # noqa: N803
    networkCode: Field = "",  # noqa: N803
    text: Annotated[PlainText, Form(max_length=1000)] = "",
) -> PlainTextResponse:
    reply = await run_in_threadpool(_answer, api, sessionId, phoneNumber, text, serviceCode)
    return PlainTextResponse(reply)


@router.post("/api/ussd/session-end", response_class=PlainTextResponse)
async def ussd_session_ended(
    api: ApiDep,
    sessionId: Field,  # noqa: N803
    phoneNumber: Field,  # noqa: N803
    status: Field = "",
    durationInMillis: Field = "",  # noqa: N803
    cost: Field = "",
    errorMessage: Field = "",  # noqa: N803
) -> PlainTextResponse:
    """Africa's Talking's end-of-session notification: always a 200 (it does not retry usefully);
    the same notification twice changes nothing."""
    try:
        phone = Msisdn(phoneNumber)
    except MsisdnError:
        return PlainTextResponse("OK")
    ended = SessionEnded(
        session_id=sessionId,
        phone=phone,
        status=status[:20],
        duration_ms=int(durationInMillis)
        if durationInMillis.isdigit() and len(durationInMillis) <= 12
        else None,
        cost=cost[:40],
        error=errorMessage,
    )
    await run_in_threadpool(api.ussd.session_ended, ended)
    return PlainTextResponse("OK")
