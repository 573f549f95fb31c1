"""``/admin/create-admin`` and ``/admin/users`` (doc §3 "Approvals, admin, analytics, logs"): the
super admin loads branches and admins, creates an initiator or approver admin exactly as the page
posts (username = ID number, the page's password), lists them with string fields the search
lower-cases and ``branchId{_id,name}``, and deletes one (deactivated; their token stops working)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

PAGE_PASSWORD = "12345678"  # what the page sends  # pragma: allowlist secret
LIST_FIELDS = ("_id", "name", "username", "idNumber", "email", "phone", "role")


def _id_number() -> str:
    return str(uuid.uuid4().int)[:8]


def _branch(super_admin: Any) -> dict[str, Any]:
    code = f"A{uuid.uuid4().hex[:6]}".upper()
    return dict(super_admin.ok("POST", "/api/branches", 201, json={"name": "Nakuru", "code": code}))


def _admin_form(branch_id: str, role: str) -> dict[str, str]:
    id_number = _id_number()
    return {
        "name": "Njeri Wambui",
        "username": id_number,
        "idNumber": id_number,
        "email": "njeri@dhamira.example",
        "phone": "0711222333",
        "password": PAGE_PASSWORD,
        "branchId": branch_id,
        "role": role,
    }


@pytest.mark.parametrize("role", ["initiator_admin", "approver_admin"])
def test_the_super_admin_creates_an_admin_who_signs_in_with_the_role_chosen(
    role: str, super_admin: Any, sign_in: Any
) -> None:
    branch = _branch(super_admin)
    assert isinstance(super_admin.ok("GET", "/api/branches"), list)
    form = _admin_form(branch["_id"], role)
    made = super_admin.ok("POST", "/api/admins", 201, json=form)
    listed = super_admin.ok("GET", "/api/admins")
    assert isinstance(listed, list)
    [row] = [a for a in listed if a["_id"] == made["_id"]]
    for field in LIST_FIELDS:
        assert isinstance(row[field], str), f"{field} must be a string the search lower-cases"
    assert {k: row[k] for k in LIST_FIELDS[1:]} == {
        "name": form["name"],
        "username": form["idNumber"],
        "idNumber": form["idNumber"],
        "email": form["email"],
        "phone": form["phone"],
        "role": role,
    }
    assert row["branchId"] == {"_id": branch["_id"], "name": "Nakuru"}
    assert row["isActive"] is True
    signed_in = sign_in(form["idNumber"], PAGE_PASSWORD)
    assert signed_in.user["role"] == role and signed_in.user["_id"] == made["_id"]


def test_deleting_an_admin_deactivates_them_and_their_token_stops_working(
    super_admin: Any, sign_in: Any
) -> None:
    form = _admin_form(_branch(super_admin)["_id"], "approver_admin")
    made = super_admin.ok("POST", "/api/admins", 201, json=form)
    theirs = sign_in(form["idNumber"], PAGE_PASSWORD)
    theirs.ok("GET", "/api/groups")  # origination accepts the token
    super_admin.ok("DELETE", f"/api/admins/{made['_id']}")
    assert super_admin.ok("GET", f"/api/admins/{made['_id']}")["isActive"] is False
    [row] = [a for a in super_admin.ok("GET", "/api/admins") if a["_id"] == made["_id"]]
    assert row["isActive"] is False
    deadline = time.monotonic() + 10  # revocation reaches every service within seconds
    while (refused := theirs.call("GET", "/api/groups")).status_code != 401:
        assert time.monotonic() < deadline, refused.text
        time.sleep(0.1)
    again = theirs.call(
        "POST", "/api/auth/login", json={"username": form["idNumber"], "password": PAGE_PASSWORD}
    )
    assert again.status_code == 403 and again.json()["message"]


def test_editing_an_admin(super_admin: Any) -> None:
    form = _admin_form(_branch(super_admin)["_id"], "initiator_admin")
    made = super_admin.ok("POST", "/api/admins", 201, json=form)
    edited = super_admin.ok(
        "PUT", f"/api/admins/{made['_id']}", json={"name": "Njeri W.", "role": "approver_admin"}
    )
    assert edited["name"] == "Njeri W." and edited["role"] == "approver_admin"
    assert super_admin.ok("GET", f"/api/admins/{made['_id']}") == edited


def test_only_the_super_admin_manages_admins(new_staff: Any) -> None:
    for role in ("admin", "initiator_admin", "approver_admin", "loan_officer", "accountant"):
        page = new_staff(role)
        assert page.call("GET", "/api/admins").status_code == 403, role
        posted = page.call("POST", "/api/admins", json=_admin_form("", "approver_admin"))
        assert posted.status_code == 403, role
