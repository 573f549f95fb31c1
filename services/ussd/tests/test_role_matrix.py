# ruff: noqa: ARG005 - every setup takes (world, officer), whether it needs both or not
"""The role x route matrix of the USSD service, checked against every route the app serves.

Africa's Talking's callbacks (USSD hops, delivery reports) carry no token; staff routes deny
unless a role is listed; a loan officer sees the limit of their own clients only (another
officer's client is a 404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ussd_harness import Phone, TokenMint, World

from hazina_servicekit.matrix_rows import open_rows, parking_rows
from hazina_servicekit.promises import MatrixCaller, RoleMatrixPromise
from hazina_servicekit.testing import (
    PUBLIC,
    Access,
    Call,
)

ADMINS = Access(frozenset({"super_admin", "initiator_admin", "approver_admin"}))
STAFF_OWN = Access(frozenset({*ADMINS.roles, "loan_officer"}), scope="record")
SUPER_ADMIN = Access(frozenset({"super_admin"}))
PIN = "4826"  # pragma: allowlist secret
_phones = count(1)


class Setting:
    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world = client, world

    def client_of(self, officer: uuid.UUID | None, *, locked: bool = False) -> uuid.UUID:
        phone = f"2547130{next(_phones):05d}"
        client_id = self.world.client(phone, loan_officer_id=officer)
        if locked:
            handset = Phone(self.client, phone)
            handset.dial()
            for step in ("29001234", PIN, PIN):
                handset.send(step)
            handset.dial()
            for wrong in ("1111", "2222", "3333"):
                handset.send(wrong)
        return client_id


Setup = Callable[[Setting, Any], Call]
HOP = {"sessionId": "ATUid_matrix", "phoneNumber": "+254700000000", "text": ""}

MATRIX: dict[str, tuple[Access, Setup]] = {
    "POST /api/ussd": (PUBLIC, lambda s, o: Call("POST", "/api/ussd", {"data": HOP})),
    "POST /api/v1/ussd": (PUBLIC, lambda s, o: Call("POST", "/api/v1/ussd", {"data": HOP})),
    "POST /api/ussd/session-end": (
        PUBLIC,
        lambda s, o: Call("POST", "/api/ussd/session-end", {"data": {**HOP, "status": "Success"}}),
    ),
    "POST /api/sms/delivery-reports": (
        PUBLIC,
        lambda s, o: Call(
            "POST", "/api/sms/delivery-reports", {"data": {"id": "ATXid_x", "status": "Success"}}
        ),
    ),
    "GET /api/sms/notifications": (ADMINS, lambda s, o: Call("GET", "/api/sms/notifications")),
    "POST /api/ussd/borrowers/{clientId}/unlock": (
        ADMINS,
        lambda s, o: Call("POST", f"/api/ussd/borrowers/{s.client_of(None, locked=True)}/unlock"),
    ),
    "GET /api/ussd/borrowers/{clientId}/limit": (
        STAFF_OWN,
        lambda s, o: Call("GET", f"/api/ussd/borrowers/{s.client_of(o)}/limit"),
    ),
    **parking_rows(
        "ussd", read=ADMINS, act=SUPER_ADMIN, lot=lambda s: s.client.app.state.ussd_api.parking
    ),
    **open_rows("ussd"),
}


class TestRoleMatrix(RoleMatrixPromise):
    matrix = MATRIX

    @pytest.fixture
    def matrix_caller(self, client: TestClient, world: World, mint: TokenMint) -> MatrixCaller:
        return MatrixCaller(
            client,
            Setting(client, world),
            officers=(uuid.uuid4(), uuid.uuid4()),
            headers=lambda role, officer: mint.headers(role, officer),
        )
