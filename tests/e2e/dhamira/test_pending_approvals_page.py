"""The Pending Approvals page (doc §3 "Approvals", admin, initiator, approver, super_admin):
``GET /api/clients?status=pending&limit=1000`` and ``GET /api/groups?status=pending&limit=1000``
(both re-filtered on ``status === "pending"``; a group awaiting approval, Hazina's
``provisional``, is served as ``pending``), reading clients ``name,nationalId,phone,
groupId{name},branchId{name}`` and groups ``name,meetingDay,meetingTime,branchId{name},
loanOfficer{name|username}``; then ``PUT /api/clients/:id`` or ``PUT /api/groups/:id`` with
``{status: "active"}`` or ``{status: "rejected"}``."""

from __future__ import annotations

from typing import Any

import pytest

from hazina_servicekit.testing import eventually

from .records import branch, onboard

pytestmark = pytest.mark.e2e

DECIDERS = ("admin", "initiator_admin", "approver_admin")


@pytest.fixture(scope="module")
def officer(new_staff: Any) -> Any:
    return new_staff("loan_officer")


def _pending(page: Any, kind: str) -> dict[str, Any]:
    rows = page.ok("GET", f"/api/{kind}?status=pending&limit=1000")
    assert isinstance(rows, list)
    return {row["_id"]: row for row in rows if row["status"] == "pending"}


def test_pending_clients_and_groups_show_what_the_page_reads(
    super_admin: Any, officer: Any, new_staff: Any
) -> None:
    made = branch(super_admin)
    group = officer.ok(
        "POST",
        "/api/groups",
        201,
        json={
            "name": "Faraja",
            "meetingDay": "Tuesday",
            "meetingTime": "9:00",
            "branchId": made["_id"],
        },
    )
    client = onboard(officer, group["_id"], made["_id"])
    page = new_staff("approver_admin")
    row = _pending(page, "clients")[client["_id"]]
    assert row["name"] == client["name"] and row["nationalId"] == client["nationalId"]
    assert row["phone"] and row["groupId"]["name"] == "Faraja"
    shown = _pending(page, "groups")[group["_id"]]
    assert shown["meetingDay"] == "Tuesday" and shown["meetingTime"] == "09:00"
    username = officer.user["username"]
    named = eventually(
        lambda: (
            (g := page.ok("GET", f"/api/groups/{group['_id']}"))["branchId"]["name"]
            and g["loanOfficer"]["username"] == username
            and g
        ),
        "the branch and officer names to reach origination",
    )
    assert named["branchId"]["name"] == made["name"]
    assert _pending(page, "clients")[client["_id"]]["branchId"]["name"] == made["name"]


@pytest.mark.parametrize("role", DECIDERS)
def test_each_admin_approves_and_rejects(role: str, officer: Any, new_staff: Any) -> None:
    page = new_staff(role)
    group = officer.ok("POST", "/api/groups", 201, json={"name": f"Amani {role}"})
    other = officer.ok("POST", "/api/groups", 201, json={"name": f"Neema {role}"})
    client = onboard(officer, group["_id"])
    refused = onboard(officer, group["_id"])
    page.ok("PUT", f"/api/clients/{client['_id']}", json={"status": "active"})
    page.ok("PUT", f"/api/clients/{refused['_id']}", json={"status": "rejected"})
    page.ok("PUT", f"/api/groups/{group['_id']}", json={"status": "active"})
    page.ok("PUT", f"/api/groups/{other['_id']}", json={"status": "rejected"})
    clients, groups = _pending(page, "clients"), _pending(page, "groups")
    assert client["_id"] not in clients and refused["_id"] not in clients
    assert group["_id"] not in groups and other["_id"] not in groups
    assert page.ok("GET", f"/api/clients/{client['_id']}")["status"] == "active"
    assert page.ok("GET", f"/api/clients/{refused['_id']}")["status"] == "rejected"
    assert page.ok("GET", f"/api/groups/{group['_id']}")["status"] == "active"
    assert page.ok("GET", f"/api/groups/{other['_id']}")["status"] == "rejected"
    # a double click: the same decision again is a 200 that changes nothing
    again = page.ok("PUT", f"/api/clients/{refused['_id']}", json={"status": "rejected"})
    assert again["status"] == "rejected"


def test_officers_and_accountants_may_not_decide(officer: Any, new_staff: Any) -> None:
    group = officer.ok("POST", "/api/groups", 201, json={"name": "Subira"})
    client = onboard(officer, group["_id"])
    for page in (officer, new_staff("accountant")):
        for path in (f"/api/clients/{client['_id']}", f"/api/groups/{group['_id']}"):
            response = page.call("PUT", path, json={"status": "active"})
            assert response.status_code == 403, (page.user["role"], path, response.text)
