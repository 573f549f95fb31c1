"""Dhamira's staff frontend, call by call (``../shared/docs/dhamira-frontend.md``), against the
system as ``make run`` starts it. One system serves every page's tests in this package: starting
it is the slow part, and the pages share it as a browser session would."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image

from hazina_devstack.testing import RunningSystem, started_system_alone
from hazina_servicekit.testing import eventually as shared_eventually

from .loan_book import LoanBook, business_product, open_book

pytestmark = pytest.mark.e2e

FRONTEND_ORIGIN = "http://localhost:3000"
STAFF_PASSWORD = "Staff-Pass-12"  # pragma: allowlist secret


@dataclass
class Frontend:
    """What the frontend's ``lib/api.ts`` does: a bearer token on every call, JSON bodies, the
    browser's Origin header (so CORS is checked on every answer)."""

    client: httpx.Client
    token: str | None = None
    user: dict[str, Any] | None = None

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Origin": FRONTEND_ORIGIN, **kwargs.pop("headers", {})}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = self.client.request(method, path, headers=headers, **kwargs)
        assert response.headers.get("access-control-allow-origin") == FRONTEND_ORIGIN, (
            f"{method} {path}: no CORS header on a {response.status_code}"
        )
        if response.status_code >= 400:
            assert "message" in response.json(), f"{method} {path}: error without message"
        return response

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None


@pytest.fixture(scope="package")
def dhamira_system(
    pg_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    # A NATS of its own: no other test's stream clean-up reaches it while the package runs.
    with started_system_alone(pg_server_url, tmp_path_factory.mktemp("dhamira")) as running:
        yield running


SignIn = Callable[[str, str], Frontend]
NewStaff = Callable[..., Frontend]


@pytest.fixture(scope="package")
def sign_in(dhamira_system: RunningSystem) -> Iterator[SignIn]:
    """Sign in as the login page does; the answer is kept as the page keeps ``user``."""
    clients: list[httpx.Client] = []

    def signed_in(username: str, password: str) -> Frontend:
        clients.append(httpx.Client(base_url=dhamira_system.url, timeout=30))
        page = Frontend(clients[-1])
        body = page.ok("POST", "/api/auth/login", json={"username": username, "password": password})
        page.token, page.user = body["token"], body
        return page

    yield signed_in
    for client in clients:
        client.close()


@pytest.fixture(scope="package")
def super_admin(dhamira_system: RunningSystem, sign_in: SignIn) -> Frontend:
    return sign_in(dhamira_system.admin_username, dhamira_system.admin_password)


@pytest.fixture(scope="package")
def new_staff(super_admin: Frontend, sign_in: SignIn) -> NewStaff:
    """``new_staff(role, **fields)``: a staff member made through Hazina's users route, signed in."""

    def made(role: str, **fields: Any) -> Frontend:
        username = f"{role.split('_')[0]}{uuid.uuid4().hex[:6]}"
        body = {
            "username": username,
            "password": STAFF_PASSWORD,
            "role": role,
            "regions": ["Nairobi"],
            **fields,
        }
        super_admin.ok("POST", "/api/users", 201, json=body)
        return sign_in(username, STAFF_PASSWORD)

    return made


@pytest.fixture(scope="package")
def loan_product(super_admin: Frontend) -> dict[str, Any]:
    return business_product(super_admin)


@pytest.fixture(scope="package")
def loan_book(super_admin: Frontend, new_staff: NewStaff, loan_product: dict[str, Any]) -> LoanBook:
    """The loan pages' shared records (``loan_book.py``)."""
    return open_book(super_admin, new_staff, loan_product)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 60)).save(out, format="JPEG")
    return out.getvalue()


@dataclass
class MoneyDesk:
    """Staff and records for the money pages: a disbursed loan whose borrower has savings."""

    officer: Frontend
    initiator: Frontend
    approver: Frontend
    group: dict[str, Any]
    members: list[dict[str, Any]]
    loan: dict[str, Any]

    @property
    def borrower(self) -> dict[str, Any]:
        return self.members[0]


