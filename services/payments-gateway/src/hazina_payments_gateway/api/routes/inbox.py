"""The callback inbox as staff see it: what was flagged (unreadable, surprising, conflicting), parked
(processing kept failing) or left open (nothing acts on that kind yet), each with the raw callback
exactly as received; and the two decisions staff can take, each stored as an event first.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from hazina_payments_gateway.adapters.inbox import (
    ATTENTION,
    KINDS,
    STATUSES,
    InboxRowNotFoundError,
    InboxRowStateError,
    get_row,
    inbox_key,
    list_rows,
    resolve,
)
from hazina_payments_gateway.api.deps import ApiDep, FinanceDep, GatewayApi
from hazina_payments_gateway.domain.callback_review import MAX_REASON, Decision, checked_reason
from hazina_servicekit.auth import Principal
from hazina_servicekit.errors import BadRequest, Conflict, NotFound
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import MultilineText, PlainText

router = APIRouter(prefix="/api/payments/inbox", tags=["inbox"])
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def inbox_view(row: dict[str, Any], *, exact: bool = False) -> dict[str, Any]:
    body = bytes(row["body"])
    view = {
        "id": row["id"],
        "kind": row["kind"],
        "status": row["status"],
        "outcome": row["outcome"],
        "reason": row["error"],
        "attempts": row["attempts"],
        "receivedAt": _iso(row["received_at"]),
        "processedAt": _iso(row["processed_at"]),
        "nextAttemptAt": _iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "detail": row["detail"],
        # As received; bytes that are not UTF-8 are shown escaped (``bodyBase64`` is exact).
        "body": body.decode("utf-8", errors="backslashreplace"),
        "bodyBytes": len(body),
    }
    if exact:
        view["bodyBase64"] = base64.b64encode(body).decode()
        view["remoteAddress"] = row["remote_addr"]
    return view


def _statuses(text: str | None) -> list[str]:
    if not text:
        return list(ATTENTION)
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown or not wanted:
        raise BadRequest(f"status must be one or more of {', '.join(STATUSES)}")
    return wanted


@router.get("")
def list_inbox(
    response: Response,
    api: ApiDep,
    _: FinanceDep,
    page: PageDep,
    status: Annotated[PlainText | None, Query(max_length=100)] = None,
    kind: Annotated[PlainText | None, Query(max_length=40)] = None,
) -> list[dict[str, Any]]:
    """Stored callbacks, newest first; by default those awaiting staff (flagged, parked, open)."""
    statuses = _statuses(status)
    if kind is not None and kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}")
    rows, total = list_rows(
        api.index.pool, statuses=statuses, kind=kind, offset=page.offset, limit=page.limit
    )
    set_total(response, total)
    return [inbox_view(r) for r in rows]


@router.get("/{row_id}")
def get_inbox_row(row_id: RowId, api: ApiDep, _: FinanceDep) -> dict[str, Any]:
    try:
        return inbox_view(get_row(api.index.pool, row_id), exact=True)
    except InboxRowNotFoundError:
        raise NotFound("Stored callback not found") from None


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: MultilineText = Field(min_length=1, max_length=MAX_REASON)


def _decide(
    api: GatewayApi, row_id: int, decision: Decision, actor: Principal, reason: str
) -> dict[str, Any]:
    reason = checked_reason(reason)

    def record(row: dict[str, Any]) -> None:
        api.app.record_callback_decision(
            inbox_key=inbox_key(row),
            inbox_id=row["id"],
            kind=row["kind"],
            decision=decision,
            was=row["status"],
            by=actor.user_id,
            reason=reason,
        )

    try:
        row = resolve(api.index.pool, row_id, decision, record)
    except InboxRowNotFoundError:
        raise NotFound("Stored callback not found") from None
    except InboxRowStateError as exc:
        raise Conflict(str(exc)) from None
    if decision == "retry":
        api.inbox.wake()
    return inbox_view(row, exact=True)


@router.post("/{row_id}/retry")
def retry_inbox_row(
    row_id: RowId, body: DecisionRequest, api: ApiDep, actor: FinanceDep
) -> dict[str, Any]:
    """Process a flagged, parked or open callback again (after a fix, or once what it refers to exists)."""
    return _decide(api, row_id, "retry", actor, body.reason)


@router.post("/{row_id}/dismiss")
def dismiss_inbox_row(
    row_id: RowId, body: DecisionRequest, api: ApiDep, actor: FinanceDep
) -> dict[str, Any]:
    """Close a flagged, parked or open callback without processing it; the reason is kept."""
    return _decide(api, row_id, "dismiss", actor, body.reason)
