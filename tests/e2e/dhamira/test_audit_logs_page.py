"""The audit-logs page (doc §3 "Approvals, admin, analytics, logs"): ``GET /api/audit-logs``, an
array of ``id, action, user, entityType, entityId, status, timestamp, details`` that the page
renders as text (``details`` too). Rows are read off the event streams by identity's consumers,
so a real action appears within seconds, naming who did it."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

DEADLINE_SECONDS = 90  # generous: a busy machine delays events, never loses them


def _audited(page: Any, query: str, entity_id: str) -> dict[str, Any]:
    """Poll the page's call until the entry about ``entity_id`` is there."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        rows = page.ok("GET", f"/api/audit-logs?{query}")
        found = [row for row in rows if row["entityId"] == entity_id]
        if found or time.monotonic() > deadline:
            assert found, f"no audit entry {query} for {entity_id} after {DEADLINE_SECONDS}s"
            return dict(found[0])
        time.sleep(0.2)


def _page_fields(row: dict[str, Any]) -> None:
    for field in ("id", "action", "user", "entityType", "entityId", "timestamp", "details"):
        assert isinstance(row[field], str) and row[field], field  # rendered as text
    assert row["status"] in ("success", "failed")
    datetime.fromisoformat(row["timestamp"])


def test_a_user_made_by_the_super_admin_appears_with_who_and_what(
    super_admin: Any, new_staff: Any
) -> None:
    officer = new_staff("loan_officer")
    row = _audited(super_admin, "entityType=user&action=UserCreated", officer.user["_id"])
    _page_fields(row)
    assert row["user"] == "superadmin" and row["status"] == "success"
    assert officer.user["username"] in row["details"]


def test_a_group_an_officer_creates_in_origination_is_audited_under_their_name(
    super_admin: Any, new_staff: Any
) -> None:
    officer, approver = new_staff("loan_officer"), new_staff("approver_admin")
    officer_id = officer.user["_id"]
    deadline = time.monotonic() + DEADLINE_SECONDS  # origination learns of the officer by event
    while super_admin.call("GET", f"/api/loan-officers/{officer_id}").status_code != 200:
        assert time.monotonic() < deadline, "origination never learned of the new officer"
        time.sleep(0.2)
    group = officer.ok(
        "POST",
        "/api/groups",
        201,
        json={
            "name": "Audit Umoja",
            "meetingDay": "Monday",
            "meetingTime": "10:00",
            "loanOfficerId": officer_id,
        },
    )
    row = _audited(approver, "entityType=group", group["_id"])
    _page_fields(row)
    assert row["action"] == "GroupCreated" and row["user"] == officer.user["username"]
    assert "Audit Umoja" in row["details"]

    newest_first = approver.call("GET", "/api/audit-logs?limit=5")
    assert newest_first.status_code == 200 and int(newest_first.headers["X-Total-Count"]) >= 2
    stamps = [r["timestamp"] for r in newest_first.json()]
    assert stamps == sorted(stamps, reverse=True)


def test_a_loan_officer_is_refused_without_being_signed_out(new_staff: Any) -> None:
    refused = new_staff("loan_officer").call("GET", "/api/audit-logs")
    assert refused.status_code == 403  # 401 would sign them out
