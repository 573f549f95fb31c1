# ruff: noqa: ARG005 - every setup takes (world, officer), whether it needs both or not
"""The role x route matrix: every role against every route. Allowed roles succeed (for a loan
officer, on their own records), every other role gets 403, and no token at all gets 401."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

ROLES = ("super_admin", "initiator_admin", "approver_admin", "loan_officer")
ALL = frozenset(ROLES)


def _image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 90, 90)).save(out, format=kind)
    return out.getvalue()


JPEG = _image("JPEG")


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    kwargs: dict[str, Any]


Setup = Callable[[Any, Any], Call]  # (world, the loan officer who owns the records) -> the request


def _client_form(world: Any, group_id: str) -> dict[str, Any]:
    return {
        "data": {
            "name": "Matrix Member",
            "nationalId": world.national_id(),
            "phone": world.phone(),
            "residence": "owned",
            "businessType": "retail",
            "businessLocation": "Thika",
            "nextOfKinName": "K",
            "nextOfKinPhone": world.phone(),
            "nextOfKinRelationship": "brother",
            "groupId": group_id,
        },
        "files": {"photo": ("p.jpg", JPEG, "image/jpeg")},
    }


def _initiated_loan(world: Any, lo: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    _, people = world.ready_group(lo)
    world.savings(people[0]["_id"], 400_000)
    loan = world.ok(world.initiate(lo, people[0], world.product()), 201)["loan"]
    return loan, people


def _pending_guarantor(world: Any, lo: Any) -> str:
    loan, people = _initiated_loan(world, lo)
    return str(
        world.ok(
            world.http.post(
                "/api/guarantors",
                json={"loanId": loan["_id"], "clientId": people[1]["_id"], "relationship": "Aunt"},
                headers=lo.headers,
            ),
            201,
        )["_id"]
    )


def _approved_loan(world: Any, lo: Any) -> str:
    return str(world.approved_loan(lo)["_id"])


def _signatories(world: Any, lo: Any, path: str) -> Call:
    group = world.group(lo)
    people = [world.onboard(lo, group["_id"]) for _ in range(3)]
    body = {
        "signatoryAssignments": [
            {"role": r, "memberNationalId": p["nationalId"]}
            for r, p in zip(("chairperson", "secretary", "treasurer"), people, strict=True)
        ]
    }
    return Call("PUT", f"/api/groups/{group['_id']}/{path}", {"json": body})


def _import_file(world: Any, lo: Any) -> Call:
    csv = (
        f"group_name,client_name,national_id,phone\nMatrix Legacy {uuid.uuid4().hex[:6]},Old Client,"
        f"{world.national_id()},0722123456\n"
    ).encode()
    return Call(
        "POST",
        "/api/origination/import",
        {"files": {"file": ("legacy.csv", io.BytesIO(csv), "text/csv")}},
    )


def _loan_officer(world: Any, lo: Any) -> Call:
    world.announce(lo)
    return Call("GET", f"/api/loan-officers/{lo.user_id}", {})


ROUTES: list[tuple[str, frozenset[str], Setup]] = [
    (
        "POST /api/groups",
        frozenset({"loan_officer", "super_admin"}),
        lambda w, lo: Call("POST", "/api/groups", {"json": {"name": f"M {uuid.uuid4().hex[:6]}"}}),
    ),
    ("GET /api/groups", ALL, lambda w, lo: Call("GET", "/api/groups", {})),
    (
        "GET /api/groups/:id",
        ALL,
        lambda w, lo: Call("GET", f"/api/groups/{w.group(lo)['_id']}", {}),
    ),
    (
        "PUT /api/groups/:id/approve",
        frozenset({"initiator_admin", "approver_admin", "super_admin"}),
        lambda w, lo: Call("PUT", f"/api/groups/{w.group(lo, approve=False)['_id']}/approve", {}),
    ),
    (
        "PUT /api/groups/:id/assign-signatories",
        frozenset({"loan_officer", "super_admin"}),
        lambda w, lo: _signatories(w, lo, "assign-signatories"),
    ),
    (
        "PUT /api/groups/:id/signatories",
        frozenset({"loan_officer", "super_admin"}),
        lambda w, lo: _signatories(w, lo, "signatories"),
    ),
    (
        "POST /api/clients/onboard",
        frozenset({"loan_officer", "super_admin"}),
        lambda w, lo: Call("POST", "/api/clients/onboard", _client_form(w, w.group(lo)["_id"])),
    ),
    (
        "POST /api/clients",
        frozenset({"loan_officer", "super_admin"}),
        lambda w, lo: Call("POST", "/api/clients", _client_form(w, w.group(lo)["_id"])),
    ),
    ("GET /api/clients", ALL, lambda w, lo: Call("GET", "/api/clients", {})),
    (
        "GET /api/clients/:id",
        ALL,
        lambda w, lo: Call("GET", f"/api/clients/{w.onboard(lo, w.group(lo)['_id'])['_id']}", {}),
    ),
    (
        "PUT /api/clients/:id/approve",
        frozenset({"initiator_admin", "approver_admin", "super_admin"}),
        lambda w, lo: Call(
            "PUT",
            f"/api/clients/{w.onboard(lo, w.group(lo)['_id'], approve=False)['_id']}/approve",
            {},
        ),
    ),
    (
        "POST /api/loan-products",
        frozenset({"super_admin"}),
        lambda w, lo: Call(
            "POST",
            "/api/loan-products",
            {
                "json": {
                    "name": "Matrix",
                    "type": "matrix",
                    "interestMethod": "flat",
                    "interestRate": "1",
                    "interestRatePeriod": "month",
                    "repaymentFrequency": "weekly",
                    "minAmount": 100,
                    "maxAmount": 200,
                    "minTerm": 1,
                    "maxTerm": 4,
                }
            },
        ),
    ),
    ("GET /api/loan-products", ALL, lambda w, lo: Call("GET", "/api/loan-products", {})),
    (
        "GET /api/loan-products/:id",
        ALL,
        lambda w, lo: Call("GET", f"/api/loan-products/{w.product()['_id']}", {}),
    ),
    (
        "PATCH /api/loan-products/:id",
        frozenset({"super_admin"}),
        lambda w, lo: Call(
            "PATCH", f"/api/loan-products/{w.product()['_id']}", {"json": {"maxTerm": 10}}
        ),
    ),
    (
        "POST /api/loans/initiate",
        frozenset({"initiator_admin", "loan_officer", "super_admin"}),
        lambda w, lo: _initiate(w, lo),
    ),
    ("GET /api/loans", ALL, lambda w, lo: Call("GET", "/api/loans", {})),
    (
        "GET /api/loans/:id",
        ALL,
        lambda w, lo: Call("GET", f"/api/loans/{_initiated_loan(w, lo)[0]['_id']}", {}),
    ),
    ("POST /api/guarantors", ALL, lambda w, lo: _add_guarantor(w, lo)),
    ("GET /api/guarantors", ALL, lambda w, lo: Call("GET", "/api/guarantors", {})),
    (
        "PUT /api/guarantors/:id/accept",
        ALL,
        lambda w, lo: Call("PUT", f"/api/guarantors/{_pending_guarantor(w, lo)}/accept", {}),
    ),
    (
        "PUT /api/guarantors/:id/decline",
        ALL,
        lambda w, lo: Call("PUT", f"/api/guarantors/{_pending_guarantor(w, lo)}/decline", {}),
    ),
    (
        "PUT /api/guarantors/:id/reject",
        ALL,
        lambda w, lo: Call("PUT", f"/api/guarantors/{_pending_guarantor(w, lo)}/reject", {}),
    ),
    (
        "POST /api/credit-assessments",
        frozenset({"loan_officer", "initiator_admin", "super_admin"}),
        lambda w, lo: Call(
            "POST",
            "/api/credit-assessments",
            {
                "json": {
                    "loanId": _initiated_loan(w, lo)[0]["_id"],
                    "character": 4,
                    "capacity": 4,
                    "capital": 4,
                    "collateral": 4,
                    "conditions": 4,
                }
            },
        ),
    ),
    ("GET /api/credit-assessments", ALL, lambda w, lo: Call("GET", "/api/credit-assessments", {})),
    (
        "GET /api/credit-assessments/:loanId",
        ALL,
        lambda w, lo: Call("GET", f"/api/credit-assessments/{w.approvable_loan(lo)['_id']}", {}),
    ),
    (
        "PUT /api/loans/:id/approve",
        frozenset({"approver_admin", "super_admin"}),
        lambda w, lo: Call("PUT", f"/api/loans/{w.approvable_loan(lo)['_id']}/approve", {}),
    ),
    (
        "PUT /api/loans/:id/reject",
        frozenset({"approver_admin", "super_admin"}),
        lambda w, lo: Call(
            "PUT",
            f"/api/loans/{_initiated_loan(w, lo)[0]['_id']}/reject",
            {"json": {"reason": "no"}},
        ),
    ),
    (
        "POST /api/loans/:id/disburse",
        frozenset({"approver_admin", "super_admin"}),
        lambda w, lo: Call("POST", f"/api/loans/{_approved_loan(w, lo)}/disburse", {}),
    ),
    (
        "PUT /api/loans/:id/disburse",
        frozenset({"approver_admin", "super_admin"}),
        lambda w, lo: Call("PUT", f"/api/loans/{_approved_loan(w, lo)}/disburse", {}),
    ),
    (
        "POST /api/upload",
        ALL,
        lambda w, lo: Call(
            "POST",
            "/api/upload",
            {"files": {"file": ("id.png", _image("PNG"), "image/png")}},
        ),
    ),
    ("POST /api/origination/import", frozenset({"super_admin"}), _import_file),
    ("GET /api/loan-officers", ALL, lambda w, lo: Call("GET", "/api/loan-officers", {})),
    ("GET /api/loan-officers/:id", ALL, _loan_officer),
]


def _initiate(world: Any, lo: Any) -> Call:
    _, people = world.ready_group(lo)
    world.savings(people[0]["_id"], 400_000)
    return Call(
        "POST",
        "/api/loans/initiate",
        {
            "json": {
                "clientNationalId": people[0]["nationalId"],
                "productId": world.product()["_id"],
                "amount": 20000,
                "term": 6,
            }
        },
    )


def _add_guarantor(world: Any, lo: Any) -> Call:
    loan, people = _initiated_loan(world, lo)
    return Call(
        "POST",
        "/api/guarantors",
        {"json": {"loanId": loan["_id"], "clientId": people[1]["_id"], "relationship": "Uncle"}},
    )


@pytest.mark.parametrize(("route", "allowed", "setup"), ROUTES, ids=[r[0] for r in ROUTES])
def test_every_role_against_the_route(
    world: Any, route: str, allowed: frozenset[str], setup: Setup
) -> None:
    lo = world.staff("loan_officer")
    denied_call = setup(world, lo)
    for role in ROLES:
        who = lo if role == "loan_officer" else world.staff(role)
        call = setup(world, lo) if role in allowed else denied_call
        response = world.http.request(call.method, call.url, headers=who.headers, **call.kwargs)
        if role in allowed:
            assert 200 <= response.status_code < 300, (
                f"{route} as {role}: {response.status_code} {response.text}"
            )
        else:
            assert response.status_code == 403, (
                f"{route} as {role}: {response.status_code} {response.text}"
            )
            assert response.json()["message"] == "Your role may not do this"
    anonymous = world.http.request(denied_call.method, denied_call.url, **denied_call.kwargs)
    assert anonymous.status_code == 401, f"{route} without a token: {anonymous.status_code}"


def test_an_expired_or_foreign_token_is_401_and_health_is_open(world: Any) -> None:
    expired = world.mint.token(uuid.uuid4(), "super_admin", expires_in=-60)
    response = world.http.get("/api/groups", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["message"] == "Token has expired"
    response = world.http.get("/api/groups", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
    assert world.http.get("/api/origination/health").json()["status"] == "OK"
    ready = world.http.get("/api/origination/ready").json()
    assert ready["checks"]["postgres"] == "ok"
