"""Bad input never becomes an event: text is checked at the edge, searches are literal."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from hazina_identity.bootstrap import Container
from hazina_servicekit.inputs import unchecked_inputs


def stored_events(container: Container) -> int:
    """The position of the last event in the store: unchanged means nothing was written."""
    return container.identity.recorder.max_notification_id() or 0


def test_every_route_takes_only_checked_text_and_dates(client: TestClient) -> None:
    assert unchecked_inputs(client.app) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"name": "Achieng\u0000 Odhiambo"}, "name"),
        ({"name": "Achieng\nOdhiambo"}, "name"),
        ({"branchId": "NRB\u0085"}, "branchId"),
        ({"regions": ["Nairobi", "Kisumu\u0000"]}, "regions.1"),
        ({"role": "loan_officer\u0000"}, "role"),
        ({"phone": "0712345678\u0000"}, "phone"),
    ],
)
def test_control_characters_in_a_new_user_are_a_400_and_store_nothing(
    client: TestClient,
    admin: dict[str, str],
    container: Container,
    h: Any,
    extra: Any,
    field: str,
) -> None:
    before = stored_events(container)
    password = h.ADMIN_PASSWORD.replace("Seed-Admin", "Officer")
    body = {"username": "achieng", "password": password, "role": "loan_officer", **extra}
    response = client.post("/api/users", json=body, headers=admin)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith(f"{field}: ") and "must not contain control characters" in message
    assert stored_events(container) == before
    assert client.get("/api/users", headers=admin).headers["X-Total-Count"] == "1"


def test_a_nul_in_a_login_is_a_400_not_a_failed_login(
    client: TestClient, container: Container, h: Any
) -> None:
    before = stored_events(container)
    response = client.post(
        "/api/auth/login", json={"username": "super\u0000admin", "password": h.ADMIN_PASSWORD}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("username: must not contain control characters")
    assert stored_events(container) == before


def test_a_nul_in_search_is_a_400(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/users?search=%00x", headers=admin)
    assert response.status_code == 400
    assert response.json()["message"].startswith("search: must not contain control characters")


def test_search_wildcards_are_literal(client: TestClient, admin: dict[str, str], h: Any) -> None:
    h.create_user(client, admin, "wanjiru", "loan_officer", name="Wanjiru 100% Mwangi")
    h.create_user(client, admin, "otieno_k", "loan_officer", name="Kevin Otieno")
    h.create_user(client, admin, "kamau", "loan_officer", name="Kamau Njoroge")

    def found(term: str) -> list[str]:
        response = client.get("/api/users", params={"search": term}, headers=admin)
        assert response.status_code == 200, response.text
        return sorted(u["username"] for u in response.json())

    assert found("%") == ["wanjiru"]
    assert found("_") == ["otieno_k"]
    assert found("\\") == []
    assert found("0%") == ["wanjiru"]
    assert found("kamau") == ["kamau"]
