"""The new-group page (doc §3 "Groups", ``/groups/new``, super_admin and loan_officer): it loads
``GET /api/branches`` and ``GET /api/clients?limit=1000`` (``_id,name,nationalId``), then posts
``POST /api/groups`` with ``loanOfficerId`` = the user's own ``_id``, the branch and three
signatories ``[{role, clientId}]``. The group awaits approval and its signatories are recorded,
so once approved it meets the signatory rule; each signatory becomes a member."""

from __future__ import annotations

from typing import Any

import pytest

from .records import branch, group_with_signatories, new_group_form, onboard

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def officer(new_staff: Any) -> Any:
    return new_staff("loan_officer")


def test_the_form_lists_the_officers_clients(officer: Any) -> None:
    client = onboard(officer)
    listed = officer.ok("GET", "/api/clients?limit=1000")
    [row] = [c for c in listed if c["_id"] == client["_id"]]
    assert row["name"] == client["name"] and row["nationalId"] == client["nationalId"]


def test_a_group_made_on_the_page_records_its_signatories(super_admin: Any, officer: Any) -> None:
    made = branch(super_admin)
    group, people = group_with_signatories(officer, made["_id"])
    assert group["status"] == "pending"
    assert group["loanOfficerId"] == officer.user["_id"]
    for role, person in zip(("chairperson", "secretary", "treasurer"), people, strict=True):
        assert group[role]["_id"] == person["_id"]
        assert group[role]["nationalId"] == person["nationalId"]
    assert {s["role"] for s in group["signatories"]} == {"chairperson", "secretary", "treasurer"}
    assert {m["_id"] for m in group["members"]} == {p["_id"] for p in people}
    assert group["branchId"]["_id"] == made["_id"]


def test_the_same_click_again_takes_no_member_away(super_admin: Any, officer: Any) -> None:
    made = branch(super_admin)
    people = [onboard(officer) for _ in range(3)]
    body = new_group_form(officer, made["_id"], people)
    first = officer.ok("POST", "/api/groups", 201, json=body)
    again = officer.call("POST", "/api/groups", json=body)
    assert again.status_code == 400 and "another group" in again.json()["message"]
    kept = officer.ok("GET", f"/api/groups/{first['_id']}")
    assert len(kept["signatories"]) == 3


def test_a_missing_or_repeated_signatory_is_a_400(officer: Any) -> None:
    people = [onboard(officer) for _ in range(2)]
    body = new_group_form(officer, "", [*people, people[0]])
    response = officer.call("POST", "/api/groups", json=body)
    assert response.status_code == 400 and "different" in response.json()["message"]
    body["signatories"] = body["signatories"][:2]
    response = officer.call("POST", "/api/groups", json=body)
    assert response.status_code == 400 and "treasurer" in response.json()["message"]


def test_only_loan_officers_and_the_super_admin_create_groups(new_staff: Any) -> None:
    for role in ("admin", "initiator_admin", "approver_admin", "accountant"):
        refused = new_staff(role).call("POST", "/api/groups", json={"name": "Nope"})
        assert refused.status_code == 403, role
