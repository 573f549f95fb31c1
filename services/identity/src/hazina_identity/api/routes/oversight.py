"""Oversight pages of the staff frontend: audit logs, system logs, and each staff member's
notifications (doc §3 "Approvals, admin, analytics, logs"; ROLES.md says who)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hazina_identity.application.oversight import (
    EVERY_STAFF_ROLE,
    OVERSEERS,
    AuditQuery,
    AuditTrail,
    StaffNotifications,
    SystemLog,
)
from hazina_servicekit.auth import Principal, require_roles
from hazina_servicekit.dates import IsoDate
from hazina_servicekit.errors import NotFound
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

# Without a limit the audit page gets the newest entries, not the whole history since day one.
DEFAULT_AUDIT_LIMIT = 200
_OPEN = ConfigDict(extra="allow", populate_by_name=True)


@dataclass(frozen=True)
class OversightApi:
    audit: AuditTrail
    notifications: StaffNotifications
    system_log: SystemLog


def get_oversight(request: Request) -> OversightApi:
    api: OversightApi = request.app.state.oversight_api
    return api


OversightDep = Annotated[OversightApi, Depends(get_oversight)]
OverseerDep = Annotated[Principal, Depends(require_roles(*OVERSEERS))]
StaffDep = Annotated[Principal, Depends(require_roles(*EVERY_STAFF_ROLE))]

router = APIRouter(tags=["oversight"])


class AuditEntryView(BaseModel):
    """One audited event: who (``user``: a username, else the user id, else ``system``) did what."""

    model_config = _OPEN
    id: str
    action: str
    user: str
    userId: str | None  # noqa: N815 - the frontend's names
    entityType: str  # noqa: N815
    entityId: str | None  # noqa: N815
    status: Literal["success", "failed"]
    timestamp: str
    details: str
    data: dict[str, Any]


class LogEntryView(BaseModel):
    timestamp: str
    level: str
    message: str
    raw: str


class LogsView(BaseModel):
    count: int
    entries: list[LogEntryView]
    source: str | None = Field(description="the log file read; null when none is configured")


class NotificationView(BaseModel):
    model_config = _OPEN
    notification_id: str = Field(alias="_id")
    title: str
    body: str
    type: str
    read: bool
    createdAt: str  # noqa: N815


class NotificationsView(BaseModel):
    count: int
    items: list[NotificationView]


class Deleted(BaseModel):
    success: bool


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _audit_view(row: dict[str, Any]) -> dict[str, Any]:
    actor = row["actor_id"]
    return {
        "id": str(row["id"]),
        "action": row["action"],
        "user": row["username"] or (str(actor) if actor else "system"),
        "userId": str(actor) if actor else None,
        "entityType": row["entity_type"],
        "entityId": row["entity_id"],
        "status": row["status"],
        "timestamp": _iso(row["occurred_at"]),
        "details": row["details"],
        "data": row["data"],
    }


def _notification_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": str(row["id"]),
        "title": row["title"],
        "body": row["body"],
        "type": row["kind"],
        "read": row["read_at"] is not None,
        "createdAt": _iso(row["created_at"]),
    }


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@router.get("/api/audit-logs", response_model=list[AuditEntryView])
def audit_logs(
    response: Response,
    _: OverseerDep,
    api: OversightDep,
    page: PageDep,
    entityType: Annotated[PlainText | None, Query(max_length=60)] = None,  # noqa: N803
    entityId: Annotated[PlainText | None, Query(max_length=100)] = None,  # noqa: N803
    user: Annotated[PlainText | None, Query(max_length=100)] = None,
    action: Annotated[PlainText | None, Query(max_length=100)] = None,
    status: Literal["success", "failed"] | None = None,
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: IsoDate | None = None,
) -> list[dict[str, Any]]:
    """The newest first; ``from``/``to`` are whole days (UTC), both included."""
    limit = page.limit or DEFAULT_AUDIT_LIMIT
    rows, total = api.audit.search(
        AuditQuery(
            entity_type=entityType,
            entity_id=entityId,
            user=user,
            action=action,
            status=status,
            since=_day_start(from_) if from_ else None,
            before=_day_start(to + dt.timedelta(days=1)) if to else None,
            offset=(page.page - 1) * limit,
            limit=limit,
        )
    )
    set_total(response, total)
    return [_audit_view(row) for row in rows]


@router.get("/api/logs", response_model=LogsView)
def system_logs(
    _: OverseerDep,
    api: OversightDep,
    file: Literal["all", "error"] = "all",
    level: Literal["debug", "info", "warn", "warning", "error"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The newest entries first, from the log every service writes (see ``adapters/system_log``)."""
    entries = api.system_log.entries(file=file, level=level, limit=limit)
    return {"count": len(entries), "entries": entries, "source": api.system_log.source}


@router.get("/api/logs/notifications", response_model=NotificationsView)
def my_notifications(
    me: StaffDep,
    api: OversightDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The signed-in staff member's own notifications, newest first."""
    rows, total = api.notifications.list(me.user_id, unread_only=unread, limit=limit)
    return {"count": total, "items": [_notification_view(row) for row in rows]}


@router.put("/api/logs/notifications/{notification_id}/read", response_model=NotificationView)
def mark_read(notification_id: uuid.UUID, me: StaffDep, api: OversightDep) -> dict[str, Any]:
    row = api.notifications.mark_read(me.user_id, notification_id)
    if row is None:
        raise NotFound("Notification not found")
    return _notification_view(row)


@router.delete("/api/logs/notifications/{notification_id}", response_model=Deleted)
def delete_notification(
    notification_id: uuid.UUID, me: StaffDep, api: OversightDep
) -> dict[str, bool]:
    """Only one's own: another's is "not found", as it is for them to decide."""
    if not api.notifications.delete(me.user_id, notification_id):
        raise NotFound("Notification not found")
    return {"success": True}
