"""Signing in, refresh rotation and reuse detection, sign-out, and what tokens carry."""

from __future__ import annotations

from typing import Any

import jwt
from fastapi.testclient import TestClient


class TestLogin:
    def test_answers_in_the_seed_shape_with_a_verifiable_token(
        self, h: Any, client: TestClient
    ) -> None:
        session = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)
        assert {
            "_id",
            "username",
            "role",
            "regions",
            "token",
            "refreshToken",
            "expiresIn",
        } <= session.keys()
        assert session["role"] == "super_admin" and session["regions"] == []
        assert session["expiresIn"] == 10 * 3600  # a working day: the frontend never refreshes
        jwks = client.get("/.well-known/jwks.json").json()
        header = jwt.get_unverified_header(session["token"])
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        claims = jwt.decode(
            session["token"], jwt.PyJWK(key).key, algorithms=["EdDSA"], issuer="hazina-identity"
        )
        assert claims["sub"] == session["_id"]
        assert claims["role"] == "super_admin"
        assert {"exp", "iat", "jti", "regions"} <= claims.keys()
        assert claims["exp"] - claims["iat"] >= 10 * 3600

    def test_wrong_password_and_unknown_username_get_the_same_answer(
        self, h: Any, client: TestClient
    ) -> None:
        wrong = client.post(
            "/api/auth/login", json={"username": h.ADMIN_USERNAME, "password": "not-it-at-all"}
        )
        unknown = client.post(
            "/api/auth/login", json={"username": "nobody", "password": "not-it-at-all"}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert (
            wrong.json()
            == unknown.json()
            == {"message": "Invalid username or password", "code": "invalid_credentials"}
        )

    def test_username_is_not_case_sensitive(self, h: Any, client: TestClient) -> None:
        assert h.login(client, "SuperAdmin", h.ADMIN_PASSWORD)["username"] == "superadmin"

    def test_me_returns_the_signed_in_user(
        self, h: Any, client: TestClient, admin: dict[str, str]
    ) -> None:
        me = client.get("/api/auth/me", headers=admin)
        assert me.status_code == 200
        assert me.json()["username"] == "superadmin"
        assert "password" not in me.text and "argon2" not in me.text


class TestRefresh:
    def test_rotates_the_refresh_token(self, h: Any, client: TestClient) -> None:
        first = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)
        second = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
        assert second.status_code == 200
        assert second.json()["refreshToken"] != first["refreshToken"]
        third = client.post(
            "/api/auth/refresh", json={"refreshToken": second.json()["refreshToken"]}
        )
        assert third.status_code == 200

    def test_reusing_an_old_refresh_token_revokes_the_whole_family(
        self, h: Any, client: TestClient
    ) -> None:
        first = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)
        rotated = client.post(
            "/api/auth/refresh", json={"refreshToken": first["refreshToken"]}
        ).json()
        reuse = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
        assert reuse.status_code == 401
        assert "already used" in reuse.json()["message"]
        # The thief's rotation and the owner's both die with the family.
        assert (
            client.post(
                "/api/auth/refresh", json={"refreshToken": rotated["refreshToken"]}
            ).status_code
            == 401
        )

    def test_other_sessions_survive_a_reuse_in_one_family(self, h: Any, client: TestClient) -> None:
        laptop = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)
        phone = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)
        client.post("/api/auth/refresh", json={"refreshToken": laptop["refreshToken"]})
        client.post("/api/auth/refresh", json={"refreshToken": laptop["refreshToken"]})
        assert (
            client.post(
                "/api/auth/refresh", json={"refreshToken": phone["refreshToken"]}
            ).status_code
            == 200
        )

    def test_an_expired_refresh_token_is_refused(
        self, h: Any, client: TestClient, clock: Any
    ) -> None:
        session = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)
        clock.advance(days=8)
        assert (
            client.post(
                "/api/auth/refresh", json={"refreshToken": session["refreshToken"]}
            ).status_code
            == 401
        )

    def test_garbage_is_refused(self, h: Any, client: TestClient) -> None:
        response = client.post("/api/auth/refresh", json={"refreshToken": "garbage"})
        assert response.status_code == 401
        assert response.json()["message"] == "Invalid or expired refresh token"


