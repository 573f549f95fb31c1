"""Origination through the front door with real identity tokens: the seed's quick test, from
creating a group to disbursement, and the request for money on the ORIGINATION stream once."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import httpx
import pytest
from PIL import Image

from hazina_contracts.envelope import EventEnvelope
from hazina_servicekit.testing import published, with_jetstream

pytestmark = pytest.mark.e2e


def _jpeg() -> bytes:
    """A real photo: origination decodes every upload whole, so a JPEG header alone is refused."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 90, 30)).save(out, format="JPEG")
    return out.getvalue()


JPEG = _jpeg()


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def _login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    body = _ok(client.post("/api/auth/login", json={"username": username, "password": password}))
    return {"Authorization": f"Bearer {body['token']}"}


def _staff(client: httpx.Client, admin: dict[str, str], role: str) -> tuple[dict[str, str], str]:
    username = f"{role.split('_')[0]}{uuid.uuid4().hex[:6]}"
    user = _ok(
        client.post(
            "/api/users",
            json={
                "username": username,
                "password": "Staff-Pass-12",
                "role": role,
                "regions": ["Nairobi"],
            },
            headers=admin,
        ),
        201,
    )
    return _login(client, username, "Staff-Pass-12"), user["_id"]


def _loan_officer(client: httpx.Client, admin: dict[str, str], user_id: str) -> dict[str, Any]:
    """The officer as the staff pages read them (identity serves /api/loan-officers)."""
    return dict(_ok(client.get(f"/api/loan-officers/{user_id}", headers=admin)))


def _group_once_origination_knows(
    client: httpx.Client, officer: dict[str, str], body: dict[str, Any], username: str
) -> dict[str, Any]:
    """Create the officer's group once identity's UserCreated has reached origination's staff
    projection: until then origination refuses an officer it has not heard of, or (knowing
    nobody yet) makes the group without naming its officer."""
    deadline = time.monotonic() + 90  # generous: a busy machine delays events, never loses them
    response = client.post("/api/groups", json=body, headers=officer)
    while response.status_code == 400 and "not a known loan officer" in response.text:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
        response = client.post("/api/groups", json=body, headers=officer)
    group = dict(_ok(response, 201))
    while (group.get("loanOfficer") or {}).get("username") != username:
        assert time.monotonic() < deadline, group
        time.sleep(0.2)
        group = dict(_ok(client.get(f"/api/groups/{group['_id']}", headers=officer)))
    return group


def _requests_for(nats_url: str, loan_id: str) -> list[EventEnvelope]:
    found = with_jetstream(
        nats_url,
        lambda js: published(js, "ORIGINATION", "origination.loan.disbursement_requested"),
    )
    return [e for e in found if e.data["loan_id"] == loan_id]


