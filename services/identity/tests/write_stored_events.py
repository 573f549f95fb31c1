"""Write identity's stored-events fixture for the release checked out: run once per release.

Not collected by ``make test`` (the name does not start with ``test_``); run it by path on a
committed tree, then commit the new file under ``tests/fixtures/stored_events/``:

    DATABASE_URL=postgresql://... .venv/bin/pytest services/identity/tests/write_stored_events.py

It drives identity through its HTTP API as staff would (a user created, their role changed,
password reset and changed, signed in, locked out and unlocked, deactivated and reactivated;
an address locked for spraying) and dumps every stored event. ``test_stored_events.py`` then
proves that later code still reads them. Never regenerate an existing file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hazina_identity.adapters.passwords import Argon2Hasher
from hazina_identity.settings import IdentitySettings
from hazina_servicekit.stored_events import release_of, write_fixture

HERE = Path(__file__).parent
OFFICE = "41.90.64.10"
SPRAYER = "198.51.100.7"
NEW_PASSWORD = "Wanjiru-Pass-22"  # pragma: allowlist secret
WRONG_PASSWORD = "not-her-password"  # pragma: allowlist secret


@pytest.fixture
def settings(database_url: str, nats_url: str, h: Any) -> IdentitySettings:
    """Low limits, so a few wrong passwords lock a user and an address."""
    return IdentitySettings(
        database_url=database_url,
        nats_url=nats_url,
        run_workers=False,
        seed_superadmin_password=h.ADMIN_PASSWORD,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        login_max_failures=2,
        address_max_failures=4,
    )


def test_write_stored_events(
    client: Any, client_at: Any, admin: Any, container: Any, h: Any
) -> None:
    release = release_of(HERE.parent / "src")
    user = h.create_user(client, admin, "wanjiru", "loan_officer", name="Wanjiru Njoroge")
    url = f"/api/users/{user['_id']}"
    assert client.patch(url, json={"role": "initiator_admin"}, headers=admin).status_code == 200
    reset = client.post(f"{url}/reset-password", headers=admin)
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporaryPassword"]

    office = client_at(OFFICE)
    session = h.login(office, "wanjiru", temporary)
    changed = office.put(
        "/api/auth/change-password",
        json={
            "currentPassword": temporary,
            "newPassword": NEW_PASSWORD,
            "confirmPassword": NEW_PASSWORD,
        },
        headers=h.bearer(session),
    )
    assert changed.status_code == 200, changed.text
    # Stronger hashing parameters: the next sign-in rehashes the password.
    container.identity.hasher = Argon2Hasher(time_cost=2, memory_cost=8192)
    h.login(office, "wanjiru", NEW_PASSWORD)

    for _ in range(2):
        office.post("/api/auth/login", json={"username": "wanjiru", "password": WRONG_PASSWORD})
    assert client.post(f"{url}/unlock", headers=admin).status_code == 200

    sprayer = client_at(SPRAYER)
    for name in ("a1", "a2", "a3", "a4"):
        sprayer.post("/api/auth/login", json={"username": name, "password": WRONG_PASSWORD})

    assert client.patch(url, json={"active": False}, headers=admin).status_code == 200
    assert client.patch(url, json={"active": True}, headers=admin).status_code == 200

    names = {
        type(container.identity.mapper.to_domain_event(n)).__qualname__
        for n in container.identity.recorder.select_notifications(start=1, limit=1000)
    }
    assert {
        "StaffUser.Created",
        "StaffUser.AccessChanged",
        "StaffUser.PasswordReset",
        "StaffUser.PasswordChanged",
        "StaffUser.PasswordRehashed",
        "StaffUser.LoginSucceeded",
        "StaffUser.LoginFailed",
        "StaffUser.LockedOut",
        "StaffUser.LockoutLifted",
        "StaffUser.Deactivated",
        "StaffUser.Reactivated",
        "SignInAddress.Noted",
        "SignInAddress.LockedOut",
    } <= names, names
    write_fixture(
        container.identity, HERE / "fixtures" / "stored_events", release=release, service="identity"
    )
