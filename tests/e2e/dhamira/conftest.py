"""Dhamira's staff frontend, call by call (``../shared/docs/dhamira-frontend.md``), against the
system as ``make run`` starts it. One system serves every page's tests in this package: starting
it is the slow part, and the pages share it as a browser session would."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hazina_devstack.testing import RunningSystem, started_system

from .loan_book import LoanBook, open_book

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
    pg_server_url: str, nats_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    with started_system(
        pg_server_url, nats_server_url, tmp_path_factory.mktemp("dhamira")
    ) as running:
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
def loan_book(super_admin: Frontend, new_staff: NewStaff) -> LoanBook:
    """The loan pages' shared records (``loan_book.py``)."""
    return open_book(super_admin, new_staff)
