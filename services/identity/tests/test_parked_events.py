"""An event identity's directory cannot apply is parked: identity starts, reads answer, staff resolve it.

The bad events are written straight into the event store, bypassing the API's validation, as
an older release or a bug could have written them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hazina_identity.bootstrap import Container, build
from hazina_identity.domain.staff_user import StaffUser
from hazina_identity.settings import IdentitySettings
from hazina_servicekit.parking import ParkedEvent

PARKED = "/api/identity/parked"


def plant_user(container: Container, username: str, name: str) -> StaffUser:
    user = StaffUser(
        username=username,
        name=name,
        role="loan_officer",
        regions=["Nairobi"],
        branch_id=None,
        national_id=None,
        phone=None,
        password_hash=container.identity.hasher.hash("Planted-Pass-1"),
        created_by=None,
        correlation_id="planted",
    )
    container.identity.save(user)
    return user


@pytest.fixture
def restarted(
    container: Container, settings: IdentitySettings, clock: Any
) -> Iterator[tuple[Container, TestClient]]:
    """Identity with a NUL in a stored user's name, started again (as after a deploy)."""
    plant_user(container, "wanjiru", "Wanjiru\x00 Kamau")
    again = build(settings, clock=clock)  # used to fail here, forever
    try:
        with TestClient(again.service.http_app(), raise_server_exceptions=False) as client:
            yield again, client
    finally:
        again.close()


def test_identity_starts_and_answers_with_an_unappliable_user_in_its_store(
    restarted: tuple[Container, TestClient], h: Any
) -> None:
    container, client = restarted
    admin = h.bearer(h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD))
    users = client.get("/api/users", headers=admin)
    assert users.status_code == 200
    assert [u["username"] for u in users.json()] == ["superadmin"]

    parked = client.get(PARKED, headers=admin)
    assert parked.status_code == 200 and parked.headers["X-Total-Count"] == "1"
    (row,) = parked.json()
    assert row["status"] == "parked" and row["source"] == "staff_directory"
    assert row["topic"].endswith("StaffUser.Created") and row["errorType"] == "DataError"
    assert row["originatorId"] == str(StaffUser.create_id("wanjiru"))
    assert "\x00" not in row["error"]

    # A later valid event of another aggregate applies.
    h.create_user(client, admin, "otieno", "initiator_admin")
    names = [u["username"] for u in client.get("/api/users", headers=admin).json()]
    assert names == ["superadmin", "otieno"]

    # Only the super admin may see or resolve identity's parked events.
    other = h.bearer(h.login(client, "otieno", "Officer-Pass-1"))
    assert client.get(PARKED, headers=other).status_code == 403
    assert (
        client.post(f"{PARKED}/{row['_id']}/skip", json={"reason": "x"}, headers=other).status_code
        == 403
    )
    assert client.get(PARKED).status_code == 401

    # Skip with a reason; a second skip changes nothing.
    assert (
        client.post(f"{PARKED}/{row['_id']}/skip", json={"reason": "  "}, headers=admin).status_code
        == 400
    )
    skipped = client.post(
        f"{PARKED}/{row['_id']}/skip",
        json={"reason": "planted by a bad import; user recreated"},
        headers=admin,
    )
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["status"] == "skipped"
    assert skipped.json()["reason"] == "planted by a bad import; user recreated"
    again = client.post(f"{PARKED}/{row['_id']}/skip", json={"reason": "again"}, headers=admin)
    assert again.status_code == 409 and again.json()["code"] == "already_skipped"
    retry = client.post(f"{PARKED}/{row['_id']}/retry", headers=admin)
    assert retry.status_code == 409 and retry.json()["code"] == "already_skipped"

    record = container.identity.repository.get(row["_id"])
    assert isinstance(record, ParkedEvent) and record.status == "skipped"
    assert record.version == 2  # Parked, Skipped: the refused second skip recorded nothing


def test_a_retry_after_the_fix_applies_the_user_and_what_waited_behind_it(
    container: Container, client: TestClient, admin: dict[str, str], h: Any
) -> None:
    with container.pool.connection() as conn:  # a stray directory row takes the username
        conn.execute(
            "INSERT INTO staff_directory (user_id, username, role, active, created_at, updated_at) "
            "VALUES (gen_random_uuid(), 'baraka', 'loan_officer', true, now(), now())"
        )
    user = plant_user(container, "baraka", "Baraka Mwangi")
    user.deactivate(by=container.identity.find_by_username("superadmin").id, correlation_id=None)  # type: ignore[union-attr]
    container.identity.save(user)

    assert client.get("/api/users", headers=admin).status_code == 200
    rows = client.get(f"{PARKED}?status=parked", headers=admin).json()
    head, behind = rows
    assert head["errorType"] == "UniqueViolation" and head["behind"] is None
    assert behind["behind"] == head["_id"] and behind["errorType"] == "ParkedBehind"

    refused = client.post(f"{PARKED}/{behind['_id']}/retry", headers=admin)
    assert refused.status_code == 409 and "behind" in refused.json()["message"]
    still = client.post(f"{PARKED}/{head['_id']}/retry", headers=admin)
    assert still.status_code == 409 and still.json()["code"] == "still_failing"
    assert client.get(f"{PARKED}/{head['_id']}", headers=admin).json()["attempts"] == 2

    with container.pool.connection() as conn:  # the fix
        conn.execute("DELETE FROM staff_directory WHERE username = 'baraka' AND name IS NULL")
    done = client.post(f"{PARKED}/{head['_id']}/retry", headers=admin)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "retried"
    assert [r["status"] for r in done.json()["released"]] == ["retried"]
    baraka = client.get(f"/api/users/{user.id}", headers=admin).json()
    assert (baraka["name"], baraka["active"]) == ("Baraka Mwangi", False)  # both, in order

    twice = client.post(f"{PARKED}/{head['_id']}/retry", headers=admin)
    assert twice.status_code == 409 and twice.json()["code"] == "already_retried"
    assert container.identity.repository.get(head["_id"]).version == 3  # parked, failed, applied
