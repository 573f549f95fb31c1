"""Groups and clients through HTTP: statuses, signatories, onboarding checks, photos, lists, scoping."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from PIL import Image


def _image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, format=kind)
    return out.getvalue()


JPEG = _image("JPEG")
WEBP = _image("WEBP")


def test_an_officers_group_is_provisional_until_an_admin_approves_it(
    world: Any, officer: Any
) -> None:
    group = world.group(officer, approve=False, loanOfficerId=str(officer.user_id), branchId="b-1")
    assert group["status"] == "pending" and group["hazinaStatus"] == "provisional"
    assert group["loanOfficerId"] == str(officer.user_id)
    assert group["meetingDay"] == "Wednesday" and group["meetingTime"] == "10:00"
    approved = world.ok(
        world.http.put(f"/api/groups/{group['_id']}/approve", headers=world.initiator.headers)
    )
    assert approved["status"] == "active" and approved["approvedBy"]["_id"] == str(
        world.initiator.user_id
    )
    again = world.http.put(f"/api/groups/{group['_id']}/approve", headers=world.approver.headers)
    assert again.status_code == 409 and "already active" in again.json()["message"]


def test_a_super_admins_group_is_active_at_once(world: Any) -> None:
    officer_id = str(uuid.uuid4())
    group = world.ok(
        world.http.post(
            "/api/groups",
            json={
                "name": "Githurai Women Group",
                "meetingDay": "friday",
                "meetingTime": "9:30",
                "loanOfficerId": officer_id,
            },
            headers=world.super_admin.headers,
        ),
        201,
    )
    assert (
        group["status"] == "active"
        and group["loanOfficerId"] == officer_id
        and group["meetingTime"] == "09:30"
    )


def test_an_officer_cannot_create_a_group_for_another_officer(world: Any, officer: Any) -> None:
    response = world.http.post(
        "/api/groups",
        json={"name": "X", "loanOfficerId": str(uuid.uuid4())},
        headers=officer.headers,
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "name is required"),
        ({"name": "A", "meetingDay": "Funday"}, "meetingDay must be a day of the week"),
        ({"name": "A", "meetingTime": "25:00"}, "meetingTime must be a time of day"),
        ({"name": "A", "loanOfficerId": "not-a-uuid"}, "loanOfficerId"),
    ],
)
def test_bad_group_input_is_a_400_with_a_message(
    world: Any, body: dict[str, Any], message: str
) -> None:
    response = world.http.post("/api/groups", json=body, headers=world.super_admin.headers)
    assert response.status_code == 400 and message in response.json()["message"]


def test_signatories_are_three_members_and_each_change_is_kept(world: Any, officer: Any) -> None:
    group, people = world.ready_group(officer, members=4)
    assert [s["role"] for s in group["signatories"]] == ["chairperson", "secretary", "treasurer"]
    assert group["chairperson"]["name"] == people[0]["name"]
    assert len(group["members"]) == 4 and group["membersCount"] == 4
    url = f"/api/groups/{group['_id']}/assign-signatories"

    def assign(*pairs: tuple[str, str]) -> Any:
        body = {"signatoryAssignments": [{"role": r, "memberNationalId": n} for r, n in pairs]}
        return world.http.put(url, json=body, headers=officer.headers)

    nid = [p["nationalId"] for p in people]
    outsider = world.onboard(officer, world.group(officer)["_id"])
    bad = [
        (assign(("chairperson", nid[0]), ("secretary", nid[1])), "exactly one chairperson"),
        (
            assign(("chairperson", nid[0]), ("secretary", nid[0]), ("treasurer", nid[1])),
            "three different",
        ),
        (
            assign(("chairperson", nid[0]), ("secretary", nid[1]), ("patron", nid[2])),
            "exactly one chairperson",
        ),
        (
            assign(
                ("chairperson", nid[0]),
                ("secretary", nid[1]),
                ("treasurer", outsider["nationalId"]),
            ),
            "not a member of this group",
        ),
    ]
    for response, message in bad:
        assert response.status_code == 400 and message in response.json()["message"], response.text
    changed = world.ok(
        assign(("chairperson", nid[3]), ("secretary", nid[1]), ("treasurer", nid[2]))
    )
    assert changed["chairperson"]["nationalId"] == nid[3]
    events = [type(e).__name__ for e in world.container.app.events.get(uuid.UUID(group["_id"]))]
    assert (
        events.count("SignatoriesAssigned") == 2
    )  # the change is a new event, the old set stays in history
    other_officer = world.staff("loan_officer")
    response = world.http.put(url, json={"signatoryAssignments": []}, headers=other_officer.headers)
    assert response.status_code == 400  # validated before scope; with a proper body:
    response = world.http.put(
        url,
        json={
            "signatoryAssignments": [
                {"role": "chairperson", "memberNationalId": nid[0]},
                {"role": "secretary", "memberNationalId": nid[1]},
                {"role": "treasurer", "memberNationalId": nid[2]},
            ]
        },
        headers=other_officer.headers,
    )
    assert response.status_code == 404  # another officer's group is, to them, no group at all
    assert response.json()["message"] == "Group not found"


def test_onboarding_answers_as_the_seed_shows_and_normalises_the_phone(
    world: Any, officer: Any
) -> None:
    group = world.group(officer, approve=False)
    nid = world.national_id()
    response = world.http.post(
        "/api/clients",
        data={
            "name": "Achieng Otieno",
            "nationalId": nid,
            "phone": "+254 712-345 678",
            "residence": "Rented",
            "businessType": "tailoring",
            "businessLocation": "Kisumu",
            "nextOfKinName": "Otieno",
            "nextOfKinPhone": "0110123456",
            "nextOfKinRelationship": "husband",
            "groupId": group["_id"],
        },
        files={"photo": ("me.webp", WEBP, "image/webp")},
        headers=officer.headers,
    )
    body = world.ok(response, 201)
    assert body["message"] == "Client onboarded successfully"
    client = body["client"]
    assert client["status"] == "pending" and client["phone"] == "254712345678"
    assert client["nextOfKin"] == {
        "name": "Otieno",
        "phone": "254110123456",
        "relationship": "husband",
    }
    assert client["residence"] == "rented" and client["groupId"] == {
        "_id": group["_id"],
        "name": group["name"],
        "meetingDay": "Wednesday",
        "meetingTime": "10:00",
    }
    # A WebP photo is stored re-encoded as JPEG and shown through a short-lived signed link,
    # which an <img> fetches without a token.
    path, _, query = client["photoUrl"].partition("?")
    assert path.startswith("/uploads/") and path.endswith(".jpg") and "sig=" in query
    photo = world.http.get(client["photoUrl"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(photo.content)).size == (40, 30)
    assert world.http.get(path, headers=world.approver.headers).status_code == 403  # unsigned
    assert world.http.get("/uploads/..%2Fsecrets.jpg").status_code in (403, 404)
    duplicate = world.http.post(
        "/api/clients/onboard",
        data={
            "name": "Someone Else",
            "nationalId": nid,
            "phone": "0722000000",
            "residence": "owned",
            "businessType": "x",
            "businessLocation": "y",
            "nextOfKinName": "z",
            "nextOfKinPhone": "0722000001",
            "nextOfKinRelationship": "w",
            "groupId": group["_id"],
        },
        files={"photo": ("a.jpg", JPEG, "image/jpeg")},
        headers=officer.headers,
    )
    assert duplicate.status_code == 409 and nid in duplicate.json()["message"]
    approved = world.ok(
        world.http.put(f"/api/clients/{client['_id']}/approve", headers=world.approver.headers)
    )
    assert approved["status"] == "active"
    again = world.http.put(f"/api/clients/{client['_id']}/approve", headers=world.approver.headers)
    assert again.status_code == 409 and "already active" in again.json()["message"]


@pytest.mark.parametrize(
    ("photo", "status", "message"),
    [
        (("face.jpg", b"GIF89a" + bytes(100), "image/jpeg"), 400, "JPEG, PNG or WebP"),
        (("face.jpg", b"%PDF-1.7 not a picture", "image/jpeg"), 400, "JPEG, PNG or WebP"),
        (("face.jpg", b"\xff\xd8\xff\xe0" + bytes(64 * 1024), "image/jpeg"), 400, "larger than"),
        (None, 400, "photo is required"),
        (("empty.jpg", b"", "image/jpeg"), 400, "photo is required"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_recorded(
    world: Any, officer: Any, photo: Any, status: int, message: str
) -> None:
    group = world.group(officer)
    nid = world.national_id()
    response = world.http.post(
        "/api/clients/onboard",
        data={
            "name": "N",
            "nationalId": nid,
            "phone": "0722000000",
            "residence": "owned",
            "businessType": "x",
            "businessLocation": "y",
            "nextOfKinName": "z",
            "nextOfKinPhone": "0722000001",
            "nextOfKinRelationship": "w",
            "groupId": group["_id"],
        },
        files={"photo": photo} if photo else None,
        headers=officer.headers,
    )
    assert response.status_code == status and message in response.json()["message"]
    assert (
        world.ok(world.http.get(f"/api/clients?search={nid}", headers=world.super_admin.headers))
        == []
    )


def test_an_upload_far_over_the_limit_is_stopped_at_the_door(world: Any, officer: Any) -> None:
    group = world.group(officer)
    response = world.http.post(
        "/api/clients/onboard",
        data={"groupId": group["_id"]},
        files={"photo": ("big.jpg", b"\xff\xd8\xff" + bytes(2 * 1024 * 1024), "image/jpeg")},
        headers=officer.headers,
    )
    assert (
        response.status_code == 400
        and response.json()["code"] == "payload_too_large"
        and "larger than" in response.json()["message"]
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "0201234567", "not a valid Kenyan mobile number"),
        ("phone", "12345", "not a valid Kenyan mobile number"),
        ("nextOfKinPhone", "+44 7911 123456", "nextOfKinPhone"),
        ("nationalId", "12AB", "nationalId must be"),
        ("residence", "castle", "residence must be owned, rented or family"),
        ("groupId", "nope", "groupId"),
    ],
)
def test_bad_client_fields_are_400s(
    world: Any, officer: Any, field: str, value: str, message: str
) -> None:
    group = world.group(officer)
    data = {
        "name": "N",
        "nationalId": world.national_id(),
        "phone": "0722000000",
        "residence": "owned",
        "businessType": "x",
        "businessLocation": "y",
        "nextOfKinName": "z",
        "nextOfKinPhone": "0722000001",
        "nextOfKinRelationship": "w",
        "groupId": group["_id"],
        field: value,
    }
    response = world.http.post(
        "/api/clients/onboard",
        data=data,
        files={"photo": ("a.jpg", JPEG, "image/jpeg")},
        headers=officer.headers,
    )
    assert response.status_code == 400 and message in response.json()["message"]


def test_an_officer_onboards_only_into_their_own_groups(world: Any, officer: Any) -> None:
    theirs = world.group(world.staff("loan_officer"))
    response = world.http.post(
        "/api/clients/onboard",
        data={
            "name": "N",
            "nationalId": world.national_id(),
            "phone": "0722000000",
            "residence": "owned",
            "businessType": "x",
            "businessLocation": "y",
            "nextOfKinName": "z",
            "nextOfKinPhone": "0722000001",
            "nextOfKinRelationship": "w",
            "groupId": theirs["_id"],
        },
        files={"photo": ("a.jpg", JPEG, "image/jpeg")},
        headers=officer.headers,
    )
    assert response.status_code == 404 and response.json()["message"] == "Group not found"


def test_scoping_officer_a_cannot_see_officer_bs_groups_clients_or_loans(world: Any) -> None:
    a, b = world.staff("loan_officer"), world.staff("loan_officer")
    loan_b = world.approvable_loan(b)
    group_b = loan_b["groupId"]["_id"]
    client_b = loan_b["clientId"]["_id"]
    group_a, people_a = world.ready_group(a)

    def ids(path: str, who: Any) -> set[str]:
        return {row["_id"] for row in world.ok(world.http.get(path, headers=who.headers))}

    assert group_a["_id"] in ids("/api/groups", a) and group_b not in ids("/api/groups", a)
    assert people_a[0]["_id"] in ids("/api/clients", a) and client_b not in ids("/api/clients", a)
    assert loan_b["_id"] not in ids("/api/loans", a) and loan_b["_id"] in ids("/api/loans", b)
    assert not ids(f"/api/guarantors?loanId={loan_b['_id']}", a)
    for path in (
        f"/api/groups/{group_b}",
        f"/api/clients/{client_b}",
        f"/api/loans/{loan_b['_id']}",
        f"/api/credit-assessments/{loan_b['_id']}",
    ):
        assert world.http.get(path, headers=a.headers).status_code == 404, path
        assert world.http.get(path, headers=b.headers).status_code == 200, path
    assert {group_a["_id"], group_b} <= ids("/api/groups", world.approver)
    # Officer A cannot act on B's loan either: to A it does not exist.
    response = world.http.post(
        "/api/credit-assessments",
        json={
            "loanId": loan_b["_id"],
            "character": 4,
            "capacity": 4,
            "capital": 4,
            "collateral": 4,
            "conditions": 4,
        },
        headers=a.headers,
    )
    assert response.status_code == 404 and response.json()["message"] == "Loan not found"
    product = world.product()
    world.savings(people_a[1]["_id"], 400_000)
    world.ok(world.initiate(a, people_a[1], product), 201)  # A's own client
    response = world.initiate(a, {"nationalId": people_a[2]["nationalId"]}, product)
    assert (
        response.status_code == 400
    )  # A's own client, refused on a rule (no savings), not on scope
    response = world.initiate(a, {"nationalId": loan_b["clientId"]["nationalId"]}, product)
    assert response.status_code == 404
    assert response.json()["message"].startswith("No client has national ID")


def test_client_lists_paginate_filter_and_search(world: Any) -> None:
    officer = world.staff("loan_officer")
    group = world.group(officer)
    other = world.group(officer)
    names = ["Amina Hassan", "Baraka Mwangi", "Chebet Kiprop", "Dalmas Ouma", "Esther Wairimu"]
    made = [
        world.onboard(officer, group["_id"], name=n, approve=i % 2 == 0)
        for i, n in enumerate(names)
    ]
    world.onboard(officer, other["_id"], name="Fatuma Ali")

    response = world.http.get(f"/api/clients?groupId={group['_id']}", headers=officer.headers)
    rows = world.ok(response)
    assert isinstance(rows, list) and [r["name"] for r in rows] == names
    assert response.headers["X-Total-Count"] == "5"
    assert rows[0]["groupId"] == {
        "_id": group["_id"],
        "name": group["name"],
        "meetingDay": "Wednesday",
        "meetingTime": "10:00",
    }
    page = world.http.get(
        f"/api/clients?groupId={group['_id']}&page=2&limit=2", headers=officer.headers
    )
    assert [r["name"] for r in world.ok(page)] == names[2:4] and page.headers[
        "X-Total-Count"
    ] == "5"
    pending = world.ok(
        world.http.get(
            f"/api/clients?groupId={group['_id']}&status=pending", headers=officer.headers
        )
    )
    assert [r["name"] for r in pending] == ["Baraka Mwangi", "Dalmas Ouma"]
    assert [
        r["name"]
        for r in world.ok(world.http.get("/api/clients?search=chebet", headers=officer.headers))
    ] == ["Chebet Kiprop"]
    by_id = world.ok(
        world.http.get(f"/api/clients?search={made[3]['nationalId']}", headers=officer.headers)
    )
    assert [r["_id"] for r in by_id] == [made[3]["_id"]]
    phone = made[4]["phone"]
    by_phone = world.ok(
        world.http.get(f"/api/clients?search=0{phone[3:]}", headers=officer.headers)
    )
    assert [r["_id"] for r in by_phone] == [made[4]["_id"]]
    everyone = world.http.get("/api/clients", headers=officer.headers)
    assert (
        len(world.ok(everyone)) == 6 == int(everyone.headers["X-Total-Count"])
    )  # no default limit
    groups = world.http.get("/api/groups?status=active", headers=officer.headers)
    assert {g["_id"] for g in world.ok(groups)} == {group["_id"], other["_id"]}
    assert world.http.get("/api/clients?limit=0", headers=officer.headers).status_code == 400
