"""Editing clients and groups (``PUT /api/clients/:id``, ``PUT /api/groups/:id``): each role may
change only its own part (docs/roles.md), an unchanged value sent back by an edit dialog is never
a refusal and records nothing, and status decisions (approve, reject, suspend, reinstate) are
events. Also: groups made with their signatories, clients onboarded before their group exists,
and branch names from identity's events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hazina_contracts.events.identity import BranchDetailsChanged, BranchOpened
from hazina_contracts.events.origination import ClientDetailsChanged, GroupDetailsChanged
from hazina_origination.adapters.consumers import staff_handler
from hazina_origination.adapters.contract_mapping import to_contract


def _events(world: Any, aggregate_id: str) -> list[Any]:
    return list(world.container.app.events.get(uuid.UUID(aggregate_id)))


def _put(world: Any, who: Any, path: str, body: dict[str, Any]) -> Any:
    return world.http.put(path, json=body, headers=who.headers)


def test_an_accountant_edits_contact_details_only(world: Any, officer: Any) -> None:
    group = world.group(officer)
    client = world.onboard(officer, group["_id"])
    accountant = world.staff("accountant")
    path = f"/api/clients/{client['_id']}"
    edited = world.ok(
        _put(
            world,
            accountant,
            path,
            {
                "name": "Wanjiku K. Kamau",
                "phone": "0711222333",
                "businessType": "Tailoring",
                "businessLocation": "Ruiru",
                "residenceType": "Family",
                "nextOfKin": {"relationship": "mother"},
                "groupId": group["_id"],  # sent back unchanged by the dialog: not a refusal
            },
        )
    )
    assert edited["name"] == "Wanjiku K. Kamau" and edited["phone"] == "254711222333"
    assert edited["residenceType"] == "family" and edited["businessLocation"] == "Ruiru"
    kin = edited["nextOfKin"]
    assert kin["relationship"] == "mother" and kin["name"] == client["nextOfKin"]["name"]
    other = world.group(officer)
    refused = _put(world, accountant, path, {"groupId": other["_id"]})
    assert refused.status_code == 403 and "contact details" in refused.json()["message"]
    status = _put(world, accountant, path, {"status": "rejected"})
    assert status.status_code == 403


def test_residence_in_any_case_and_bad_values_are_400s_naming_the_field(
    world: Any, officer: Any
) -> None:
    client = world.onboard(officer, world.group(officer)["_id"])
    path = f"/api/clients/{client['_id']}"
    assert world.ok(_put(world, world.super_admin, path, {"residenceType": "Owned"}))[
        "residence"
    ] == ("owned")
    for body, field in (
        ({"residenceType": "castle"}, "residence"),
        ({"phone": "12"}, "phone"),
        ({"nationalId": "12ab"}, "nationalId"),
        ({"name": "  "}, "name"),
        ({"status": "archived"}, "status"),
        ({"groupId": "not-a-uuid"}, "groupId"),
    ):
        response = _put(world, world.super_admin, path, body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.json()["message"], (body, response.json())


def test_pending_approvals_approve_and_reject_clients_once(world: Any, officer: Any) -> None:
    group = world.group(officer)
    first = world.onboard(officer, group["_id"], approve=False)
    second = world.onboard(officer, group["_id"], approve=False)
    admin = world.staff("admin")
    approved = world.ok(_put(world, admin, f"/api/clients/{first['_id']}", {"status": "active"}))
    assert approved["status"] == "active" and approved["approvedBy"]["_id"] == str(admin.user_id)
    rejected = world.ok(
        _put(world, world.approver, f"/api/clients/{second['_id']}", {"status": "rejected"})
    )
    assert rejected["status"] == "rejected"
    before = len(_events(world, second["_id"]))
    again = world.ok(
        _put(world, world.approver, f"/api/clients/{second['_id']}", {"status": "rejected"})
    )
    assert again["status"] == "rejected" and len(_events(world, second["_id"])) == before
    assert type(_events(world, second["_id"])[-1]).__name__ == "Rejected"
    pending = world.ok(
        world.http.get("/api/clients?status=pending", headers=world.super_admin.headers)
    )
    assert {first["_id"], second["_id"]}.isdisjoint({c["_id"] for c in pending})
    back = _put(world, admin, f"/api/clients/{first['_id']}", {"status": "rejected"})
    assert back.status_code == 409
    own = _put(world, officer, f"/api/clients/{second['_id']}", {"status": "active"})
    assert own.status_code == 403


def test_a_loan_officer_adds_their_client_to_their_group_not_anothers(
    world: Any, officer: Any
) -> None:
    group = world.group(officer)
    client = world.onboard(officer, "", approve=False)  # onboarded before any group
    assert client["groupId"] is None and client["loanOfficerId"] == str(officer.user_id)
    mine = world.ok(world.http.get("/api/clients", headers=officer.headers))
    assert client["_id"] in {c["_id"] for c in mine}
    moved = world.ok(
        _put(world, officer, f"/api/clients/{client['_id']}", {"groupId": group["_id"]})
    )
    assert moved["groupId"]["_id"] == group["_id"] and moved["groupId"]["name"] == group["name"]
    members = world.ok(
        world.http.get(f"/api/clients?groupId={group['_id']}", headers=officer.headers)
    )
    assert [m["_id"] for m in members] == [client["_id"]]
    elsewhere = world.group(world.staff("loan_officer"))
    refused = _put(world, officer, f"/api/clients/{client['_id']}", {"groupId": elsewhere["_id"]})
    assert refused.status_code == 404
    branch = _put(world, officer, f"/api/clients/{client['_id']}", {"branchId": "b-9"})
    assert branch.status_code == 403
    mapped = to_contract(_events(world, client["_id"])[-1])
    assert isinstance(mapped, ClientDetailsChanged)
    assert str(mapped.group_id) == group["_id"] and mapped.changed_fields == ["group_id"]
    assert mapped.loan_officer_id == officer.user_id


def test_an_unchanged_edit_records_nothing(world: Any, officer: Any) -> None:
    client = world.onboard(officer, world.group(officer)["_id"])
    before = len(_events(world, client["_id"]))
    body = {"name": client["name"], "phone": client["phone"], "residenceType": "OWNED"}
    world.ok(_put(world, world.initiator, f"/api/clients/{client['_id']}", body))
    assert len(_events(world, client["_id"])) == before


def test_a_new_group_records_its_signatories_and_they_join_it(world: Any, officer: Any) -> None:
    people = [world.onboard(officer, "") for _ in range(3)]
    body = {
        "name": f"Tumaini {uuid.uuid4().hex[:6]}",
        "meetingDay": "Monday",
        "meetingTime": "10:00",
        "loanOfficerId": str(officer.user_id),
        "branchId": "b-1",
        "signatories": [
            {"role": role, "clientId": person["_id"]}
            for role, person in zip(("chairperson", "secretary", "treasurer"), people, strict=True)
        ],
    }
    group = world.ok(world.http.post("/api/groups", json=body, headers=officer.headers), 201)
    assert group["status"] == "pending"
    assert group["chairperson"]["_id"] == people[0]["_id"]
    assert group["treasurer"]["nationalId"] == people[2]["nationalId"]
    assert {m["_id"] for m in group["members"]} == {p["_id"] for p in people}
    # The same request again (a retried click) cannot take the members away from the first group.
    again = world.http.post("/api/groups", json=body, headers=officer.headers)
    assert again.status_code == 400 and "chairperson" in again.json()["message"]
    listed = world.ok(world.http.get("/api/groups", headers=officer.headers))
    assert [g["_id"] for g in listed if g["name"] == body["name"]] == [group["_id"]]


def test_a_signatory_from_another_group_is_a_400_naming_the_role(world: Any, officer: Any) -> None:
    _, people = world.ready_group(officer)
    fresh = [world.onboard(officer, "") for _ in range(2)]
    body = {
        "name": f"Upendo {uuid.uuid4().hex[:6]}",
        "chairperson": fresh[0]["_id"],
        "secretary": fresh[1]["_id"],
        "treasurer": people[0]["_id"],
    }
    response = world.http.post("/api/groups", json=body, headers=officer.headers)
    assert response.status_code == 400 and "treasurer" in response.json()["message"]
    one_missing = dict(body, treasurer="")
    response = world.http.post("/api/groups", json=one_missing, headers=officer.headers)
    assert response.status_code == 400 and "treasurer" in response.json()["message"]
    for person in fresh:  # nothing was saved: they are still in no group
        assert (
            world.ok(world.http.get(f"/api/clients/{person['_id']}", headers=officer.headers))[
                "groupId"
            ]
            is None
        )


def test_group_status_is_set_as_events_and_pending_is_provisional(world: Any, officer: Any) -> None:
    group = world.group(officer, approve=False)
    path = f"/api/groups/{group['_id']}"
    listed = world.ok(world.http.get("/api/groups?status=pending", headers=world.initiator.headers))
    assert group["_id"] in {g["_id"] for g in listed}
    assert world.ok(_put(world, officer, path, {"status": "pending"}))["status"] == "pending"
    refused = _put(world, officer, path, {"status": "active"})
    assert refused.status_code == 403
    admin = world.staff("admin")
    assert world.ok(_put(world, admin, path, {"status": "active"}))["status"] == "active"
    assert world.ok(_put(world, admin, path, {"status": "suspended"}))["status"] == "suspended"
    before = len(_events(world, group["_id"]))
    assert world.ok(_put(world, admin, path, {"status": "suspended"}))["status"] == "suspended"
    assert len(_events(world, group["_id"])) == before
    assert world.ok(_put(world, admin, path, {"status": "active"}))["status"] == "active"
    assert type(_events(world, group["_id"])[-1]).__name__ == "Reinstated"
    assert _put(world, admin, path, {"status": "pending"}).status_code == 409
    assert _put(world, admin, path, {"status": "rejected"}).status_code == 409
    assert _put(world, admin, path, {"status": "closed"}).status_code == 400
    other = world.group(officer, approve=False)
    rejected = world.ok(_put(world, admin, f"/api/groups/{other['_id']}", {"status": "rejected"}))
    assert rejected["status"] == "rejected"


def test_group_details_officer_and_signatories_by_role(world: Any, officer: Any) -> None:
    group, people = world.ready_group(officer, members=4)
    path = f"/api/groups/{group['_id']}"
    dialog = {
        "name": group["name"],
        "meetingDay": "Friday",
        "meetingTime": "14:00",
        "chairperson": group["chairperson"]["_id"],
        "secretary": group["secretary"]["_id"],
        "treasurer": group["treasurer"]["_id"],
    }
    accountant = world.staff("accountant")
    edited = world.ok(_put(world, accountant, path, dialog))
    assert edited["meetingDay"] == "Friday" and edited["meetingTime"] == "14:00"
    swap = dict(dialog, treasurer=people[3]["_id"])
    assert _put(world, accountant, path, swap).status_code == 403
    assert _put(world, world.initiator, path, swap).status_code == 403
    swapped = world.ok(_put(world, officer, path, swap))
    assert swapped["treasurer"]["_id"] == people[3]["_id"]
    new_officer = world.staff("loan_officer")
    assert (
        _put(world, officer, path, {"loanOfficerId": str(new_officer.user_id)}).status_code == 403
    )
    moved = world.ok(
        _put(world, world.staff("admin"), path, {"loanOfficerId": str(new_officer.user_id)})
    )
    assert moved["loanOfficerId"] == str(new_officer.user_id)
    mapped = to_contract(_events(world, group["_id"])[-1])
    assert isinstance(mapped, GroupDetailsChanged) and mapped.loan_officer_id == new_officer.user_id
    # the group and its members are now the new officer's, and no longer the old one's
    assert _put(world, officer, path, {"meetingTime": "15:00"}).status_code == 404
    theirs = world.ok(world.http.get("/api/clients", headers=new_officer.headers))
    assert {p["_id"] for p in people} <= {c["_id"] for c in theirs}


def test_branches_from_identity_name_groups_and_clients(world: Any, officer: Any) -> None:
    branch_id = uuid.uuid4()
    now = datetime.now(UTC)
    opened = BranchOpened(
        occurred_at=now - timedelta(minutes=1),
        branch_id=branch_id,
        name="Thika",
        code="THK",
        location="Thika Town",
        opened_by=world.super_admin.user_id,
    )
    renamed = BranchDetailsChanged(
        occurred_at=now,
        branch_id=branch_id,
        name="Thika Main",
        code="THK",
        location="Kenyatta Highway",
        changed_by=world.super_admin.user_id,
    )
    handle = staff_handler()
    for event in (renamed, opened, renamed):  # out of order and twice: the newest wins
        with world.container.pool.connection() as conn, conn.transaction():
            handle(world.envelope(event), conn)
    group = world.group(officer, branchId=str(branch_id))
    assert group["branchId"] == {
        "_id": str(branch_id),
        "name": "Thika Main",
        "location": "Kenyatta Highway",
    }
    client = world.onboard(officer, group["_id"], branchId=str(branch_id))
    detail = world.ok(world.http.get(f"/api/clients/{client['_id']}", headers=officer.headers))
    assert detail["branchId"]["name"] == "Thika Main"
    assert detail["groupId"]["meetingDay"] == "Wednesday"


def test_the_client_modal_shows_guarantors_and_repayments(world: Any, officer: Any) -> None:
    from hazina_contracts.events.ledger import RepaymentPosted
    from hazina_origination.adapters.consumers import loan_balances_handler

    loan = world.approvable_loan(officer)
    client_id = loan["clientId"]["_id"]
    posted = RepaymentPosted(
        occurred_at=datetime.now(UTC),
        loan_id=uuid.UUID(loan["_id"]),
        client_id=uuid.UUID(client_id),
        receipt="RCP123",
        amount_cents=150_050,
        interest_cents=50_000,
        principal_cents=100_050,
        suspense_cents=0,
        outstanding_cents=1_000_000,
        payment_method="mpesa",
    )
    handle = loan_balances_handler()
    for _ in range(2):  # delivered twice: one repayment
        with world.container.pool.connection() as conn, conn.transaction():
            handle(world.envelope(posted), conn)
    modal = world.ok(world.http.get(f"/api/clients/{client_id}", headers=officer.headers))
    assert [g["status"] for g in modal["guarantors"]] == ["accepted"]
    assert modal["guarantors"][0]["clientId"]["name"]
    [repayment] = modal["repayments"]
    assert (
        Decimal(str(repayment["amount"])) == Decimal("1500.50") and repayment["status"] == "posted"
    )
    assert repayment["loanId"] == loan["_id"] and repayment["createdAt"]
    assert modal["hasLoanHistory"] is True and [x["_id"] for x in modal["loans"]] == [loan["_id"]]
