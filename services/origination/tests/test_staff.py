"""Staff names from identity's events: views say who did what, groups go only to active loan
officers once identity has spoken, and every staff role can list the loan officers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from hazina_contracts.events.identity import UserDeactivated
from hazina_origination.adapters.consumers import staff_handler


@pytest.fixture(scope="module")
def known(world: Any) -> dict[str, dict[str, str]]:
    """The module's admins, as identity announced them."""
    return {
        "super_admin": world.announce(world.super_admin, name="Wambui Super"),
        "approver": world.announce(world.approver, name="Otieno Approver"),
        "initiator": world.announce(world.initiator, name="Chebet Initiator"),
    }


def _officer(world: Any) -> tuple[Any, dict[str, str]]:
    officer = world.staff("loan_officer")
    return officer, world.announce(officer)


def test_loan_group_and_client_views_name_the_staff_who_acted(
    world: Any, known: dict[str, dict[str, str]]
) -> None:
    officer, names = _officer(world)
    loan = world.approved_loan(officer)
    detail = world.loan(loan["_id"])
    assert detail["initiatedBy"] == {
        "_id": str(officer.user_id),
        "username": names["username"],
        "name": names["name"],
    }
    assert detail["approvedBy"]["_id"] == str(world.approver.user_id)
    assert detail["approvedBy"]["username"] == known["approver"]["username"]
    assert detail["loanOfficer"]["username"] == names["username"]
    assert [g["addedBy"]["username"] for g in detail["guarantors"]] == [names["username"]]
    listed = world.ok(
        world.http.get(f"/api/loans?clientId={loan['clientId']['_id']}", headers=officer.headers)
    )
    assert listed[0]["initiatedBy"]["username"] == names["username"]

    group = world.ok(
        world.http.get(f"/api/groups/{detail['groupId']['_id']}", headers=officer.headers)
    )
    assert group["loanOfficer"] == {
        "_id": str(officer.user_id),
        "username": names["username"],
        "name": names["name"],
    }
    assert group["createdBy"]["username"] == names["username"]
    assert group["approvedBy"]["username"] == known["approver"]["username"]

    client = world.ok(
        world.http.get(f"/api/clients/{loan['clientId']['_id']}", headers=officer.headers)
    )
    assert client["loanOfficer"]["name"] == names["name"]
    assert client["createdBy"]["username"] == names["username"]
    assert client["approvedBy"]["username"] == known["approver"]["username"]


def test_a_staff_member_identity_has_not_told_us_of_is_still_referenced_by_id(
    world: Any, known: dict[str, dict[str, str]]
) -> None:
    stranger = world.staff("loan_officer")  # holds a token; identity's news has not arrived
    group = world.group(stranger)
    assert group["loanOfficer"] == {"_id": str(stranger.user_id), "username": None, "name": None}


def test_a_group_goes_only_to_an_active_loan_officer(
    world: Any, known: dict[str, dict[str, str]]
) -> None:
    admin = world.super_admin.headers

    def create(officer_id: uuid.UUID) -> Any:
        return world.http.post(
            "/api/groups",
            json={"name": f"Tumaini {uuid.uuid4().hex[:6]}", "loanOfficerId": str(officer_id)},
            headers=admin,
        )

    nobody = uuid.uuid4()
    refused = create(nobody)
    assert refused.status_code == 400
    assert refused.json()["message"] == f"loanOfficerId {nobody} is not a known loan officer"

    refused = create(world.approver.user_id)
    assert refused.status_code == 400
    assert "is not a loan officer (role approver_admin)" in refused.json()["message"]

    officer, names = _officer(world)
    deactivation = UserDeactivated(
        occurred_at=datetime.now(UTC), user_id=officer.user_id, deactivated_by=uuid.uuid4()
    )
    with world.container.pool.connection() as conn, conn.transaction():
        staff_handler()(world.envelope(deactivation), conn)
    refused = create(officer.user_id)
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        f"loanOfficerId {officer.user_id} ({names['username']}) is a deactivated loan officer"
    )

    active, active_names = _officer(world)
    group = world.ok(create(active.user_id), 201)
    assert group["status"] == "active" and group["loanOfficerId"] == str(active.user_id)
    assert group["loanOfficer"]["username"] == active_names["username"]
    assert group["createdBy"]["username"] == known["super_admin"]["username"]