@pytest.fixture(scope="package")
def money_desk(
    super_admin: Frontend, new_staff: NewStaff, loan_product: dict[str, Any]
) -> MoneyDesk:
    """A group, four approved members with savings, and one business loan taken through
    initiation, guarantor, assessment, approval and disbursement on the simulated Daraja."""
    officer = new_staff("loan_officer")
    initiator, approver = new_staff("initiator_admin"), new_staff("approver_admin")
    officer_id = str(officer.user and officer.user["_id"])
    group = officer.ok(
        "POST",
        "/api/groups",
        201,
        json={
            "name": f"Money Desk {uuid.uuid4().hex[:6]}",
            "meetingDay": "Tuesday",
            "meetingTime": "10:00",
            "loanOfficerId": officer_id,
        },
    )
    approver.ok("PUT", f"/api/groups/{group['_id']}/approve")
    photo = _jpeg()
    members = []
    for i in range(4):
        onboarded = officer.ok(
            "POST",
            "/api/clients/onboard",
            201,
            data={
                "name": f"Saver {i} {uuid.uuid4().hex[:4]}",
                "nationalId": f"3{uuid.uuid4().int % 10**7:07d}",
                "phone": f"07{uuid.uuid4().int % 10**8:08d}",
                "residence": "owned",
                "businessType": "retail",
                "businessLocation": "Githurai",
                "nextOfKinName": "Kin",
                "nextOfKinPhone": "0722000000",
                "nextOfKinRelationship": "sister",
                "groupId": group["_id"],
            },
            files={"photo": ("me.jpg", photo, "image/jpeg")},
        )
        members.append(approver.ok("PUT", f"/api/clients/{onboarded['client']['_id']}/approve"))
    officer.ok(
        "PUT",
        f"/api/groups/{group['_id']}/assign-signatories",
        json={
            "signatoryAssignments": [
                {"role": role, "memberNationalId": m["nationalId"]}
                for role, m in zip(("chairperson", "secretary", "treasurer"), members, strict=False)
            ]
        },
    )
    borrower, backer = members[0], members[1]
    # The client modal's "adjust savings" as an initiator sends it: 20% of the loan.
    shared_eventually(
        lambda: (
            initiator.call(
                "POST", f"/api/clients/{borrower['_id']}/savings", json={"amountKES": 4000}
            ).status_code
            == 201
        ),
        "the ledger to learn the client",
    )

    def initiate() -> Any:
        response = officer.call(
            "POST",
            "/api/loans/initiate",
            json={
                "clientNationalId": borrower["nationalId"],
                "product": "business",
                "type": "business",
                "amountKES": 20000,
                "amount": 20000,
                "term": 2,
            },
        )
        return response.json()["loan"] if response.status_code == 201 else None

    loan = dict(shared_eventually(initiate, "savings to reach origination"))
    added = officer.ok(
        "POST",
        "/api/guarantors",
        201,
        json={"loanId": loan["_id"], "clientId": backer["_id"], "relationship": "Sister"},
    )
    officer.ok("PUT", f"/api/guarantors/{added['_id']}/accept")
    officer.ok(
        "POST",
        "/api/credit-assessments",
        201,
        json={
            "loanId": loan["_id"],
            "character": 4,
            "capacity": 4,
            "capital": 4,
            "collateral": 3,
            "conditions": 4,
            "officerNotes": "Stable business",
        },
    )
    approver.ok("PUT", f"/api/loans/{loan['_id']}/approve")
    # Maker-checker by person: another approver pays out the loan this one approved.
    new_staff("approver_admin").ok("PUT", f"/api/loans/{loan['_id']}/disburse", 202)
    shared_eventually(
        lambda: initiator.call("GET", f"/api/repayments/loan/{loan['_id']}").status_code == 200,
        "the ledger to open the loan account",
    )
    return MoneyDesk(officer, initiator, approver, group, members, loan)


@pytest.fixture(scope="package")
def eventually() -> Callable[..., Any]:
    """``eventually(check, what)``: poll until ``check`` returns something truthy."""
    return shared_eventually
