"""The steps the end-to-end walks share, taken through the front door as the staff frontend takes
them: sign in, make staff, onboard and approve a client, record savings, and take a loan from
guarantor to approval."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
from PIL import Image

from hazina_servicekit.testing import eventually

STAFF_PASSWORD = "Staff-Pass-12"  # pragma: allowlist secret


def _jpeg() -> bytes:
    """A real photo: origination decodes every upload whole, so a JPEG header alone is refused."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (180, 90, 30)).save(out, format="JPEG")
    return out.getvalue()


JPEG = _jpeg()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.url}: {response.status_code} {response.text}"
    )
    return response.json()


class Desk:
    """The staff side of a walk: one HTTP client signed in as the system's administrator."""

    def __init__(self, client: httpx.Client, system: Any) -> None:
        self.client = client
        token = ok(
            client.post(
                "/api/auth/login",
                json={"username": system.admin_username, "password": system.admin_password},
            )
        )
        self.admin = {"Authorization": f"Bearer {token['token']}"}

    def user(self, role: str) -> tuple[dict[str, str], str]:
        """A new staff member with ``role``: their bearer header and their id."""
        username = f"{role.split('_')[0]}{uuid.uuid4().hex[:6]}"
        user = ok(
            self.client.post(
                "/api/users",
                json={
                    "username": username,
                    "password": STAFF_PASSWORD,
                    "role": role,
                    "regions": ["Nairobi"],
                },
                headers=self.admin,
            ),
            201,
        )
        token = ok(
            self.client.post(
                "/api/auth/login", json={"username": username, "password": STAFF_PASSWORD}
            )
        )
        return {"Authorization": f"Bearer {token['token']}"}, user["_id"]

    def onboard(
        self,
        officer: dict[str, str],
        group_id: str,
        *,
        name: str,
        national_id: str,
        phone: str,
        location: str,
    ) -> dict[str, Any]:
        """The officer onboards a client with a photo (the answer: message and pending client)."""
        return dict(
            ok(
                self.client.post(
                    "/api/clients/onboard",
                    data={
                        "name": name,
                        "nationalId": national_id,
                        "phone": phone,
                        "residence": "owned",
                        "businessType": "retail",
                        "businessLocation": location,
                        "nextOfKinName": "Kin",
                        "nextOfKinPhone": "0722000000",
                        "nextOfKinRelationship": "sister",
                        "groupId": group_id,
                    },
                    files={"photo": ("me.jpg", JPEG, "image/jpeg")},
                    headers=officer,
                ),
                201,
            )
        )

    def deposit(self, cashier: dict[str, str], client_id: str, receipt: str) -> None:
        """KES 4,000 of savings recorded in cash, once the ledger has heard of the client."""
        eventually(
            lambda: (
                self.client.post(
                    "/api/savings/deposits",
                    json={
                        "clientId": client_id,
                        "amount": "4000.00",
                        "paymentMethod": "cash",
                        "transactionId": receipt,
                    },
                    headers=cashier,
                ).status_code
                in (200, 201)
            ),
            "the ledger to know the client",
        )

    def guarantee_assess_approve(
        self,
        loan_id: str,
        backer_id: str,
        *,
        officer: dict[str, str],
        approver: dict[str, str],
        notes: str,
    ) -> None:
        """A guarantor added and accepted, a credit assessment, and the approval."""
        added = ok(
            self.client.post(
                "/api/guarantors",
                json={"loanId": loan_id, "clientId": backer_id, "relationship": "Sister"},
                headers=officer,
            ),
            201,
        )
        ok(self.client.put(f"/api/guarantors/{added['_id']}/accept", headers=officer))
        ok(
            self.client.post(
                "/api/credit-assessments",
                json={
                    "loanId": loan_id,
                    "character": 4,
                    "capacity": 4,
                    "capital": 4,
                    "collateral": 3,
                    "conditions": 4,
                    "officerNotes": notes,
                },
                headers=officer,
            ),
            201,
        )
        ok(self.client.put(f"/api/loans/{loan_id}/approve", headers=approver))
