"""``/loan-officers`` and ``/admin/create-loan-officer`` (doc §3), the dropdowns that load the
officers (client and group edit dialogs, the assess page) and the group page's officer name:
``GET /api/loan-officers`` (``_id`` = the user id, ``name, nationalId, username, phone, email,
branchId{_id,name}``, any staff), ``POST /api/loan-officers`` (the super admin; the officer signs
in with their national ID and the initial password the page states), ``GET
/api/loan-officers/:id`` and ``GET /api/users/:id`` → ``name``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

INITIAL_PASSWORD = "12345678"  # the staff pages' initial password  # pragma: allowlist secret


def _form(branch_id: str) -> dict[str, str]:
    return {
        "name": "Mwangi Kariuki",
        "phone": "0722333444",
        "email": "mwangi@dhamira.example",
        "nationalId": str(uuid.uuid4().int)[:8],
        "branchId": branch_id,
    }


def test_the_super_admin_creates_an_officer_every_role_lists_and_who_signs_in(
    super_admin: Any, new_staff: Any, sign_in: Any
) -> None:
    code = f"L{uuid.uuid4().hex[:6]}".upper()
    branch = super_admin.ok("POST", "/api/branches", 201, json={"name": "Embu", "code": code})
    form = _form(branch["_id"])
    made = super_admin.ok("POST", "/api/loan-officers", 201, json=form)
    assert made["name"] == form["name"] and made["nationalId"] == form["nationalId"]

    officer = sign_in(form["nationalId"], INITIAL_PASSWORD)
    assert officer.user["_id"] == made["_id"] and officer.user["role"] == "loan_officer"

    for page in (super_admin, officer, new_staff("admin"), new_staff("accountant")):
        listed = page.ok("GET", "/api/loan-officers")
        assert isinstance(listed, list)
        [row] = [o for o in listed if o["_id"] == made["_id"]]
        assert {k: row[k] for k in ("name", "nationalId", "username", "phone", "email")} == {
            "name": form["name"],
            "nationalId": form["nationalId"],
            "username": form["nationalId"],
            "phone": form["phone"],
            "email": form["email"],
        }
        assert row["branchId"] == {"_id": branch["_id"], "name": "Embu"}
        assert page.ok("GET", f"/api/loan-officers/{made['_id']}")["name"] == form["name"]
    for page in (super_admin, officer):  # the group page's fallback, whoever views the group
        assert page.ok("GET", f"/api/users/{made['_id']}")["name"] == form["name"]


def test_only_the_super_admin_creates_officers(super_admin: Any, new_staff: Any) -> None:
    for role in ("admin", "initiator_admin", "approver_admin", "loan_officer", "accountant"):
        refused = new_staff(role).call("POST", "/api/loan-officers", json=_form(""))
        assert refused.status_code == 403, role


def test_a_taken_national_id_is_a_409_and_a_bad_one_a_400(super_admin: Any) -> None:
    form = _form("")
    super_admin.ok("POST", "/api/loan-officers", 201, json=form)
    again = super_admin.call("POST", "/api/loan-officers", json=form)
    assert again.status_code == 409 and "already exists" in again.json()["message"]
    bad = super_admin.call("POST", "/api/loan-officers", json={**form, "nationalId": "!!"})
    assert bad.status_code == 400


def test_an_id_that_is_no_officer_is_a_404_the_group_page_falls_back_from(
    super_admin: Any,
) -> None:
    missing = super_admin.call("GET", f"/api/loan-officers/{super_admin.user['_id']}")
    assert missing.status_code == 404
    assert super_admin.ok("GET", f"/api/users/{super_admin.user['_id']}")["name"]
