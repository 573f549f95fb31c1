"""An unhandled exception is a 500 in the error model, and the connection it came on stays usable.

Behind the front door a closed upstream connection is a 502 for whoever's request Caddy sends
on it next, so these tests talk to a real uvicorn over one kept-alive connection.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import BackgroundTasks, FastAPI

from hazina_servicekit.errors import add_error_handlers
from hazina_servicekit.http import add_http_middleware
from hazina_servicekit.runtime import server_config

ORIGIN = "http://localhost:3000"


def _app() -> FastAPI:
    app = FastAPI()
    add_http_middleware(app, cors_origins=[ORIGIN], max_body_bytes=10_000)
    add_error_handlers(app)

    @app.post("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("a bug, not bad input")

    def fail_later() -> None:
        raise RuntimeError("a bug after the answer went out")

    @app.post("/answer-then-boom")
    async def answer_then_boom(tasks: BackgroundTasks) -> dict[str, str]:
        tasks.add_task(fail_later)
        return {"status": "accepted"}

    @app.post("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(server_config(_app(), port=sock.getsockname()[1]))
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


def _post(conn: http.client.HTTPConnection, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response, response.read()


def test_the_request_after_a_500_is_answered_on_the_same_connection(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for _ in range(3):
            failed, body = _post(conn, "/boom")
            assert failed.status == 500
            assert json.loads(body) == {
                "message": "Internal server error",
                "code": "internal_error",
            }
            assert failed.getheader("connection") != "close"
            used = conn.sock
            answered, body = _post(conn, "/ok")
            assert conn.sock is used, "the client had to open a new connection"
            assert answered.status == 200
            assert json.loads(body) == {"status": "ok"}
    finally:
        conn.close()


def test_a_failure_after_the_answer_went_out_keeps_the_connection(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        first, _ = _post(conn, "/answer-then-boom")
        assert first.status == 200
        used = conn.sock
        answered, _ = _post(conn, "/ok")
        assert conn.sock is used
        assert answered.status == 200
    finally:
        conn.close()


def test_a_500_carries_cors_and_the_correlation_id_and_no_server_banner(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "POST",
            "/boom",
            body=b"{}",
            headers={"Origin": ORIGIN, "X-Correlation-Id": "trace-500"},
        )
        response = conn.getresponse()
        response.read()
        assert response.status == 500
        assert response.getheader("access-control-allow-origin") == ORIGIN
        assert response.getheader("x-correlation-id") == "trace-500"
        assert response.getheader("server") is None
    finally:
        conn.close()
