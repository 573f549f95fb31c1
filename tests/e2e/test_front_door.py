"""Through the front door, as a staff frontend sees Hazina: sign in, tokens, errors, CORS."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_the_seeded_admin_signs_in_through_the_front_door(system) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=system.url, timeout=10) as client:
        login = client.post(
            "/api/auth/login",
            json={"username": system.admin_username, "password": system.admin_password},
        )
        assert login.status_code == 200, login.text
        body = login.json()
        assert body["role"] == "super_admin"
        me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
        assert me.json()["username"] == "superadmin"
        assert client.get("/.well-known/jwks.json").json()["keys"]
        assert client.get("/api/health").json()["status"] == "OK"
        assert client.get("/api/identity/ready").json()["checks"] == {
            "postgres": "ok",
            "nats": "ok",
        }


def test_errors_are_json_through_the_front_door(system) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=system.url, timeout=10) as client:
        wrong = client.post(
            "/api/auth/login", json={"username": "superadmin", "password": "wrong-password"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["message"] == "Invalid username or password"
        nowhere = client.get("/api/no-such-service/thing")
        assert nowhere.status_code == 404
        assert nowhere.json()["message"] == "Not found"


def test_cors_preflight_through_the_front_door(system) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=system.url, timeout=10) as client:
        response = client.options(
            "/api/auth/login",
            headers={
                "Origin": "http://localhost:3000",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_the_client_address_behind_the_front_door_is_the_callers(system) -> None:  # type: ignore[no-untyped-def]
    """Lockout counts per client address: Caddy's X-Forwarded-For must reach identity, not 127.0.0.1 for all."""
    admin = {"username": "superadmin", "password": system.admin_password}
    with httpx.Client(base_url=system.url, timeout=10) as client:
        # Signing in from here makes 127.0.0.1 the admin's familiar address.
        assert client.post("/api/auth/login", json=admin).status_code == 200
        for _ in range(5):
            client.post(
                "/api/auth/login",
                json={"username": "superadmin", "password": "nope-nope-nope"},
                headers={"X-Forwarded-For": "203.0.113.9"},
            )
        # Caddy does not trust a client's own X-Forwarded-For: every caller here is 127.0.0.1, so
        # the failures locked (superadmin, 127.0.0.1). Had the spoofed address been believed,
        # they would have counted against 203.0.113.9 and the admin would sign in here.
        locked = client.post("/api/auth/login", json=admin)
        assert locked.status_code == 429
        assert int(locked.headers["Retry-After"]) > 0
