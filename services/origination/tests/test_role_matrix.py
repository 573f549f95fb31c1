# ruff: noqa: ARG005 - every setup takes (world, officer), whether it needs both or not
"""The role x route x ownership matrix: every role against every route the app serves. Allowed
roles succeed; a loan officer succeeds on their own records and gets 404 for another officer's
(lists leave those out); every other role gets 403, and no token at all gets 401."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from hazina_servicekit.matrix_rows import open_rows, parking_rows
from hazina_servicekit.promises import MatrixCaller, RoleMatrixPromise
from hazina_servicekit.testing import (
    PUBLIC,
    ROLES,
    Access,
    Call,
)

ALL = frozenset(ROLES)
ADMINS = frozenset({"super_admin", "initiator_admin", "approver_admin"})
# docs/roles.md: branch administrators; the checkers of maker-checker; who originates loans.
BRANCH_ADMINS = Access(frozenset({"super_admin", "admin", "initiator_admin", "approver_admin"}))
CHECKERS = Access(frozenset({"initiator_admin", "approver_admin"}))
ORIGINATORS = ("admin", "initiator_admin", "approver_admin", "loan_officer")


def _image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 90, 90)).save(out, format=kind)
    return out.getvalue()


JPEG = _image("JPEG")

Setup = Callable[[Any, Any], Call]  # (world, the loan officer who owns the records) -> the request


def mine(*roles: str) -> Access:
    """Roles that may act on a record; a loan officer only on their own (another's: 404)."""
    return Access(frozenset(roles), scope="record" if "loan_officer" in roles else None)


READ = Access(ALL, scope="record")
LIST = Access(ALL, scope="list")


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


def _product_body() -> dict[str, Any]:
    return {
        "name": "Matrix",
        "type": f"matrix-{uuid.uuid4().hex[:6]}",
        "interestMethod": "flat",
        "interestRate": "1",
        "interestRatePeriod": "month",
        "repaymentFrequency": "weekly",
        "minAmount": 100,
        "maxAmount": 200,
        "minTerm": 1,
        "maxTerm": 4,
    }


def _assessment(world: Any, lo: Any) -> Call:
    body = {
        "loanId": _initiated_loan(world, lo)[0]["_id"],
        **dict.fromkeys(("character", "capacity", "capital", "collateral", "conditions"), 4),
    }
    return Call("POST", "/api/credit-assessments", {"json": body})


def _client(world: Any, lo: Any, *, approve: bool = True) -> dict[str, Any]:
    return world.onboard(lo, world.group(lo)["_id"], approve=approve)


MATRIX: dict[str, tuple[Access, Setup]] = {
    "POST /api/groups": (
        Access(frozenset({"loan_officer", "super_admin"})),
        lambda w, lo: Call("POST", "/api/groups", {"json": {"name": f"M {uuid.uuid4().hex[:6]}"}}),
    ),
    "GET /api/groups": (LIST, lambda w, lo: Call("GET", "/api/groups", shows=w.group(lo)["_id"])),
    "GET /api/groups/{group_id}": (
        READ,
        lambda w, lo: Call("GET", f"/api/groups/{w.group(lo)['_id']}"),
    ),
    # Every role edits (an accountant contact details only); the field rules: test_record_edits.py
    "PUT /api/groups/{group_id}": (
        READ,
        lambda w, lo: Call(
            "PUT", f"/api/groups/{w.group(lo)['_id']}", {"json": {"meetingTime": "11:30"}}
        ),
    ),
    "PUT /api/groups/{group_id}/approve": (
        mine("admin", "initiator_admin", "approver_admin", "super_admin"),
        lambda w, lo: Call("PUT", f"/api/groups/{w.group(lo, approve=False)['_id']}/approve"),
    ),
    "PUT /api/groups/{group_id}/assign-signatories": (
        mine("loan_officer", "admin", "super_admin"),
        lambda w, lo: _signatories(w, lo, "assign-signatories"),
    ),
    "PUT /api/groups/{group_id}/signatories": (
        mine("loan_officer", "admin", "super_admin"),
        lambda w, lo: _signatories(w, lo, "signatories"),
    ),
    "POST /api/clients/onboard": (
        mine("loan_officer", "super_admin"),
        lambda w, lo: Call("POST", "/api/clients/onboard", _client_form(w, w.group(lo)["_id"])),
    ),
    "POST /api/clients": (
        mine("loan_officer", "super_admin"),
        lambda w, lo: Call("POST", "/api/clients", _client_form(w, w.group(lo)["_id"])),
    ),
    "GET /api/clients": (
        LIST,
        lambda w, lo: Call("GET", "/api/clients", shows=_client(w, lo)["_id"]),
    ),
    "GET /api/clients/{client_id}": (
        READ,
        lambda w, lo: Call("GET", f"/api/clients/{_client(w, lo)['_id']}"),
    ),
    "PUT /api/clients/{client_id}": (
        READ,
        lambda w, lo: Call(
            "PUT", f"/api/clients/{_client(w, lo)['_id']}", {"json": {"businessType": "tailoring"}}
        ),
    ),
    "PUT /api/clients/{client_id}/approve": (
        mine("admin", "initiator_admin", "approver_admin", "super_admin"),
        lambda w, lo: Call("PUT", f"/api/clients/{_client(w, lo, approve=False)['_id']}/approve"),
    ),
    "POST /api/loan-products": (
        Access(frozenset({"super_admin"})),
        lambda w, lo: Call("POST", "/api/loan-products", {"json": _product_body()}),
    ),
    "GET /api/loan-products": (Access(ALL), lambda w, lo: Call("GET", "/api/loan-products")),
    "GET /api/loan-products/{product_id}": (
        Access(ALL),
        lambda w, lo: Call("GET", f"/api/loan-products/{w.product()['_id']}"),
    ),
    "PATCH /api/loan-products/{product_id}": (
        Access(frozenset({"super_admin"})),
        lambda w, lo: Call(
            "PATCH", f"/api/loan-products/{w.product()['_id']}", {"json": {"maxTerm": 10}}
        ),
    ),
    "POST /api/loans/initiate": (
        mine(*ORIGINATORS),
        lambda w, lo: _initiate(w, lo),
    ),
    "GET /api/loans": (
        LIST,
        lambda w, lo: Call("GET", "/api/loans", shows=_initiated_loan(w, lo)[0]["_id"]),
    ),
    "GET /api/loans/{loan_id}": (
        READ,
        lambda w, lo: Call("GET", f"/api/loans/{_initiated_loan(w, lo)[0]['_id']}"),
    ),
    "POST /api/guarantors": (mine(*ORIGINATORS), lambda w, lo: _add_guarantor(w, lo)),
    "GET /api/guarantors": (
        LIST,
        lambda w, lo: Call("GET", "/api/guarantors", shows=_pending_guarantor(w, lo)),
    ),
    "PUT /api/guarantors/{guarantor_id}/accept": (
        mine(*ORIGINATORS),
        lambda w, lo: Call("PUT", f"/api/guarantors/{_pending_guarantor(w, lo)}/accept"),
    ),
    "PUT /api/guarantors/{guarantor_id}/decline": (
        mine(*ORIGINATORS),
        lambda w, lo: Call("PUT", f"/api/guarantors/{_pending_guarantor(w, lo)}/decline"),
    ),
    "PUT /api/guarantors/{guarantor_id}/reject": (
        mine(*ORIGINATORS),
        lambda w, lo: Call("PUT", f"/api/guarantors/{_pending_guarantor(w, lo)}/reject"),
    ),
    "POST /api/credit-assessments": (
        mine("super_admin", "admin", "initiator_admin", "approver_admin", "loan_officer"),
        _assessment,
    ),
    "GET /api/credit-assessments": (
        LIST,
        lambda w, lo: Call("GET", "/api/credit-assessments", shows=w.approvable_loan(lo)["_id"]),
    ),
    "GET /api/credit-assessments/{loan_id}": (
        READ,
        lambda w, lo: Call("GET", f"/api/credit-assessments/{w.approvable_loan(lo)['_id']}"),
    ),
    "PUT /api/loans/{loan_id}/approve": (
        CHECKERS,
        lambda w, lo: Call("PUT", f"/api/loans/{w.approvable_loan(lo)['_id']}/approve"),
    ),
    "PUT /api/loans/{loan_id}/reject": (
        CHECKERS,
        lambda w, lo: Call(
            "PUT",
            f"/api/loans/{_initiated_loan(w, lo)[0]['_id']}/reject",
            {"json": {"reason": "no"}},
        ),
    ),
    "POST /api/loans/{loan_id}/disburse": (
        CHECKERS,
        lambda w, lo: Call("POST", f"/api/loans/{_approved_loan(w, lo)}/disburse"),
    ),
    "PUT /api/loans/{loan_id}/disburse": (
        CHECKERS,
        lambda w, lo: Call("PUT", f"/api/loans/{_approved_loan(w, lo)}/disburse"),
    ),
    "PUT /api/loans/{loan_id}/cancel": (
        BRANCH_ADMINS,
        lambda w, lo: Call("PUT", f"/api/loans/{_initiated_loan(w, lo)[0]['_id']}/cancel"),
    ),
    "PUT /api/loans/{loan_id}/mark-application-fee-paid": (
        BRANCH_ADMINS,
        lambda w, lo: Call(
            "PUT", f"/api/loans/{_initiated_loan(w, lo)[0]['_id']}/mark-application-fee-paid"
        ),
    ),
    "POST /api/loans/mark-application-fee-paid-bulk": (
        BRANCH_ADMINS,
        lambda w, lo: Call(
            "POST",
            "/api/loans/mark-application-fee-paid-bulk",
            {"json": {"loanIds": [_initiated_loan(w, lo)[0]["_id"]]}},
        ),
    ),
    "GET /api/loans/history": (BRANCH_ADMINS, lambda w, lo: Call("GET", "/api/loans/history")),
    "GET /api/loans/my-loans": (
        Access(frozenset({"loan_officer"})),
        lambda w, lo: Call("GET", "/api/loans/my-loans"),
    ),
    "GET /api/loan-officers/performance": (
        Access(frozenset({"loan_officer"})),
        lambda w, lo: Call("GET", "/api/loan-officers/performance"),
    ),
    # No token (an <img src> sends none): a link the API signed for someone who may see the
    # client, given only with a record they may see.
    "GET /uploads/{name}": (
        PUBLIC,
        lambda w, lo: Call("GET", _client(w, lo, approve=False)["photoUrl"]),
    ),
    "POST /api/upload": (
        Access(ALL),
        lambda w, lo: Call(
            "POST",
            "/api/upload",
            {"files": {"file": ("id.png", _image("PNG"), "image/png")}},
        ),
    ),
    "POST /api/origination/import": (Access(frozenset({"super_admin"})), _import_file),
    # The staff directory of loan officers: who groups can be given to, nobody's money.
    "GET /api/loan-officers": (Access(ALL), lambda w, lo: Call("GET", "/api/loan-officers")),
    "GET /api/loan-officers/{user_id}": (Access(ALL), _loan_officer),
    **parking_rows(
        "origination", read=Access(ADMINS), act=Access(ADMINS), lot=lambda w: w.container.parking
    ),
    **open_rows("origination"),
}


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


class TestRoleMatrix(RoleMatrixPromise):
    matrix = MATRIX

    @pytest.fixture
    def served_app(self, world: Any) -> Any:
        return world.http.app

    @pytest.fixture
    def matrix_caller(self, world: Any) -> MatrixCaller:
        return MatrixCaller(
            world.http,
            world,
            officers=(world.staff("loan_officer"), world.staff("loan_officer")),
            headers=lambda role, officer: (officer or world.staff(role)).headers,
        )


def test_an_expired_or_foreign_token_is_401_and_health_is_open(world: Any) -> None:
    expired = world.mint.token(uuid.uuid4(), "super_admin", expires_in=-60)
    response = world.http.get("/api/groups", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["message"] == "Token has expired"
    response = world.http.get("/api/groups", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
    assert world.http.get("/api/origination/health").json()["status"] == "OK"
    ready = world.http.get("/api/origination/ready").json()
    assert ready["checks"]["postgres"] == "ok"