def test_every_staff_role_reads_the_loan_officers(
    world: Any, known: dict[str, dict[str, str]]
) -> None:
    officer, names = _officer(world)
    for reader in (world.super_admin, world.approver, world.initiator, officer):
        response = world.http.get("/api/loan-officers", headers=reader.headers)
        assert response.status_code == 200, response.text
        officers = response.json()
        assert int(response.headers["X-Total-Count"]) == len(officers)
        assert all(o["role"] == "loan_officer" for o in officers)
        mine = next(o for o in officers if o["_id"] == str(officer.user_id))
        assert mine["username"] == names["username"] and mine["name"] == names["name"]
        assert mine["regions"] == ["Nairobi"] and mine["active"] is True
        one = world.ok(
            world.http.get(f"/api/loan-officers/{officer.user_id}", headers=reader.headers)
        )
        assert one["name"] == names["name"]
    assert world.http.get("/api/loan-officers").status_code == 401
    missing = world.http.get(
        f"/api/loan-officers/{world.approver.user_id}", headers=officer.headers
    )
    assert missing.status_code == 404 and missing.json()["message"] == "Loan officer not found"
    searched = world.ok(
        world.http.get(f"/api/loan-officers?search={names['username']}", headers=officer.headers)
    )
    assert [o["_id"] for o in searched] == [str(officer.user_id)]


def test_a_fresh_system_accepts_a_loan_officer_it_cannot_check_yet(fresh_world: Any) -> None:
    world = fresh_world
    unheard_of = uuid.uuid4()
    body = {"name": "Amani Group", "loanOfficerId": str(unheard_of)}
    group = world.ok(
        world.http.post("/api/groups", json=body, headers=world.super_admin.headers), 201
    )
    assert group["loanOfficerId"] == str(unheard_of)
    assert world.ok(world.http.get("/api/loan-officers", headers=world.super_admin.headers)) == []
    # Once identity has told us of anyone, the check applies.
    world.announce(world.super_admin)
    body["name"] = "Baraka Group"
    refused = world.http.post("/api/groups", json=body, headers=world.super_admin.headers)
    assert refused.status_code == 400
    assert "is not a known loan officer" in refused.json()["message"]


def test_identitys_version_2_events_update_the_staff_as_version_1_did(world: Any) -> None:
    from hazina_contracts.events.identity import UserDeactivatedV2, UserRoleChangedV2

    officer, _ = _officer(world)
    promoted = UserRoleChangedV2(
        occurred_at=datetime.now(UTC),
        user_id=officer.user_id,
        role="approver_admin",
        regions=["Kisumu"],
        changed_by=world.super_admin.user_id,
        revision=4,
    )
    deactivated = UserDeactivatedV2(
        occurred_at=datetime.now(UTC),
        user_id=officer.user_id,
        deactivated_by=world.super_admin.user_id,
        revision=5,
    )
    for event in (promoted, deactivated):
        with world.container.pool.connection() as conn, conn.transaction():
            staff_handler()(world.envelope(event), conn)
    with world.container.pool.connection() as conn:
        row = conn.execute(
            "SELECT role, active FROM staff WHERE user_id = %s", (officer.user_id,)
        ).fetchone()
    assert row == ("approver_admin", False)


@pytest.mark.parametrize("role", ["admin", "accountant"])
def test_the_roles_identity_added_reach_the_staff_as_any_other(world: Any, role: str) -> None:
    """UserCreated v2 and UserRoleChanged v3 carry ``admin`` and ``accountant``; delivered twice,
    they change nothing more."""
    from hazina_contracts.events.identity import UserRoleChangedV3

    member = world.staff(role)
    world.announce(member)
    world.announce(member)
    other = "accountant" if role == "admin" else "admin"
    changed = UserRoleChangedV3(
        occurred_at=datetime.now(UTC),
        user_id=member.user_id,
        role=other,
        regions=["Nairobi"],
        changed_by=world.super_admin.user_id,
        revision=3,
    )
    for _ in range(2):
        with world.container.pool.connection() as conn, conn.transaction():
            staff_handler()(world.envelope(changed), conn)
    with world.container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT role, active FROM staff WHERE user_id = %s", (member.user_id,)
        ).fetchall()
    assert rows == [(other, True)]
