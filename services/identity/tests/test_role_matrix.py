# ruff: noqa: ARG005 - every setup takes (people, officer), whether it needs both or not
"""The role x route matrix of identity, checked against every route the app serves.

Identity holds staff, not borrowers: no route here shows a client, group, loan or money, so no
row is ownership-scoped; a signed-in person's own profile and password are theirs by the token.
Every request is signed by a real login of a user made through the API (a fresh one each time:
signing out or changing a password ends that person's sessions).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hazina_identity.bootstrap import Container
from hazina_servicekit.matrix_rows import open_rows, parking_rows
from hazina_servicekit.promises import MatrixCaller, RoleMatrixPromise
from hazina_servicekit.testing import (
    PUBLIC,
    ROLES,
    Access,
    Call,
)

PASSWORD = "Matrix-Pass-1"  # pragma: allowlist secret
CHANGED = "Changed-Pass-22"  # pragma: allowlist secret
SIGNED_IN = Access(frozenset(ROLES))
SUPER_ADMIN = Access(frozenset({"super_admin"}))
OVERSEERS = Access(frozenset({"super_admin", "admin", "initiator_admin", "approver_admin"}))
_names = itertools.count(1)


@dataclass(frozen=True)
class Person:
    user_id: str
    username: str
    headers: dict[str, str]
    refresh_token: str


class People:
    def __init__(
        self, client: TestClient, admin: dict[str, str], h: Any, container: Container
    ) -> None:
        self.client, self.admin, self.h, self.container = client, admin, h, container
        self.by_role: dict[str, Person] = {}

    def of_role(self, role: str) -> Person:
        """The staff member of that role who calls in this test (each role calls once)."""
        if role not in self.by_role:
            self.by_role[role] = self.new(role)
        return self.by_role[role]

    def notified(self, officer: Person) -> str:
        """A notification addressed to the officer and to the caller of every other role."""
        notice_id = uuid.uuid4()
        callers = [officer, *(self.of_role(r) for r in ROLES if r != "loan_officer")]
        with self.container.pool.connection() as conn:
            for person in callers:
                conn.execute(
                    "INSERT INTO staff_notifications (id, recipient_id, event_id, kind, title, "
                    "body, created_at) VALUES (%s, %s, %s, 'loan', 'Loan approved', 'body', now())",
                    (notice_id, person.user_id, uuid.uuid4()),
                )
        return str(notice_id)

    def branch(self) -> str:
        """A fresh branch's id (codes are unique)."""
        body = {"name": "Matrix branch", "code": f"M{uuid.uuid4().hex[:8]}"}
        response = self.client.post("/api/branches", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return str(response.json()["_id"])

    def new(self, role: str = "loan_officer") -> Person:
        username = f"matrix{next(_names)}{uuid.uuid4().hex[:4]}"
        user = self.h.create_user(self.client, self.admin, username, role, PASSWORD)
        session = self.h.login(self.client, username, PASSWORD)
        return Person(user["_id"], username, self.h.bearer(session), session["refreshToken"])


Setup = Callable[[People, Person], Call]


def _id_number() -> str:
    return str(uuid.uuid4().int)[:8]


MATRIX: dict[str, tuple[Access, Setup]] = {
    "POST /api/auth/login": (
        PUBLIC,
        lambda p, o: Call(
            "POST",
            "/api/auth/login",
            {"json": {"username": p.new().username, "password": PASSWORD}},
        ),
    ),
    "POST /api/auth/refresh": (
        PUBLIC,
        lambda p, o: Call(
            "POST", "/api/auth/refresh", {"json": {"refreshToken": p.new().refresh_token}}
        ),
    ),
    "POST /api/auth/logout": (SIGNED_IN, lambda p, o: Call("POST", "/api/auth/logout")),
    "GET /api/auth/me": (SIGNED_IN, lambda p, o: Call("GET", "/api/auth/me")),
    "PUT /api/auth/change-password": (
        SIGNED_IN,
        lambda p, o: Call(
            "PUT",
            "/api/auth/change-password",
            {
                "json": {
                    "currentPassword": PASSWORD,
                    "newPassword": CHANGED,
                    "confirmPassword": CHANGED,
                }
            },
        ),
    ),
    "POST /api/users": (
        SUPER_ADMIN,
        lambda p, o: Call(
            "POST",
            "/api/users",
            {
                "json": {
                    "username": f"made{uuid.uuid4().hex[:8]}",
                    "password": PASSWORD,
                    "role": "loan_officer",
                }
            },
        ),
    ),
    "GET /api/users": (SUPER_ADMIN, lambda p, o: Call("GET", "/api/users")),
    "GET /api/users/{user_id}": (
        SIGNED_IN,
        lambda p, o: Call("GET", f"/api/users/{p.new().user_id}"),
    ),
    "PATCH /api/users/{user_id}": (
        SUPER_ADMIN,
        lambda p, o: Call(
            "PATCH", f"/api/users/{p.new().user_id}", {"json": {"role": "approver_admin"}}
        ),
    ),
    "POST /api/users/{user_id}/reset-password": (
        SUPER_ADMIN,
        lambda p, o: Call("POST", f"/api/users/{p.new().user_id}/reset-password"),
    ),
    "POST /api/users/{user_id}/unlock": (
        SUPER_ADMIN,
        lambda p, o: Call("POST", f"/api/users/{p.new().user_id}/unlock"),
    ),
    "GET /api/branches": (SIGNED_IN, lambda p, o: Call("GET", "/api/branches")),
    "GET /api/branches/{branch_id}": (
        SIGNED_IN,
        lambda p, o: Call("GET", f"/api/branches/{p.branch()}"),
    ),
    "POST /api/branches": (
        SUPER_ADMIN,
        lambda p, o: Call(
            "POST",
            "/api/branches",
            {"json": {"name": "Thika", "code": f"t{uuid.uuid4().hex[:8]}"}},
        ),
    ),
    "PUT /api/branches/{branch_id}": (
        SUPER_ADMIN,
        lambda p, o: Call(
            "PUT",
            f"/api/branches/{p.branch()}",
            {"json": {"name": "Renamed", "code": f"r{uuid.uuid4().hex[:8]}"}},
        ),
    ),
    "GET /api/admins": (SUPER_ADMIN, lambda p, o: Call("GET", "/api/admins")),
    "POST /api/admins": (
        SUPER_ADMIN,
        lambda p, o: Call(
            "POST",
            "/api/admins",
            {"json": {"name": "Made Admin", "idNumber": _id_number(), "role": "approver_admin"}},
        ),
    ),
    "GET /api/admins/{user_id}": (
        SUPER_ADMIN,
        lambda p, o: Call("GET", f"/api/admins/{p.new('admin').user_id}"),
    ),
    "PUT /api/admins/{user_id}": (
        SUPER_ADMIN,
        lambda p, o: Call(
            "PUT", f"/api/admins/{p.new('admin').user_id}", {"json": {"name": "Renamed"}}
        ),
    ),
    "DELETE /api/admins/{user_id}": (
        SUPER_ADMIN,
        lambda p, o: Call("DELETE", f"/api/admins/{p.new('initiator_admin').user_id}"),
    ),
    "GET /api/loan-officers": (SIGNED_IN, lambda p, o: Call("GET", "/api/loan-officers")),
    "GET /api/loan-officers/{user_id}": (
        SIGNED_IN,
        lambda p, o: Call("GET", f"/api/loan-officers/{p.new().user_id}"),
    ),
    "POST /api/loan-officers": (
        SUPER_ADMIN,
        lambda p, o: Call(
            "POST",
            "/api/loan-officers",
            {"json": {"name": "Made Officer", "nationalId": _id_number()}},
        ),
    ),
    **parking_rows(
        "identity",
        read=SUPER_ADMIN,
        act=SUPER_ADMIN,
        lot=lambda p: p.client.app.state.identity_api.parking,
    ),
    "GET /api/audit-logs": (OVERSEERS, lambda p, o: Call("GET", "/api/audit-logs")),
    "GET /api/logs": (OVERSEERS, lambda p, o: Call("GET", "/api/logs?file=error")),
    "GET /api/logs/notifications": (
        SIGNED_IN,
        lambda p, o: Call("GET", "/api/logs/notifications?unread=true&limit=5"),
    ),
    "PUT /api/logs/notifications/{notification_id}/read": (
        SIGNED_IN,
        lambda p, o: Call("PUT", f"/api/logs/notifications/{p.notified(o)}/read", {"json": {}}),
    ),
    "DELETE /api/logs/notifications/{notification_id}": (
        SIGNED_IN,
        lambda p, o: Call("DELETE", f"/api/logs/notifications/{p.notified(o)}"),
    ),
    **open_rows("identity"),
    "GET /api/health": (PUBLIC, lambda p, o: Call("GET", "/api/health")),
    "GET /.well-known/jwks.json": (PUBLIC, lambda p, o: Call("GET", "/.well-known/jwks.json")),
}


class TestRoleMatrix(RoleMatrixPromise):
    matrix = MATRIX

    @pytest.fixture
    def matrix_caller(
        self, client: TestClient, admin: dict[str, str], h: Any, container: Container
    ) -> MatrixCaller:
        people = People(client, admin, h, container)
        return MatrixCaller(
            people.client,
            people,
            officers=(people.new(), people.new()),
            headers=lambda role, officer: (officer or people.of_role(role)).headers,
        )
