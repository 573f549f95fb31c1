"""Identity under test: a real PostgreSQL database per test, a real NATS, a clock the test moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hazina_identity.bootstrap import Container, build
from hazina_identity.settings import IdentitySettings
from hazina_servicekit.testing import MovableClock

ADMIN_USERNAME = "superadmin"
ADMIN_PASSWORD = "Seed-Admin-Pass-1"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def settings(database_url: str, nats_url: str) -> IdentitySettings:
    return IdentitySettings(
        database_url=database_url,
        nats_url=nats_url,
        run_workers=False,
        seed_superadmin_password=ADMIN_PASSWORD,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
    )


@pytest.fixture
def container(settings: IdentitySettings, clock: MovableClock) -> Iterator[Container]:
    with closing(build(settings, clock=clock)) as built:
        yield built


@pytest.fixture
def app(container: Container) -> FastAPI:
    return container.service.http_app()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def client_at(app: FastAPI, client: TestClient) -> Callable[[str], TestClient]:
    """A client calling from the given address (a branch office's NAT, an attacker elsewhere)."""

    def at(address: str) -> TestClient:
        return TestClient(app, raise_server_exceptions=False, client=(address, 50000))

    return at


def login(client: TestClient, username: str, password: str, **kwargs: Any) -> dict[str, Any]:
    response = client.post(
        "/api/auth/login", json={"username": username, "password": password}, **kwargs
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return bearer(login(client, ADMIN_USERNAME, ADMIN_PASSWORD))


def create_user(
    client: TestClient,
    admin: dict[str, str],
    username: str,
    role: str,
    password: str = "Officer-Pass-1",
    **extra: Any,
) -> dict[str, Any]:
    response = client.post(
        "/api/users",
        json={
            "username": username,
            "password": password,
            "role": role,
            "regions": ["Nairobi"],
            **extra,
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def h() -> Any:
    """The helpers above, as a fixture (test modules cannot import conftest in importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        login=login,
        bearer=bearer,
        create_user=create_user,
        ADMIN_USERNAME=ADMIN_USERNAME,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
