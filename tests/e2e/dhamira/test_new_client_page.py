"""The new-client page (doc §3 "Clients", ``/clients/new``, super_admin and loan_officer): it
loads ``GET /api/branches`` and ``GET /api/groups`` (a group's ``branchId`` as a string or
``{_id}``), then posts the form as multipart to ``POST /api/clients`` (flat next-of-kin fields,
``residence``, ``branchId``, ``groupId`` "" when none was chosen, ``photo``), falling back to
``POST /api/clients/onboard``; it shows the answer's ``message``."""

from __future__ import annotations

from typing import Any

import pytest

from .records import JPEG, branch, new_client_form, onboard

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def officer(new_staff: Any) -> Any:
    return new_staff("loan_officer")


def test_the_form_loads_branches_and_groups(super_admin: Any, officer: Any) -> None:
    made = branch(super_admin)
    assert made["_id"] in {b["_id"] for b in officer.ok("GET", "/api/branches")}
    group = officer.ok("POST", "/api/groups", 201, json={"name": "Jamii", "branchId": made["_id"]})
    groups = officer.ok("GET", "/api/groups")
    [row] = [g for g in groups if g["_id"] == group["_id"]]
    assert row["name"] == "Jamii" and row["branchId"]["_id"] == made["_id"]


def test_a_client_without_a_group_is_onboarded_with_every_field_kept(
    super_admin: Any, officer: Any
) -> None:
    made = branch(super_admin)
    form = new_client_form(branch_id=made["_id"])
    answer = officer.ok(
        "POST", "/api/clients", 201, data=form, files={"photo": ("me.jpg", JPEG, "image/jpeg")}
    )
    assert answer["message"]
    client = officer.ok("GET", f"/api/clients/{answer['client']['_id']}")
    assert client["status"] == "pending" and client["groupId"] is None
    assert client["nextOfKin"] == {
        "name": form["nextOfKinName"],
        "phone": "254" + form["nextOfKinPhone"][1:],
        "relationship": form["nextOfKinRelationship"],
    }
    assert client["residence"] == "owned" and client["businessType"] == form["businessType"]
    assert client["branchId"]["_id"] == made["_id"] and client["photoUrl"]


def test_the_onboard_alias_and_a_group_chosen(officer: Any) -> None:
    group = officer.ok("POST", "/api/groups", 201, json={"name": "Tujenge"})
    answer = officer.ok(
        "POST",
        "/api/clients/onboard",
        201,
        data=new_client_form(group_id=group["_id"]),
        files={"photo": ("me.jpg", JPEG, "image/jpeg")},
    )
    assert answer["client"]["groupId"]["_id"] == group["_id"]


def test_bad_input_is_a_400_naming_the_field_and_a_known_id_a_409(officer: Any) -> None:
    for field, value in (("nationalId", "12ab"), ("phone", "123"), ("residence", "castle")):
        response = officer.call(
            "POST",
            "/api/clients",
            data=new_client_form(**{field: value}),
            files={"photo": ("me.jpg", JPEG, "image/jpeg")},
        )
        assert response.status_code == 400, (field, response.text)
        assert field in response.json()["message"]
    first = onboard(officer)
    again = officer.call(
        "POST",
        "/api/clients",
        data=new_client_form(nationalId=first["nationalId"]),
        files={"photo": ("me.jpg", JPEG, "image/jpeg")},
    )
    assert again.status_code == 409 and "already exists" in again.json()["message"]


def test_only_loan_officers_and_the_super_admin_onboard(new_staff: Any) -> None:
    for role in ("admin", "initiator_admin", "approver_admin", "accountant"):
        refused = new_staff(role).call(
            "POST",
            "/api/clients",
            data=new_client_form(),
            files={"photo": ("me.jpg", JPEG, "image/jpeg")},
        )
        assert refused.status_code == 403, role
