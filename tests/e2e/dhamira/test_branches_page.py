"""The branches page and ``/admin/create-branch`` (doc §3 "Approvals, admin, analytics, logs"), and
every form that loads branches first: ``GET /api/branches`` (a bare array of
``_id,name,code,location,address,phone,email``, any staff) and ``POST /api/branches`` (the super
admin; the code upper-cased and unique, a duplicate a 409 whose message says "already exists")."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

FIELDS = ("_id", "name", "code", "location", "address", "phone", "email")


def _form(code: str) -> dict[str, str]:
    """What the page posts: every field, the code upper-cased by the page."""
    return {
        "name": f"Branch {code}",
        "code": code.upper(),
        "location": "Thika",
        "address": "Kenyatta Highway, Thika",
        "phone": "0712345678",
        "email": f"{code.lower()}@dhamira.example",
    }


def test_the_super_admin_opens_a_branch_and_every_form_lists_it(
    super_admin: Any, new_staff: Any
) -> None:
    code = f"b{uuid.uuid4().hex[:6]}"
    made = super_admin.ok("POST", "/api/branches", 201, json=_form(code))
    assert made["code"] == code.upper()
    for role in (
        "super_admin",
        "admin",
        "initiator_admin",
        "approver_admin",
        "loan_officer",
        "accountant",
    ):
        page = super_admin if role == "super_admin" else new_staff(role)
        listed = page.ok("GET", "/api/branches")
        assert isinstance(listed, list), f"{role}: not a bare array"
        [row] = [b for b in listed if b["_id"] == made["_id"]]
        assert {k: row[k] for k in FIELDS} == {"_id": made["_id"], **_form(code)}
        assert all(isinstance(b["_id"], str) and b["_id"] for b in listed)


def test_a_code_already_used_is_a_409_saying_it_already_exists(super_admin: Any) -> None:
    code = f"d{uuid.uuid4().hex[:6]}"
    super_admin.ok("POST", "/api/branches", 201, json=_form(code))
    again = super_admin.call("POST", "/api/branches", json={**_form(code), "code": code.lower()})
    assert again.status_code == 409
    assert "already exists" in again.json()["message"]


def test_editing_a_branch(super_admin: Any) -> None:
    made = super_admin.ok("POST", "/api/branches", 201, json=_form(f"e{uuid.uuid4().hex[:6]}"))
    changed = super_admin.ok(
        "PUT", f"/api/branches/{made['_id']}", json={**_form(made["code"]), "name": "Renamed"}
    )
    assert changed["name"] == "Renamed" and changed["code"] == made["code"]


def test_only_the_super_admin_opens_branches_and_only_a_bad_token_is_a_401(
    super_admin: Any, new_staff: Any, sign_in: Any
) -> None:
    for role in ("admin", "approver_admin", "loan_officer", "accountant"):
        refused = new_staff(role).call("POST", "/api/branches", json=_form("NOPE"))
        assert refused.status_code == 403, (role, refused.text)
    anonymous = super_admin.__class__(super_admin.client)
    assert anonymous.call("GET", "/api/branches").status_code == 401
    bad = super_admin.call("POST", "/api/branches", json={"name": "", "code": ""})
    assert bad.status_code == 400
