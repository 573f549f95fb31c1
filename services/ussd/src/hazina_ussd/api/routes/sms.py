"""Africa's Talking's delivery reports in, and the SMS log for staff."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hazina_servicekit.dates import IsoDateTime
from hazina_servicekit.errors import BadRequest
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import text_problem
from hazina_ussd.api.deps import AdminDep, ApiDep
from hazina_ussd.application.ports import DeliveryReport

router = APIRouter(tags=["sms"])


class Accepted(BaseModel):
    recorded: bool


class Notification(BaseModel):
    messageId: uuid.UUID  # noqa: N815
    clientId: uuid.UUID | None  # noqa: N815
    phone: str
    kind: str
    language: str
    text: str
    status: str
    deliveryStatus: str | None  # noqa: N815
    failureReason: str | None  # noqa: N815
    providerMessageId: str | None  # noqa: N815
    attempts: int
    lastError: str | None  # noqa: N815
    createdAt: datetime  # noqa: N815
    updatedAt: datetime  # noqa: N815


def _field(fields: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"{name} is required")
        return None
    text = str(value)
    if len(text) > 200 or text_problem(text):
        raise BadRequest(f"{name} is not plain text")
    return text


@router.post("/api/sms/delivery-reports", response_model=Accepted)
async def delivery_report(request: Request, api: ApiDep) -> Accepted:
    """A report from Africa's Talking (form-encoded, or JSON as some set-ups send); the same
    report twice changes nothing, and a status only moves forward."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("The body is not JSON") from None
        fields = body if isinstance(body, dict) else {}
    else:
        fields = dict(await request.form())
    report = DeliveryReport(
        provider_message_id=_field(fields, "id") or "",
        status=_field(fields, "status") or "",
        failure_reason=_field(fields, "failureReason", required=False),
    )
    now = api.ussd.clock.now()
    recorded = await run_in_threadpool(api.sms.record_report, report, now)
    return Accepted(recorded=recorded)


@router.get("/api/sms/notifications", response_model=list[Notification])
async def notifications(
    api: ApiDep,
    staff: AdminDep,
    page: PageDep,
    response: Response,
    status: Literal["queued", "sent", "delivered", "undelivered", "failed"] | None = None,
    clientId: uuid.UUID | None = None,  # noqa: N803
    from_: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    to: IsoDateTime | None = None,
) -> list[Notification]:
    """Every SMS the service enqueued, newest first, with its delivery status."""
    rows, total = await run_in_threadpool(
        lambda: api.sms.notifications(
            status=status,
            client_id=clientId,
            since=from_,
            until=to,
            offset=page.offset,
            limit=page.limit,
        )
    )
    set_total(response, total)
    return [
        Notification(
            messageId=r["message_id"],
            clientId=r["client_id"],
            phone=r["phone"],
            kind=r["kind"],
            language=r["language"],
            text=r["text"],
            status=r["status"],
            deliveryStatus=r["delivery_status"],
            failureReason=r["failure_reason"],
            providerMessageId=r["provider_message_id"],
            attempts=r["attempts"],
            lastError=r["last_error"],
            createdAt=r["created_at"],
            updatedAt=r["updated_at"],
        )
        for r in rows
    ]
