"""Reconciliation: the day's B2C and C2B against the ledger's postings; and finding payments whose
callback never came (Daraja Pull Transactions, or an M-Pesa statement CSV), recorded through the
same idempotent path as callbacks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from hazina_payments_gateway.adapters.daraja.client import PullFailedError
from hazina_payments_gateway.adapters.inbox import attention_counts
from hazina_payments_gateway.adapters.reconciliation import (
    StatementError,
    parse_statement,
    reconciliation_report,
)
from hazina_payments_gateway.api.deps import ApiDep, FinanceDep, GatewayApi
from hazina_payments_gateway.api.responses import PullResult, StatementResult
from hazina_payments_gateway.application.records import IncomingPayment
from hazina_payments_gateway.domain.rules import EAT
from hazina_servicekit.dates import IsoDate, IsoDateTime
from hazina_servicekit.errors import BadRequest, ServiceUnavailable
from hazina_servicekit.openapi import error_response

router = APIRouter(prefix="/api/payments/reconciliation", tags=["reconciliation"])
DARAJA_KEEPS = dt.timedelta(hours=48)
CLOCK_SKEW = dt.timedelta(minutes=5)


@router.get("")
def reconciliation(
    api: ApiDep, _: FinanceDep, date: Annotated[IsoDate | None, Query()] = None
) -> dict[str, Any]:
    api.projection.catch_up()
    day = date or dt.datetime.now(EAT).date()
    report = reconciliation_report(api.index.pool, day)
    report["callbacks"] = {**attention_counts(api.index.pool), "list": "/api/payments/inbox"}
    return report


def _record_all(api: GatewayApi, payments: list[IncomingPayment]) -> dict[str, int]:
    outcomes = [api.app.record_payment(p).status for p in payments]
    recorded = outcomes.count("recorded")
    return {
        "found": len(payments),
        "recorded": recorded,
        "alreadyKnown": len(payments) - recorded,
        "conflicts": outcomes.count("conflict"),
    }


class PullRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: IsoDateTime | None = None
    end: IsoDateTime | None = None


@router.post(
    "/pull",
    response_model=PullResult,
    responses={503: error_response(503, "Daraja's Pull Transactions did not answer")},
)
async def pull(body: PullRequest, request: Request, _: FinanceDep) -> dict[str, Any]:
    """Ask Daraja (Pull Transactions) for the window's C2B payments and record any we missed."""
    api: GatewayApi = request.app.state.gateway_api
    end = body.end or dt.datetime.now(dt.UTC)
    start = body.start or end - dt.timedelta(seconds=api.pull_window_seconds)
    if start >= end or end - start > DARAJA_KEEPS:
        raise BadRequest("the window must be positive and at most 48 hours (Daraja keeps 48 hours)")
    now = dt.datetime.now(dt.UTC)
    if start < now - DARAJA_KEEPS - CLOCK_SKEW or end > now + CLOCK_SKEW:
        # Daraja refuses such a query (400), which would otherwise read as Daraja being down.
        raise BadRequest("the window must lie within the last 48 hours (Daraja keeps 48 hours)")
    try:
        payments = await api.daraja.pull_transactions(start, end)
    except PullFailedError as exc:
        raise ServiceUnavailable(f"Daraja's Pull Transactions failed: {exc}") from None
    counts = await asyncio.to_thread(_record_all, api, payments)
    return {"start": start.isoformat(), "end": end.isoformat(), **counts}


@router.post(
    "/statement",
    response_model=StatementResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def import_statement(request: Request, _: FinanceDep) -> dict[str, Any]:
    """An M-Pesa organisation statement (CSV, as the body or a multipart ``file``)."""
    api: GatewayApi = request.app.state.gateway_api
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form() as form:  # closes the spooled upload afterwards
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise BadRequest("file is required")
            raw = await upload.read()
    else:
        raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("latin-1")
        except UnicodeDecodeError:
            raise BadRequest("the statement is not text") from None
    try:
        payments, problems = parse_statement(text, shortcode=None)
    except StatementError as exc:
        raise BadRequest(str(exc)) from None
    counts = await asyncio.to_thread(_record_all, api, payments)
    return {**counts, "problems": problems}