class TestLogout:
    def test_revokes_the_refresh_token(self, h: Any, client: TestClient) -> None:
        session = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)
        out = client.post(
            "/api/auth/logout",
            json={"refreshToken": session["refreshToken"]},
            headers=h.bearer(session),
        )
        assert out.status_code == 200
        assert (
            client.post(
                "/api/auth/refresh", json={"refreshToken": session["refreshToken"]}
            ).status_code
            == 401
        )

    def test_without_a_token_in_the_body_ends_every_session(
        self, h: Any, client: TestClient
    ) -> None:
        one = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)
        two = h.login(client, h.ADMIN_USERNAME, h.ADMIN_PASSWORD)
        assert client.post("/api/auth/logout", headers=h.bearer(one)).status_code == 200
        assert (
            client.post("/api/auth/refresh", json={"refreshToken": two["refreshToken"]}).status_code
            == 401
        )

    def test_needs_a_token(self, h: Any, client: TestClient) -> None:
        assert client.post("/api/auth/logout").status_code == 401


class TestChangePassword:
    def test_wrong_current_password_is_a_400_not_a_logout(
        self, h: Any, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.put(
            "/api/auth/change-password",
            json={
                "currentPassword": "nope-nope-nope",
                "newPassword": "Brand-New-Pass-9",
                "confirmPassword": "Brand-New-Pass-9",
            },
            headers=admin,
        )
        assert response.status_code == 400
        assert response.json()["message"] == "Current password is incorrect"

    def test_confirmation_must_match(
        self, h: Any, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.put(
            "/api/auth/change-password",
            json={
                "currentPassword": h.ADMIN_PASSWORD,
                "newPassword": "Brand-New-Pass-9",
                "confirmPassword": "Other-Pass-99",
            },
            headers=admin,
        )
        assert response.status_code == 400

    def test_changes_the_password(self, h: Any, client: TestClient, admin: dict[str, str]) -> None:
        response = client.put(
            "/api/auth/change-password",
            json={
                "currentPassword": h.ADMIN_PASSWORD,
                "newPassword": "Brand-New-Pass-9",
                "confirmPassword": "Brand-New-Pass-9",
            },
            headers=admin,
        )
        assert response.status_code == 200
        assert (
            client.post(
                "/api/auth/login", json={"username": h.ADMIN_USERNAME, "password": h.ADMIN_PASSWORD}
            ).status_code
            == 401
        )
        assert h.login(client, h.ADMIN_USERNAME, "Brand-New-Pass-9")["username"] == h.ADMIN_USERNAME


class TestRoleChanges:
    def test_a_new_role_arrives_with_the_next_refresh(
        self, h: Any, client: TestClient, admin: dict[str, str]
    ) -> None:
        officer = h.create_user(client, admin, "wanjiku", "loan_officer")
        session = h.login(client, "wanjiku", "Officer-Pass-1")
        assert (
            jwt.decode(session["token"], options={"verify_signature": False})["role"]
            == "loan_officer"
        )
        changed = client.patch(
            f"/api/users/{officer['_id']}",
            json={"role": "approver_admin", "regions": ["Kisumu"]},
            headers=admin,
        )
        assert changed.status_code == 200 and changed.json()["role"] == "approver_admin"
        refreshed = client.post(
            "/api/auth/refresh", json={"refreshToken": session["refreshToken"]}
        ).json()
        claims = jwt.decode(refreshed["token"], options={"verify_signature": False})
        assert claims["role"] == "approver_admin" and claims["regions"] == ["Kisumu"]
        assert refreshed["role"] == "approver_admin"

    def test_deactivation_stops_refresh_at_once_and_login(
        self, h: Any, client: TestClient, admin: dict[str, str]
    ) -> None:
        officer = h.create_user(client, admin, "otieno", "loan_officer")
        session = h.login(client, "otieno", "Officer-Pass-1")
        assert (
            client.patch(
                f"/api/users/{officer['_id']}", json={"active": False}, headers=admin
            ).json()["active"]
            is False
        )
        assert (
            client.post(
                "/api/auth/refresh", json={"refreshToken": session["refreshToken"]}
            ).status_code
            == 401
        )
        denied = client.post(
            "/api/auth/login", json={"username": "otieno", "password": "Officer-Pass-1"}
        )
        assert denied.status_code == 403
        assert "deactivated" in denied.json()["message"]
        assert (
            client.patch(
                f"/api/users/{officer['_id']}", json={"active": True}, headers=admin
            ).status_code
            == 200
        )
        assert h.login(client, "otieno", "Officer-Pass-1")["role"] == "loan_officer"
