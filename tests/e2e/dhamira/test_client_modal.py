"""The client modal (doc §3 "Clients"): ``GET /api/clients/:id`` read as the client itself, with
``groupId{_id,name,meetingDay,meetingTime}``, ``branchId{name,location}``,
``loanOfficer{username,email}``, ``createdBy/approvedBy.username``, ``nextOfKin``,
``savings_balance_cents``, ``hasLoanHistory`` and the history arrays; the approve button
(``PUT /api/clients/:id/approve``: admin, initiator, approver) and the edit dialog (loads
``/api/groups``, ``/api/branches``, ``/api/loan-officers``; ``PUT /api/clients/:id`` with the
contact details, ``residenceType`` "Owned"/"Rented"/"Family", ``nextOfKin{}``, ``nationalId``
only if changed, and for admins also ``groupId, branchId, loanOfficer``)."""

from __future__ import annotations

from typing import Any

import pytest

from hazina_servicekit.testing import eventually

from .records import branch, national_id, onboard

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def officer(new_staff: Any) -> Any:
    return new_staff("loan_officer")


def test_the_modal_reads_the_client_with_its_references_filled_in(
    super_admin: Any, officer: Any, new_staff: Any
) -> None:
    made = branch(super_admin)
    group = officer.ok(
        "POST",
        "/api/groups",
        201,
        json={"name": "Wema", "meetingDay": "Friday", "meetingTime": "14:00"},
    )
    client = onboard(officer, group["_id"], made["_id"])
    admin = new_staff("admin")
    admin.ok("PUT", f"/api/clients/{client['_id']}/approve", json={})
    username = officer.user["username"]

    def filled() -> Any:
        seen = admin.ok("GET", f"/api/clients/{client['_id']}")
        ready = (
            seen["branchId"]["name"]
            and seen["loanOfficer"]["username"] == username
            and seen["approvedBy"]["username"] == admin.user["username"]
        )
        return seen if ready else None

    seen = eventually(filled, "identity's branch and staff events to reach origination")
    assert seen["groupId"] == {
        "_id": group["_id"],
        "name": "Wema",
        "meetingDay": "Friday",
        "meetingTime": "14:00",
    }
    assert seen["branchId"] == {"_id": made["_id"], "name": made["name"], "location": "Thika"}
    assert "email" in seen["loanOfficer"] and seen["createdBy"]["username"] == username
    assert seen["status"] == "active" and seen["residenceType"] == "owned"
    assert seen["registrationDate"] and seen["createdAt"]
    assert set(seen["nextOfKin"]) == {"name", "phone", "relationship"}
    assert seen["savings_balance_cents"] == 0 and seen["hasLoanHistory"] is False
    for history in ("loans", "savingsHistory", "assessments"):
        assert seen[history] == []


@pytest.mark.parametrize("role", ["admin", "initiator_admin", "approver_admin"])
def test_the_approve_button(role: str, officer: Any, new_staff: Any) -> None:
    client = onboard(officer)
    approved = new_staff(role).ok("PUT", f"/api/clients/{client['_id']}/approve", json={})
    assert approved["status"] == "active"


def test_accountants_and_officers_may_not_approve(officer: Any, new_staff: Any) -> None:
    client = onboard(officer)
    for page in (new_staff("accountant"), officer):
        response = page.call("PUT", f"/api/clients/{client['_id']}/approve", json={})
        assert response.status_code == 403


def test_the_edit_dialog_loads_its_lists(new_staff: Any) -> None:
    for role in ("admin", "initiator_admin", "approver_admin", "accountant"):
        page = new_staff(role)
        for path in ("/api/groups", "/api/branches", "/api/loan-officers"):
            assert isinstance(page.ok("GET", path), list), (role, path)


def test_an_accountant_edits_contact_details(officer: Any, new_staff: Any) -> None:
    client = onboard(officer)
    page = new_staff("accountant")
    dialog = {
        "name": "Achieng Otieno",
        "phone": "0722000111",
        "businessType": "Tailoring",
        "businessLocation": "Ruiru",
        "residenceType": "Family",
        "nextOfKin": {"name": "Atieno", "phone": "0733000111", "relationship": "Mother"},
    }
    edited = page.ok("PUT", f"/api/clients/{client['_id']}", json=dialog)
    assert edited["name"] == "Achieng Otieno" and edited["residenceType"] == "family"
    assert edited["nextOfKin"] == {
        "name": "Atieno",
        "phone": "254733000111",
        "relationship": "Mother",
    }
    moved = page.call("PUT", f"/api/clients/{client['_id']}", json={"nationalId": national_id()})
    assert moved.status_code == 403


def test_an_admin_edits_everything_the_dialog_sends(
    super_admin: Any, officer: Any, new_staff: Any
) -> None:
    made = branch(super_admin)
    group = officer.ok("POST", "/api/groups", 201, json={"name": "Shangwe"})
    client = onboard(officer)
    new_id = national_id()
    dialog = {
        "name": client["name"],
        "phone": client["phone"],
        "businessType": "Retail",
        "businessLocation": "Githurai 45",
        "residenceType": "Owned",
        "nextOfKin": client["nextOfKin"],
        "nationalId": new_id,
        "groupId": group["_id"],
        "branchId": made["_id"],
        "loanOfficer": officer.user["_id"],
    }
    edited = new_staff("admin").ok("PUT", f"/api/clients/{client['_id']}", json=dialog)
    assert edited["nationalId"] == new_id and edited["groupId"]["_id"] == group["_id"]
    assert edited["branchId"]["_id"] == made["_id"]
    assert edited["loanOfficerId"] == officer.user["_id"]
    taken = onboard(officer)
    clash = super_admin.call(
        "PUT", f"/api/clients/{client['_id']}", json={"nationalId": taken["nationalId"]}
    )
    assert clash.status_code == 409 and "already exists" in clash.json()["message"]
    bad = super_admin.call("PUT", f"/api/clients/{client['_id']}", json={"residenceType": "Hut"})
    assert bad.status_code == 400 and "residence" in bad.json()["message"]
