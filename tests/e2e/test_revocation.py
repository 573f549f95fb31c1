"""Revocation within seconds, in every service: the system as ``make run`` starts it, identity's
real events flowing over JetStream to origination, the ledger and the payments gateway.

For a deactivation, a demotion and a sign-out, the old access token is refused (401, saying why)
by every service within five seconds of the change, while an unaffected user's token keeps
working; reactivation does not revive the old token; a fact delivered twice changes nothing; a
service process started after the facts refuses the same tokens.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from hazina_contracts.envelope import EventEnvelope
from hazina_devstack.stack import REPO_ROOT, free_port

pytestmark = pytest.mark.e2e

# One read every staff role may make, in each service (its package and health name too).
SERVICES: dict[str, tuple[str, str]] = {
    "identity": ("hazina_identity", "/api/auth/me"),
    "origination": ("hazina_origination", "/api/groups"),
    "ledger": ("hazina_ledger", "/api/ledger/accounts"),
    "payments": ("hazina_payments_gateway", "/api/payments/disbursements"),
}
WITHIN_SECONDS = 5.0
WORKING_DAY_SECONDS = 10 * 3600
PASSWORD = "Staff-Pass-123"  # pragma: allowlist secret


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client: httpx.Client, username: str) -> dict[str, Any]:
    return dict(
        _ok(client.post("/api/auth/login", json={"username": username, "password": PASSWORD}))
    )


def _create(client: httpx.Client, admin: dict[str, str], role: str) -> tuple[str, str]:
    username = f"r{uuid.uuid4().hex[:10]}"
    body = {"username": username, "password": PASSWORD, "role": role, "regions": ["Nairobi"]}
    user = _ok(client.post("/api/users", json=body, headers=admin), 201)
    return username, str(user["_id"])


def _statuses(
    client: httpx.Client, token: str, base: dict[str, str] | None = None
) -> dict[str, int]:
    """Each service's answer to the token; ``base`` gives a service's own address (else the front door)."""
    out = {}
    for name, (_, path) in SERVICES.items():
        url = f"{base[name]}{path}" if base else path
        out[name] = client.get(url, headers=_bearer(token)).status_code
    return out


def _refused_everywhere_within(
    client: httpx.Client, token: str, since: float, reason: str
) -> dict[str, float]:
    """Poll every service until each refuses ``token``; how long after ``since`` each took."""
    took: dict[str, float] = {}
    deadline = since + WITHIN_SECONDS
    while len(took) < len(SERVICES):
        for name, (_, path) in SERVICES.items():
            if name in took:
                continue
            response = client.get(path, headers=_bearer(token))
            if response.status_code == 401:
                assert response.json()["message"] == (
                    f"Token has been revoked ({reason}); sign in again"
                ), (name, response.text)
                took[name] = time.monotonic() - since
        if len(took) < len(SERVICES):
            assert time.monotonic() < deadline, f"still accepted after {WITHIN_SECONDS}s: {took}"
            time.sleep(0.05)
    return took


@pytest.fixture
def client(system: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.url, timeout=30.0) as http:
        yield http


@pytest.fixture
def admin(client: httpx.Client, system: Any) -> dict[str, str]:
    body = _ok(
        client.post(
            "/api/auth/login",
            json={"username": system.admin_username, "password": system.admin_password},
        )
    )
    return _bearer(body["token"])


def test_a_deactivated_users_token_is_refused_everywhere_and_reactivation_does_not_revive_it(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    username, user_id = _create(client, admin, "approver_admin")
    old = _login(client, username)["token"]
    bystander, _ = _create(client, admin, "approver_admin")
    theirs = _login(client, bystander)["token"]
    assert _statuses(client, old) == dict.fromkeys(SERVICES, 200)

    since = time.monotonic()
    _ok(client.patch(f"/api/users/{user_id}", json={"active": False}, headers=admin))
    _refused_everywhere_within(client, old, since, "the account was deactivated")
    assert _statuses(client, theirs) == dict.fromkeys(SERVICES, 200)

    _ok(client.patch(f"/api/users/{user_id}", json={"active": True}, headers=admin))
    fresh = _login(client, username)["token"]
    assert _statuses(client, fresh) == dict.fromkeys(SERVICES, 200)
    assert _statuses(client, old) == dict.fromkeys(SERVICES, 401)


def test_a_demoted_super_admins_old_token_can_no_longer_create_users_anywhere(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    username, user_id = _create(client, admin, "super_admin")
    old = _login(client, username)["token"]
    _create(client, _bearer(old), "loan_officer")  # the power the old token had
    bystander, _ = _create(client, admin, "approver_admin")
    theirs = _login(client, bystander)["token"]

    since = time.monotonic()
    _ok(client.patch(f"/api/users/{user_id}", json={"role": "loan_officer"}, headers=admin))
    attempt = client.post(
        "/api/users",
        json={"username": f"m{uuid.uuid4().hex[:8]}", "password": PASSWORD, "role": "super_admin"},
        headers=_bearer(old),
    )
    assert attempt.status_code == 401, attempt.text  # identity refuses it at once
    _refused_everywhere_within(client, old, since, "the account's role, regions or branch changed")
    assert _statuses(client, theirs) == dict.fromkeys(SERVICES, 200)

    again = _login(client, username)
    assert again["role"] == "loan_officer"
    assert _statuses(client, again["token"]) == dict.fromkeys(SERVICES, 200)
    denied = client.post(
        "/api/users",
        json={"username": f"m{uuid.uuid4().hex[:8]}", "password": PASSWORD, "role": "super_admin"},
        headers=_bearer(again["token"]),
    )
    assert denied.status_code == 403


def test_a_signed_out_session_is_refused_everywhere_and_other_sessions_keep_working(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    username, _ = _create(client, admin, "approver_admin")
    phone, laptop = _login(client, username), _login(client, username)

    since = time.monotonic()
    _ok(
        client.post(
            "/api/auth/logout",
            json={"refreshToken": phone["refreshToken"]},
            headers=_bearer(phone["token"]),
        )
    )
    _refused_everywhere_within(client, phone["token"], since, "the session was signed out")
    assert _statuses(client, laptop["token"]) == dict.fromkeys(SERVICES, 200)


def _deactivation_of(nats_url: str, user_id: str) -> EventEnvelope:
    async def main() -> EventEnvelope:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info("IDENTITY")
            for seq in range(info.state.last_seq, 0, -1):
                msg = await js.get_msg("IDENTITY", seq)
                if msg.subject == "identity.user.deactivated":
                    envelope = EventEnvelope.from_bytes(msg.data or b"")
                    if envelope.data["user_id"] == user_id:
                        return envelope
            raise AssertionError("the deactivation is not on the IDENTITY stream")
        finally:
            await nc.close()

    return asyncio.run(main())


def _publish_again(nats_url: str, envelope: EventEnvelope) -> None:
    async def main() -> None:
        nc = await nats.connect(nats_url)
        try:  # another message id: JetStream would drop an exact duplicate before delivery
            await nc.jetstream().publish(
                envelope.subject, envelope.to_bytes(), headers={"Nats-Msg-Id": str(uuid.uuid4())}
            )
        finally:
            await nc.close()

    asyncio.run(main())


def test_a_fact_delivered_twice_changes_nothing(
    system: Any, client: httpx.Client, admin: dict[str, str]
) -> None:
    username, user_id = _create(client, admin, "approver_admin")
    old = _login(client, username)["token"]
    since = time.monotonic()
    _ok(client.patch(f"/api/users/{user_id}", json={"active": False}, headers=admin))
    _refused_everywhere_within(client, old, since, "the account was deactivated")
    _ok(client.patch(f"/api/users/{user_id}", json={"active": True}, headers=admin))
    fresh = _login(client, username)["token"]

    _publish_again(system.nats_url, _deactivation_of(system.nats_url, user_id))
    # A later fact, to know every service has read past the duplicate (the feed is in order).
    marker, _ = _create(client, admin, "approver_admin")
    marked = _login(client, marker)
    since = time.monotonic()
    _ok(client.post("/api/auth/logout", headers=_bearer(marked["token"])))
    _refused_everywhere_within(
        client, marked["token"], since, "the user signed out of every session"
    )

    assert _statuses(client, fresh) == dict.fromkeys(SERVICES, 200)
    assert _statuses(client, old) == dict.fromkeys(SERVICES, 401)


def _start(system: Any, package: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **system.env,
        "HAZINA_JWKS_URL": f"{system.url}/.well-known/jwks.json",
        "HAZINA_RAILS": "simulated",
        "LOG_LEVEL": "WARNING",
    }
    if (
        package != "hazina_identity"
    ):  # identity judges from its tables; its readiness needs its relay
        env["HAZINA_RUN_WORKERS"] = "false"  # the deny state must not depend on the workers
    with log.open("wb") as output:  # the child keeps its own handle
        return subprocess.Popen(
            [sys.executable, "-m", package, "api", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def test_a_service_started_after_the_revocations_still_refuses_the_tokens(
    system: Any, client: httpx.Client, admin: dict[str, str], tmp_path: Path
) -> None:
    deactivated, deactivated_id = _create(client, admin, "approver_admin")
    gone = _login(client, deactivated)["token"]
    demoted, demoted_id = _create(client, admin, "super_admin")
    old_role = _login(client, demoted)["token"]
    leaving, _ = _create(client, admin, "approver_admin")
    left = _login(client, leaving)
    bystander, _ = _create(client, admin, "approver_admin")
    since = time.monotonic()
    _ok(client.patch(f"/api/users/{deactivated_id}", json={"active": False}, headers=admin))
    _ok(client.patch(f"/api/users/{demoted_id}", json={"role": "loan_officer"}, headers=admin))
    _ok(
        client.post(
            "/api/auth/logout",
            json={"refreshToken": left["refreshToken"]},
            headers=_bearer(left["token"]),
        )
    )
    _refused_everywhere_within(client, left["token"], since, "the session was signed out")

    ports = {name: free_port() for name in SERVICES}
    logs = {name: tmp_path / f"{name}.log" for name in SERVICES}
    processes = [
        _start(system, SERVICES[name][0], port, logs[name]) for name, port in ports.items()
    ]
    try:
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        deadline = time.monotonic() + 120
        pending = set(SERVICES)
        while pending:
            for name in sorted(pending):
                try:
                    if client.get(f"{base[name]}/api/{name}/ready").status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            for name, process in zip(SERVICES, processes, strict=True):
                assert process.poll() is None, f"{name} exited:\n{logs[name].read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not ready: {pending}"
            time.sleep(0.2)
        refused = dict.fromkeys(SERVICES, 401)
        assert _statuses(client, gone, base) == refused
        assert _statuses(client, old_role, base) == refused
        assert _statuses(client, left["token"], base) == refused
        fresh = _login(client, bystander)["token"]
        assert _statuses(client, fresh, base) == dict.fromkeys(SERVICES, 200)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _lifetime(token: str) -> int:
    """``exp - iat`` of an access token (its payload read without checking: identity signed it)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return int(claims["exp"]) - int(claims["iat"])


