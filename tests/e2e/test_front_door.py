"""Through the front door, as a staff frontend sees Hazina: sign in, tokens, errors, CORS."""

from __future__ import annotations

import httpx
import pytest

from hazina_devstack.testing import RunningSystem

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def system(system_of_its_own: RunningSystem) -> RunningSystem:
    """A system of this module's own: its last test locks 127.0.0.1 out of signing in."""
    return system_of_its_own


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


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "frame-ancestors 'none'",
    "x-frame-options": "DENY",
}


def _assert_front_door_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "server" not in response.headers, response.headers["server"]
    assert "strict-transport-security" not in response.headers  # plain HTTP here


def test_security_headers_on_api_and_token_answers(system) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=system.url, timeout=10) as client:
        login = client.post(
            "/api/auth/login",
            json={"username": system.admin_username, "password": system.admin_password},
        )
        assert login.status_code == 200
        assert login.json()["token"]
        _assert_front_door_headers(login)
        assert login.headers["cache-control"] == "no-store"
        bearer = {"Authorization": f"Bearer {login.json()['token']}"}
        for response in (
            client.get("/api/auth/me", headers=bearer),
            client.get("/api/loans", headers=bearer),
            client.get("/api/payments/disbursements", headers=bearer),
            client.get("/api/ledger/accounts", headers=bearer),
            client.get("/api/loans"),  # a 401 too
        ):
            _assert_front_door_headers(response)
            assert response.headers["cache-control"] == "no-store", response.request.url
        keys = client.get("/.well-known/jwks.json")  # public keys: the one cacheable answer
        _assert_front_door_headers(keys)
        assert keys.headers["cache-control"] == "public, max-age=300"


def test_an_unrouted_path_answers_a_browser_at_the_staff_origin(system) -> None:  # type: ignore[no-untyped-def]
    origin = "http://localhost:3000"  # in make run's default HAZINA_CORS_ORIGINS
    with httpx.Client(base_url=system.url, timeout=10) as client:
        missing = client.get("/api/no-such-service/thing", headers={"Origin": origin})
        assert missing.status_code == 404
        assert missing.json() == {"message": "Not found", "code": "not_found"}
        assert missing.headers["access-control-allow-origin"] == origin
        _assert_front_door_headers(missing)
        preflight = client.options(
            "/api/no-such-service/thing",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == origin
        stranger = client.get(
            "/api/no-such-service/thing", headers={"Origin": "https://evil.example"}
        )
        assert stranger.status_code == 404
        assert "access-control-allow-origin" not in stranger.headers


def test_every_service_documents_its_api_through_the_front_door(system) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=system.url, timeout=10) as client:
        for service in ("identity", "origination", "ledger", "payments"):
            response = client.get(f"/api/{service}/openapi.json")
            assert response.status_code == 200, service
            document = response.json()
            operations = [op for item in document["paths"].values() for op in item.values()]
            assert operations, service
            for operation in operations:
                assert "422" not in operation["responses"], (service, operation["operationId"])
            validated = [op for op in operations if "400" in op["responses"]]
            assert validated, f"{service} declares no 400"
            assert "HTTPValidationError" not in document["components"]["schemas"]


# Last in this module: it locks 127.0.0.1 out of signing in.
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
