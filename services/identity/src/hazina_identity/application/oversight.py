"""Oversight for staff: the audit log, each staff member's notifications, the system log.

Identity hosts them because it owns staff: the audit log names who acted, and notifications are
addressed to staff members. Both are read models of the contract events on the IDENTITY,
ORIGINATION, LEDGER and PAYMENTS streams (``adapters/oversight.py``), never of another service's
tables. These are the ports the routes read them through.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

# Who may read the audit log and the system log (ROLES.md: analytics, audit logs, system logs).
OVERSEERS = ("super_admin", "admin", "initiator_admin", "approver_admin")
# Every staff role has notifications of their own.
EVERY_STAFF_ROLE = (*OVERSEERS, "loan_officer", "accountant")


@dataclass(frozen=True)
class AuditQuery:
    entity_type: str | None = None
    entity_id: str | None = None
    user: str | None = None  # a username, a user id, or "system"
    action: str | None = None
    status: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    offset: int = 0
    limit: int = 200


class AuditTrail(Protocol):
    def search(self, query: AuditQuery) -> tuple[list[dict[str, Any]], int]:
        """The entries that match, newest first, and how many match in all."""


class StaffNotifications(Protocol):
    def list(
        self, recipient: uuid.UUID, *, unread_only: bool, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """The recipient's notifications, newest first, and how many there are."""

    def mark_read(self, recipient: uuid.UUID, notification_id: uuid.UUID) -> dict[str, Any] | None:
        """None when it is not the recipient's (or no longer exists)."""

    def delete(self, recipient: uuid.UUID, notification_id: uuid.UUID) -> bool:
        """False when it is not the recipient's (or was already deleted)."""


LogFile = Literal["all", "error"]


class SystemLog(Protocol):
    def entries(self, *, file: LogFile, level: str | None, limit: int) -> list[dict[str, str]]:
        """The newest entries first: ``timestamp, level, message, raw``, personal data masked."""

    @property
    def source(self) -> str | None:
        """The log's name, or None when this deployment gave identity no log to read."""