def test_a_working_day_token_is_accepted_everywhere_until_the_admin_is_deleted(
    client: httpx.Client, admin: dict[str, str]
) -> None:
    """The staff frontend never refreshes: a sign-in must last a working day in every service,
    and deleting the admin on the create-admin page must end it everywhere within seconds."""
    id_number = str(uuid.uuid4().int)[:8]
    made = _ok(
        client.post(
            "/api/admins",
            json={
                "name": "Day Long",
                "idNumber": id_number,
                "role": "approver_admin",
                "password": PASSWORD,
            },
            headers=admin,
        ),
        201,
    )
    session = _ok(
        client.post("/api/auth/login", json={"username": id_number, "password": PASSWORD})
    )
    token = session["token"]
    assert _lifetime(token) >= WORKING_DAY_SECONDS
    assert session["expiresIn"] >= WORKING_DAY_SECONDS
    # Every service's verifier accepts a token of that lifetime (none refuses it as too long).
    assert _statuses(client, token) == dict.fromkeys(SERVICES, 200)
    bystander, _ = _create(client, admin, "approver_admin")
    theirs = _login(client, bystander)["token"]

    since = time.monotonic()
    _ok(client.delete(f"/api/admins/{made['_id']}", headers=admin))
    _refused_everywhere_within(client, token, since, "the account was deactivated")
    assert _statuses(client, theirs) == dict.fromkeys(SERVICES, 200)
