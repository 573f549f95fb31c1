"""User management by the super admin: roles, validation, duplicates, and who may do it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

NON_SUPER_ADMIN_ROLES = ["initiator_admin", "approver_admin", "loan_officer"]
USER_ROUTES = [
    (
        "POST",
        "/api/users",
        {"username": "newbie", "password": "Newbie-Pass-1", "role": "loan_officer"},
    ),
    ("GET", "/api/users", None),
    ("PATCH", "/api/users/{id}", {"role": "approver_admin"}),
    ("POST", "/api/users/{id}/reset-password", {"newPassword": "Reset-Pass-123"}),
    ("POST", "/api/users/{id}/unlock", None),
]


class TestUserManagement:
    def test_creates_lists_and_searches_users(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        created = h.create_user(
            client,
            admin,
            "Achieng",
            "loan_officer",
            name="Achieng Odhiambo",
            nationalId="12345678",
            phone="254712345678",
        )
        assert created["username"] == "achieng" and created["role"] == "loan_officer"
        assert created["regions"] == ["Nairobi"] and created["active"] is True
        assert "password" not in created and "passwordHash" not in created
        h.create_user(client, admin, "kamau", "initiator_admin")
        listing = client.get("/api/users", headers=admin)
        assert listing.status_code == 200
        assert isinstance(listing.json(), list)
        assert listing.headers["X-Total-Count"] == "3"
        page = client.get("/api/users?page=2&limit=2", headers=admin)
        assert len(page.json()) == 1 and page.headers["X-Total-Count"] == "3"
        found = client.get("/api/users?search=odhiambo", headers=admin).json()
        assert [u["username"] for u in found] == ["achieng"]
        assert (
            client.get(f"/api/users/{created['_id']}", headers=admin).json()["name"]
            == "Achieng Odhiambo"
        )

    def test_a_duplicate_username_is_a_conflict(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        h.create_user(client, admin, "mwangi", "loan_officer")
        again = client.post(
            "/api/users",
            json={"username": "MWANGI", "password": "Another-Pass-1", "role": "loan_officer"},
            headers=admin,
        )
        assert again.status_code == 409
        assert "already exists" in again.json()["message"]

    def test_reset_password_generates_one_and_ends_sessions(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        user = h.create_user(client, admin, "njeri", "loan_officer")
        session = h.login(client, "njeri", "Officer-Pass-1")
        reset = client.post(f"/api/users/{user['_id']}/reset-password", headers=admin)
        assert reset.status_code == 200
        temporary = reset.json()["temporaryPassword"]
        assert (
            client.post(
                "/api/auth/refresh", json={"refreshToken": session["refreshToken"]}
            ).status_code
            == 401
        )
        assert h.login(client, "njeri", temporary)["username"] == "njeri"

    def test_a_super_admin_cannot_lock_themselves_out(
        self, client: TestClient, admin: dict[str, str], h: Any
    ) -> None:
        me = client.get("/api/auth/me", headers=admin).json()
        demote = client.patch(
            f"/api/users/{me['_id']}", json={"role": "loan_officer"}, headers=admin
        )
        deactivate = client.patch(f"/api/users/{me['_id']}", json={"active": False}, headers=admin)
        assert demote.status_code == deactivate.status_code == 409

    def test_unknown_user_is_404(self, client: TestClient, admin: dict[str, str]) -> None:
        response = client.get("/api/users/5f0c7e2a-1111-4a4a-9999-000000000000", headers=admin)
        assert response.status_code == 404
        assert response.json()["message"] == "User not found"


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "fragment"),
        [
            ({"password": "Long-Enough-1", "role": "loan_officer"}, "username is required"),
            ({"username": "ok_name", "role": "loan_officer"}, "password is required"),
            (
                {"username": "ok_name", "password": "Long-Enough-1", "role": "teller"},
                "Unknown role 'teller'",
            ),
            (
                {"username": "ok_name", "password": "short", "role": "loan_officer"},
                "at least 10 characters",
            ),
            (
                {"username": "ok_name_1", "password": "OK_NAME_1", "role": "loan_officer"},
                "at least 10",
            ),
            (
                {"username": "ok_name_12", "password": "OK_NAME_12", "role": "loan_officer"},
                "must not be the username",
            ),
            (
                {
                    "username": "ok_name",
                    "password": "Long-Enough-1",
                    "role": "loan_officer",
                    "regions": "Nairobi",
                },
                "regions",
            ),
            ({"username": 12345, "password": "Long-Enough-1", "role": "loan_officer"}, "username"),
            (
                {"username": "bad name!", "password": "Long-Enough-1", "role": "loan_officer"},
                "username",
            ),
            (
                {
                    "username": "ok_name",
                    "password": "Long-Enough-1",
                    "role": "loan_officer",
                    "isAdmin": True,
                },
                "isAdmin is not an accepted field",
            ),
        ],
    )
    def test_is_a_400_with_a_message_and_writes_nothing(
        self, client: TestClient, admin: dict[str, str], body: dict[str, Any], fragment: str
    ) -> None:
        response = client.post("/api/users", json=body, headers=admin)
        assert response.status_code == 400, response.text
        assert fragment in response.json()["message"]
        assert client.get("/api/users", headers=admin).headers["X-Total-Count"] == "1"

    def test_malformed_json_is_a_400(self, client: TestClient, admin: dict[str, str]) -> None:
        response = client.post(
            "/api/users",
            content=b"{not json",
            headers={**admin, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["message"] == "request body is not valid JSON"

    def test_a_huge_body_is_refused_before_it_is_read(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/users",
            content=b"x" * (2 * 1024 * 1024),
            headers={**admin, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["code"] == "payload_too_large"
        assert "larger than" in response.json()["message"]

    def test_a_bad_id_is_a_400_not_a_500(self, client: TestClient, admin: dict[str, str]) -> None:
        response = client.get("/api/users/not-a-uuid", headers=admin)
        assert response.status_code == 400
        assert "user_id" in response.json()["message"]

    def test_login_errors_are_json(self, client: TestClient) -> None:
        response = client.post("/api/auth/login", json={"username": "x"})
        assert response.status_code == 400
        assert response.json()["message"] == "password is required"


class TestOnlyTheSuperAdminManagesUsers:
    @pytest.mark.parametrize("role", NON_SUPER_ADMIN_ROLES)
    @pytest.mark.parametrize(("method", "path", "body"), USER_ROUTES)
    def test_other_roles_are_forbidden(
        self,
        client: TestClient,
        admin: dict[str, str],
        h: Any,
        role: str,
        method: str,
        path: str,
        body: Any,
    ) -> None:
        target = h.create_user(client, admin, "target_user", "loan_officer")
        h.create_user(client, admin, f"as_{role}", role)
        headers = h.bearer(h.login(client, f"as_{role}", "Officer-Pass-1"))
        response = client.request(method, path.format(id=target["_id"]), json=body, headers=headers)
        assert response.status_code == 403
        assert response.json()["message"] == "Your role may not do this"
        assert (
            client.get(f"/api/users/{target['_id']}", headers=admin).json()["role"]
            == "loan_officer"
        )

    @pytest.mark.parametrize(("method", "path", "body"), USER_ROUTES)
    def test_anonymous_callers_are_unauthorised(
        self, client: TestClient, method: str, path: str, body: Any
    ) -> None:
        response = client.request(
            method, path.format(id="5f0c7e2a-1111-4a4a-9999-000000000000"), json=body
        )
        assert response.status_code == 401


class TestHttpBasics:
    def test_cors_preflight_allows_the_staff_frontend(self, client: TestClient) -> None:
        response = client.options(
            "/api/users",
            headers={
                "Origin": "http://localhost:3000",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Authorization, Content-Type",
            },
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "authorization" in response.headers["access-control-allow-headers"].lower()

    def test_cors_refuses_other_origins(self, client: TestClient) -> None:
        response = client.options(
            "/api/users",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in response.headers

    def test_health_in_the_seed_shape(self, client: TestClient) -> None:
        for path in ("/api/health", "/api/identity/health"):
            body = client.get(path).json()
            assert body["status"] == "OK" and body["service"] == "identity" and "timestamp" in body

    def test_readiness_fails_while_nats_is_unreachable(self, client: TestClient) -> None:
        # The test app runs no workers, so it never connects to NATS: exactly the outage case.
        response = client.get("/api/identity/ready")
        assert response.status_code == 503
        assert response.json()["checks"] == {"postgres": "ok", "nats": "failing"}

    def test_correlation_id_is_echoed(self, client: TestClient) -> None:
        response = client.get("/api/health", headers={"X-Correlation-Id": "abc-123"})
        assert response.headers["x-correlation-id"] == "abc-123"

    def test_unknown_route_is_json(self, client: TestClient) -> None:
        response = client.get("/api/nothing-here")
        assert response.status_code == 404
        assert response.json()["message"] == "Not found"


class TestPublishedEvents:
    def test_user_events_reach_the_identity_stream_without_secrets(
        self, client: TestClient, admin: dict[str, str], h: Any, container: Any, nats_url: str
    ) -> None:
        import asyncio

        import nats

        from hazina_contracts.envelope import EventEnvelope
        from hazina_identity.adapters.contract_mapping import to_contract
        from hazina_servicekit.messaging import ensure_all_streams
        from hazina_servicekit.outbox import OutboxRelay

        user = h.create_user(client, admin, "wafula", "loan_officer")
        client.patch(f"/api/users/{user['_id']}", json={"role": "initiator_admin"}, headers=admin)
        client.post(
            f"/api/users/{user['_id']}/reset-password",
            json={"newPassword": "Reset-Pass-123"},
            headers=admin,
        )

        async def relay_and_read() -> list[tuple[str, bytes]]:
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
            out = []
            for seq in range(1, info.state.last_seq + 1):
                msg = await js.get_msg("IDENTITY", seq)
                out.append((msg.subject, msg.data))
            await nc.close()
            return out

        messages = asyncio.run(relay_and_read())
        subjects = [subject for subject, _ in messages]
        assert subjects[0] == "identity.user.created"  # the seeded super admin
        assert {
            "identity.user.login_succeeded",
            "identity.user.role_changed",
            "identity.user.password_reset",
        } <= set(subjects)
        assert all(b"argon2" not in data and b"Reset-Pass" not in data for _, data in messages)
        role_changed = next(
            EventEnvelope.from_bytes(d) for s, d in messages if s == "identity.user.role_changed"
        )
        assert role_changed.data["role"] == "initiator_admin"
        assert role_changed.correlation_id  # carried from the HTTP request
