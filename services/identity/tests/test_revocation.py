"""Identity refuses revoked access tokens at once, and publishes every fact that revokes them.

Goal: after a demotion, a deactivation, a sign-out, a password change or reset, or the reuse of a
refresh token, the access tokens that fact voids are refused by identity on the very next request
(401, saying why), while other tokens keep working; the facts reach the IDENTITY stream with the
revision (or session) that other services need to refuse the same tokens.
"""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
import nats
from fastapi.testclient import TestClient

from hazina_contracts.envelope import EventEnvelope
from hazina_identity.adapters.contract_mapping import to_contract
from hazina_servicekit.messaging import ensure_all_streams
from hazina_servicekit.outbox import OutboxRelay

OFFICER_PASSWORD = "Officer-Pass-1"  # pragma: allowlist secret


def _claims(session: dict[str, Any]) -> dict[str, Any]:
    return dict(jwt.decode(session["token"], options={"verify_signature": False}))


def _me(client: TestClient, h: Any, session: dict[str, Any]) -> Any:
    return client.get("/api/auth/me", headers=h.bearer(session))


def _patch(client: TestClient, admin: dict[str, str], user: dict[str, Any], **body: Any) -> None:
    response = client.patch(f"/api/users/{user['_id']}", json=body, headers=admin)
    assert response.status_code == 200, response.text


