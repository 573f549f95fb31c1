"""The group detail page (doc §3 "Groups", ``/groups/[id]``): ``GET
/api/groups/:id?populate=loanOfficer,createdBy,loanOfficerId`` (the parameter is not needed:
references come filled in) reading ``name,status,meetingDay,meetingTime,branchId{name}``,
``loanOfficer{name|username}``, ``chairperson/secretary/treasurer{name,nationalId}``; the
members from ``GET /api/clients?groupId=:id`` (``_id,name,nationalId,savings_balance_cents,
phone``); and "add member" (loan_officer, super_admin): ``PUT /api/clients/:clientId
{groupId}``."""

from __future__ import annotations

from typing import Any

import pytest

from hazina_servicekit.testing import eventually

from .records import branch, group_with_signatories, onboard

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def officer(new_staff: Any) -> Any:
    return new_staff("loan_officer")


def test_the_page_reads_the_group_with_its_references(super_admin: Any, officer: Any) -> None:
    made = branch(super_admin)
    group, people = group_with_signatories(officer, made["_id"])
    path = f"/api/groups/{group['_id']}?populate=loanOfficer,createdBy,loanOfficerId"
    username = officer.user["username"]
    seen = eventually(
        lambda: (
            (g := super_admin.ok("GET", path))["branchId"]["name"]
            and g["loanOfficer"]["username"] == username
            and g
        ),
        "identity's branch and staff events to reach origination",
    )
    assert seen["name"] == group["name"] and seen["status"] == "pending"
    assert seen["meetingDay"] == "Monday" and seen["meetingTime"] == "10:00"
    assert seen["branchId"]["name"] == made["name"]
    assert seen["loanOfficer"]["_id"] == officer.user["_id"]
    for role, person in zip(("chairperson", "secretary", "treasurer"), people, strict=True):
        assert seen[role] == {
            "_id": person["_id"],
            "name": person["name"],
            "nationalId": person["nationalId"],
        }


def test_members_are_the_groups_clients_only(officer: Any) -> None:
    group, people = group_with_signatories(officer, "")
    onboard(officer)  # someone else's member list
    members = officer.ok("GET", f"/api/clients?groupId={group['_id']}")
    assert {m["_id"] for m in members} == {p["_id"] for p in people}
    for member in members:
        assert member["name"] and member["nationalId"] and member["phone"]
        assert member["savings_balance_cents"] == 0


def test_an_officer_adds_a_member_to_their_group(officer: Any, new_staff: Any) -> None:
    group, _ = group_with_signatories(officer, "")
    newcomer = onboard(officer)
    added = officer.ok("PUT", f"/api/clients/{newcomer['_id']}", json={"groupId": group["_id"]})
    assert added["groupId"]["_id"] == group["_id"]
    members = officer.ok("GET", f"/api/clients?groupId={group['_id']}")
    assert newcomer["_id"] in {m["_id"] for m in members}
    other = new_staff("loan_officer")
    their_group = other.ok("POST", "/api/groups", 201, json={"name": "Not yours"})
    refused = officer.call(
        "PUT", f"/api/clients/{newcomer['_id']}", json={"groupId": their_group["_id"]}
    )
    assert refused.status_code == 404


def test_the_super_admin_adds_a_member(super_admin: Any, officer: Any) -> None:
    group, _ = group_with_signatories(officer, "")
    newcomer = onboard(officer)
    added = super_admin.ok("PUT", f"/api/clients/{newcomer['_id']}", json={"groupId": group["_id"]})
    assert added["groupId"]["_id"] == group["_id"]
    assert added["loanOfficerId"] == officer.user["_id"]
