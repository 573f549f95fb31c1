"""The clients page (doc §3 "Clients", ``/clients``): ``GET /api/clients?limit=1000`` (with
``&search=q`` from the header search), a bare array of ``_id,name,nationalId,phone,
groupId{_id,name}|null,status``. Lists honour ``limit`` (absent: every client), ``status``,
``groupId`` and ``search``; a loan officer sees only their own clients; 401 only for a token."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .records import onboard

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def officer(new_staff: Any) -> Any:
    return new_staff("loan_officer")


def test_the_list_is_a_bare_array_of_the_fields_the_page_reads(
    officer: Any, new_staff: Any
) -> None:
    group = officer.ok("POST", "/api/groups", 201, json={"name": f"Imani {uuid.uuid4().hex[:4]}"})
    member = onboard(officer, group["_id"])
    loner = onboard(officer)
    for page in (new_staff("admin"), new_staff("accountant"), officer):
        listed = page.ok("GET", "/api/clients?limit=1000")
        assert isinstance(listed, list)
        rows = {c["_id"]: c for c in listed}
        assert rows[member["_id"]]["groupId"] == {
            "_id": group["_id"],
            "name": group["name"],
            "meetingDay": None,
            "meetingTime": None,
        }
        assert rows[loner["_id"]]["groupId"] is None
        for row in (rows[member["_id"]], rows[loner["_id"]]):
            assert row["status"] == "pending"
            assert isinstance(row["_id"], str) and row["name"] and row["nationalId"]
            assert row["phone"].startswith("254")


def test_limit_search_status_and_group_filters(officer: Any, super_admin: Any) -> None:
    name = f"Zawadi {uuid.uuid4().hex[:6]}"
    group = officer.ok("POST", "/api/groups", 201, json={"name": f"Baraka {uuid.uuid4().hex[:4]}"})
    client = onboard(officer, group["_id"], name=name)
    onboard(officer)
    everyone = super_admin.call("GET", "/api/clients")
    assert int(everyone.headers["x-total-count"]) == len(everyone.json())  # no limit: all
    assert len(super_admin.ok("GET", "/api/clients?limit=1")) == 1
    found = super_admin.ok("GET", f"/api/clients?limit=1000&search={name.split()[1]}")
    assert [c["_id"] for c in found] == [client["_id"]]
    by_id = super_admin.ok("GET", f"/api/clients?search={client['nationalId']}")
    assert [c["_id"] for c in by_id] == [client["_id"]]
    members = super_admin.ok("GET", f"/api/clients?groupId={group['_id']}")
    assert [c["_id"] for c in members] == [client["_id"]]
    active = super_admin.ok("GET", "/api/clients?status=active&limit=1000")
    assert client["_id"] not in {c["_id"] for c in active}


def test_an_officer_sees_only_their_own_clients(officer: Any, new_staff: Any) -> None:
    mine = onboard(officer)
    other = new_staff("loan_officer")
    theirs = onboard(other)
    listed = {c["_id"] for c in officer.ok("GET", "/api/clients?limit=1000")}
    assert mine["_id"] in listed and theirs["_id"] not in listed
    assert officer.call("GET", f"/api/clients/{theirs['_id']}").status_code == 404


def test_a_page_without_a_token_is_a_401(super_admin: Any) -> None:
    anonymous = super_admin.__class__(super_admin.client)
    assert anonymous.call("GET", "/api/clients?limit=1000").status_code == 401