class TestAccessTokens:
    def test_name_their_session_and_the_revision_they_were_minted_from(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        h.create_user(client, admin, "nyambura", "loan_officer")
        first = h.login(client, "nyambura", OFFICER_PASSWORD)
        second = h.login(client, "nyambura", OFFICER_PASSWORD)
        assert _claims(first)["sid"] != _claims(second)["sid"]  # one session per sign-in
        assert _claims(second)["rev"] > _claims(first)["rev"]  # each sign-in is recorded
        refreshed = client.post(
            "/api/auth/refresh", json={"refreshToken": first["refreshToken"]}
        ).json()
        assert _claims(refreshed)["sid"] == _claims(first)["sid"]  # same session


class TestDemotion:
    def test_the_old_token_can_no_longer_create_users_and_the_next_token_has_the_new_role(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        boss = h.create_user(client, admin, "kiprono", "super_admin", password="Boss-Pass-123")
        old = h.login(client, "kiprono", "Boss-Pass-123")
        assert client.get("/api/users", headers=h.bearer(old)).status_code == 200
        _patch(client, admin, boss, role="loan_officer")

        attempt = client.post(
            "/api/users",
            json={
                "username": "mole",
                "password": "Mole-Pass-1234",  # pragma: allowlist secret
                "role": "super_admin",
            },
            headers=h.bearer(old),
        )
        assert attempt.status_code == 401
        assert attempt.json()["message"] == (
            "Token has been revoked (the account's role, regions or branch changed); sign in again"
        )
        assert client.get("/api/users", headers=h.bearer(old)).status_code == 401
        never_created = client.post(
            "/api/auth/login",
            json={"username": "mole", "password": "Mole-Pass-1234"},  # pragma: allowlist secret
        )
        assert never_created.status_code == 401

        refreshed = client.post("/api/auth/refresh", json={"refreshToken": old["refreshToken"]})
        assert refreshed.status_code == 200
        assert _claims(refreshed.json())["role"] == "loan_officer"  # the current role
        assert _me(client, h, refreshed.json()).status_code == 200
        again = h.login(client, "kiprono", "Boss-Pass-123")
        assert client.get("/api/users", headers=h.bearer(again)).status_code == 403
        assert (
            _me(client, h, h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)).status_code == 200
        )

    def test_a_change_of_regions_also_voids_older_tokens(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        officer = h.create_user(client, admin, "chebet", "loan_officer")
        old = h.login(client, "chebet", OFFICER_PASSWORD)
        _patch(client, admin, officer, regions=["Eldoret"])
        assert _me(client, h, old).status_code == 401
        assert _claims(h.login(client, "chebet", OFFICER_PASSWORD))["regions"] == ["Eldoret"]


class TestDeactivation:
    def test_voids_tokens_and_reactivation_does_not_revive_them(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        officer = h.create_user(client, admin, "barasa", "loan_officer")
        old = h.login(client, "barasa", OFFICER_PASSWORD)
        h.create_user(client, admin, "auma", "loan_officer")
        theirs = h.login(client, "auma", OFFICER_PASSWORD)
        _patch(client, admin, officer, active=False)

        refused = _me(client, h, old)
        assert refused.status_code == 401
        assert refused.json()["message"] == (
            "Token has been revoked (the account was deactivated); sign in again"
        )
        assert _me(client, h, theirs).status_code == 200
        _patch(client, admin, officer, active=True)
        assert _me(client, h, old).status_code == 401  # still void
        fresh = h.login(client, "barasa", OFFICER_PASSWORD)
        assert _me(client, h, fresh).status_code == 200


class TestSignOut:
    def test_with_a_refresh_token_ends_that_session_only(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        h.create_user(client, admin, "mutua", "loan_officer")
        phone = h.login(client, "mutua", OFFICER_PASSWORD)
        laptop = h.login(client, "mutua", OFFICER_PASSWORD)
        out = client.post(
            "/api/auth/logout",
            json={"refreshToken": phone["refreshToken"]},
            headers=h.bearer(phone),
        )
        assert out.status_code == 200
        refused = _me(client, h, phone)
        assert refused.status_code == 401
        assert refused.json()["message"] == (
            "Token has been revoked (the session was signed out); sign in again"
        )
        assert _me(client, h, laptop).status_code == 200

    def test_without_a_refresh_token_ends_every_session(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        h.create_user(client, admin, "njeri", "loan_officer")
        phone = h.login(client, "njeri", OFFICER_PASSWORD)
        laptop = h.login(client, "njeri", OFFICER_PASSWORD)
        assert client.post("/api/auth/logout", headers=h.bearer(phone)).status_code == 200
        assert _me(client, h, phone).status_code == 401
        assert _me(client, h, laptop).status_code == 401
        assert _me(client, h, h.login(client, "njeri", OFFICER_PASSWORD)).status_code == 200


class TestPasswords:
    def test_a_change_signs_out_every_session_including_this_one(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        h.create_user(client, admin, "omondi", "loan_officer")
        this, other = (h.login(client, "omondi", OFFICER_PASSWORD) for _ in range(2))
        changed = client.put(
            "/api/auth/change-password",
            json={
                "currentPassword": OFFICER_PASSWORD,
                "newPassword": "Omondi-New-Pass-7",  # pragma: allowlist secret
                "confirmPassword": "Omondi-New-Pass-7",  # pragma: allowlist secret
            },
            headers=h.bearer(this),
        )
        assert changed.status_code == 200
        assert _me(client, h, this).status_code == 401
        assert _me(client, h, other).json()["message"] == (
            "Token has been revoked (the password was changed); sign in again"
        )
        assert _me(client, h, h.login(client, "omondi", "Omondi-New-Pass-7")).status_code == 200

    def test_a_reset_by_the_admin_voids_the_users_tokens(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        user = h.create_user(client, admin, "wekesa", "loan_officer")
        old = h.login(client, "wekesa", OFFICER_PASSWORD)
        reset = client.post(
            f"/api/users/{user['_id']}/reset-password",
            json={"newPassword": "Reset-Pass-123"},  # pragma: allowlist secret
            headers=admin,
        )
        assert reset.status_code == 200
        assert _me(client, h, old).status_code == 401
        assert _me(client, h, h.login(client, "wekesa", "Reset-Pass-123")).status_code == 200


class TestRefreshTokenReuse:
    def test_ends_the_session_its_access_tokens_belong_to(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        h.create_user(client, admin, "korir", "loan_officer")
        stolen = h.login(client, "korir", OFFICER_PASSWORD)
        rotated = client.post(
            "/api/auth/refresh", json={"refreshToken": stolen["refreshToken"]}
        ).json()
        other = h.login(client, "korir", OFFICER_PASSWORD)
        assert _me(client, h, rotated).status_code == 200
        reused = client.post("/api/auth/refresh", json={"refreshToken": stolen["refreshToken"]})
        assert reused.status_code == 401
        assert _me(client, h, rotated).status_code == 401
        assert _me(client, h, other).status_code == 200


class TestPublishedRevocations:
    def test_every_fact_that_voids_tokens_reaches_the_stream_with_what_services_need(
        self, client: TestClient, admin: dict[str, str], h: Any, container: Any, nats_url: str
    ) -> None:
        user = h.create_user(client, admin, "langat", "super_admin", password="Langat-Pass-12")
        first = h.login(client, "langat", "Langat-Pass-12")
        _patch(client, admin, user, role="loan_officer")
        second = h.login(client, "langat", "Langat-Pass-12")
        client.post(
            "/api/auth/logout",
            json={"refreshToken": second["refreshToken"]},
            headers=h.bearer(second),
        )
        third = h.login(client, "langat", "Langat-Pass-12")
        client.post("/api/auth/refresh", json={"refreshToken": third["refreshToken"]})
        client.post("/api/auth/refresh", json={"refreshToken": third["refreshToken"]})  # reused
        _patch(client, admin, user, active=False)

        async def relay_and_read() -> list[EventEnvelope]:
            nc = await nats.connect(nats_url)
            js = nc.jetstream()
            await ensure_all_streams(js)
            relay = OutboxRelay(
                app=container.identity,
                js=js,
                pool=container.pool,
                producer="identity",
                to_contract=to_contract,
            )
            while await relay.publish_once():
                pass
            info = await js.stream_info("IDENTITY")
            found = [
                EventEnvelope.from_bytes((await js.get_msg("IDENTITY", seq)).data)
                for seq in range(1, info.state.last_seq + 1)
            ]
            await nc.close()
            return found

        mine = [e for e in asyncio.run(relay_and_read()) if e.data["user_id"] == user["_id"]]
        by_type = {(e.type, e.version): e for e in mine}
        role_changed = by_type[("UserRoleChanged", 3)]
        assert role_changed.subject == "identity.user.role_changed"
        # The demotion's revision is above the first token's and not above the next sign-in's.
        assert _claims(first)["rev"] < role_changed.data["revision"] <= _claims(second)["rev"]
        signed_out = by_type[("SessionRevoked", 1)]
        assert signed_out.data["session_id"] == _claims(second)["sid"]
        assert signed_out.subject == "identity.user.session_revoked"
        family = by_type[("TokenFamilyRevoked", 1)]
        assert family.data["session_id"] == _claims(third)["sid"]
        deactivated = by_type[("UserDeactivated", 2)]
        assert deactivated.data["revision"] > role_changed.data["revision"]
        # only the current version is published
        assert not {("UserRoleChanged", 1), ("UserRoleChanged", 2)} & by_type.keys()
