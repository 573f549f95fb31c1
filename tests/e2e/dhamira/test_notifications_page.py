"""The header bell and the notifications page (doc §3): ``GET /api/logs/notifications
[?unread=true&limit=5]`` → ``{items[{_id,title,body,type,read,createdAt}]}``, ``PUT
…/:id/read``, ``DELETE …/:id``. Identity derives them from events addressed to a staff member: here
an approver approves a loan officer's group in origination, and the officer is told."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

DEADLINE_SECONDS = 90  # generous: a busy machine delays events, never loses them


def _bell(page: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = page.ok("GET", "/api/logs/notifications?unread=true&limit=5")[
        "items"
    ]
    return items


def _approved_group(super_admin: Any, officer: Any, approver: Any) -> dict[str, Any]:
    officer_id = officer.user["_id"]
    deadline = time.monotonic() + DEADLINE_SECONDS  # origination learns of the officer by event
    while super_admin.call("GET", f"/api/loan-officers/{officer_id}").status_code != 200:
        assert time.monotonic() < deadline, "origination never learned of the new officer"
        time.sleep(0.2)
    group: dict[str, Any] = officer.ok(
        "POST",
        "/api/groups",
        201,
        json={
            "name": "Bell Wamama",
            "meetingDay": "Friday",
            "meetingTime": "14:00",
            "loanOfficerId": officer_id,
        },
    )
    approver.ok("PUT", f"/api/groups/{group['_id']}/approve", json={})
    return group


def test_the_officer_hears_their_group_was_approved_reads_it_and_deletes_it(
    super_admin: Any, new_staff: Any
) -> None:
    officer, approver = new_staff("loan_officer"), new_staff("approver_admin")
    _approved_group(super_admin, officer, approver)

    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (bell := _bell(officer)):
        assert time.monotonic() < deadline, "the officer's bell stayed empty"
        time.sleep(0.2)
    (notice,) = bell
    assert isinstance(notice["_id"], str) and notice["_id"]
    assert notice["title"] == "Group approved" and "Bell Wamama" in notice["body"]
    assert notice["type"] == "group" and notice["read"] is False
    datetime.fromisoformat(notice["createdAt"])
    assert _bell(approver) == []  # not told of their own approval

    # Someone else's notification is not theirs to read or delete.
    path = f"/api/logs/notifications/{notice['_id']}"
    assert approver.call("PUT", f"{path}/read", json={}).status_code == 404
    assert approver.call("DELETE", path).status_code == 404

    officer.ok("PUT", f"{path}/read", json={})
    assert _bell(officer) == []
    (read,) = officer.ok("GET", "/api/logs/notifications")["items"]
    assert read["_id"] == notice["_id"] and read["read"] is True

    officer.ok("DELETE", path)
    assert officer.ok("GET", "/api/logs/notifications")["items"] == []
    assert officer.call("DELETE", path).status_code == 404


def test_every_staff_role_has_a_bell(new_staff: Any, super_admin: Any) -> None:
    for page in (super_admin, new_staff("initiator_admin"), new_staff("loan_officer")):
        assert isinstance(page.ok("GET", "/api/logs/notifications")["items"], list)