def test_from_group_to_disbursement_through_the_front_door(system: Any) -> None:
    # The system is shared: a product type of this test's own, so initiating by type finds
    # this product alone whatever products other tests made.
    business = f"business-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=system.url, timeout=15) as client:
        admin = _login(client, system.admin_username, system.admin_password)
        officer, officer_id = _staff(client, admin, "loan_officer")
        approver, approver_id = _staff(client, admin, "approver_admin")
        disburser, _ = _staff(client, admin, "initiator_admin")  # not whoever approved
        known = _loan_officer(client, admin, officer_id)
        assert known["_id"] == officer_id and known["isActive"] is True

        product = _ok(
            client.post(
                "/api/loan-products",
                json={
                    "name": "Biashara",
                    "type": business,
                    "interestMethod": "flat",
                    "interestRate": "10",
                    "interestRatePeriod": "month",
                    "repaymentFrequency": "monthly",
                    "minAmount": 1000,
                    "maxAmount": 50000,
                    "minTerm": 1,
                    "maxTerm": 12,
                    "minSavingsRatio": "0",
                    "requirePriorRepaidLoan": False,
                },
                headers=admin,
            ),
            201,
        )
        group = _group_once_origination_knows(
            client,
            officer,
            {
                "name": "Githurai Women Group",
                "meetingDay": "Wednesday",
                "meetingTime": "10:00",
                "loanOfficerId": officer_id,
            },
            known["username"],
        )
        not_an_officer = client.post(
            "/api/groups", json={"name": "Wrong", "loanOfficerId": approver_id}, headers=admin
        )
        assert not_an_officer.status_code == 400, not_an_officer.text
        assert group["status"] == "pending" and group["hazinaStatus"] == "provisional"
        assert group["loanOfficer"]["username"] == known["username"]
        _ok(client.put(f"/api/groups/{group['_id']}/approve", headers=approver))

        members = []
        for i in range(3):
            onboarded = _ok(
                client.post(
                    "/api/clients/onboard",
                    data={
                        "name": f"Member {i}",
                        "nationalId": f"3403849{i}",
                        "phone": f"071234567{i}",
                        "residence": "owned",
                        "businessType": "retail",
                        "businessLocation": "Githurai",
                        "nextOfKinName": "Kin",
                        "nextOfKinPhone": "0722000000",
                        "nextOfKinRelationship": "sister",
                        "groupId": group["_id"],
                    },
                    files={"photo": ("me.jpg", JPEG, "image/jpeg")},
                    headers=officer,
                ),
                201,
            )
            members.append(
                _ok(
                    client.put(
                        f"/api/clients/{onboarded['client']['_id']}/approve", headers=approver
                    )
                )
            )
        # The photo opens through the signed link the view carried, with no token (as an <img>
        # fetches it), stored re-encoded; the bare path opens for no one, token or not.
        photo = members[0]["photoUrl"]
        shown = client.get(photo)
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(shown.content)).size == (64, 48)
        assert client.get(photo.partition("?")[0], headers=officer).status_code == 403
        _ok(
            client.put(
                f"/api/groups/{group['_id']}/assign-signatories",
                json={
                    "signatoryAssignments": [
                        {"role": r, "memberNationalId": m["nationalId"]}
                        for r, m in zip(
                            ("chairperson", "secretary", "treasurer"), members, strict=True
                        )
                    ]
                },
                headers=officer,
            )
        )

        loan = _ok(
            client.post(
                "/api/loans/initiate",
                json={
                    "clientNationalId": members[0]["nationalId"],
                    "type": business,
                    "amount": 20000,
                    "term": 6,
                },
                headers=officer,
            ),
            201,
        )["loan"]
        assert loan["status"] == "initiated" and loan["productId"] == product["_id"]
        guarantor = _ok(
            client.post(
                "/api/guarantors",
                json={
                    "loanId": loan["_id"],
                    "clientId": members[1]["_id"],
                    "relationship": "Sister",
                },
                headers=officer,
            ),
            201,
        )
        _ok(client.put(f"/api/guarantors/{guarantor['_id']}/accept", headers=officer))
        _ok(
            client.post(
                "/api/credit-assessments",
                json={
                    "loanId": loan["_id"],
                    "character": 4,
                    "capacity": 4,
                    "capital": 4,
                    "collateral": 3,
                    "conditions": 4,
                },
                headers=officer,
            ),
            201,
        )
        assert client.put(f"/api/loans/{loan['_id']}/approve", headers=officer).status_code == 403
        _ok(client.put(f"/api/loans/{loan['_id']}/approve", headers=approver))
        refused = client.post(f"/api/loans/{loan['_id']}/disburse", headers=approver)
        assert refused.status_code == 403  # maker-checker: the approver does not disburse
        first = _ok(client.post(f"/api/loans/{loan['_id']}/disburse", headers=disburser), 202)
        second = _ok(client.put(f"/api/loans/{loan['_id']}/disburse", headers=disburser), 202)
        assert first["transactionId"] == second["transactionId"]
        # The simulated rail may already have paid: pending, or disbursed, never anything else.
        assert _ok(client.get(f"/api/loans/{loan['_id']}", headers=officer))["status"] in {
            "disbursement_pending",
            "disbursed",
        }
        listed = client.get("/api/loans", headers=officer)
        assert (
            listed.headers["X-Total-Count"] == "1"
            and listed.json()[0]["accountNumber"] == loan["accountNumber"]
        )

    deadline = time.monotonic() + 90  # generous: a busy machine delays events, never loses them
    requests = _requests_for(system.nats_url, loan["_id"])
    while not requests and time.monotonic() < deadline:
        time.sleep(0.5)
        requests = _requests_for(system.nats_url, loan["_id"])
    assert len(requests) == 1
    assert requests[0].data["disbursement_id"] == first["transactionId"]
    assert (
        requests[0].data["phone"] == "254712345670"
        and requests[0].data["amount_cents"] == 2_000_000
    )
