"""What the simulators share: ids in the rails' formats, error envelopes, outcome queues, serving."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import string
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

EAT = timezone(timedelta(hours=3), "EAT")
_ALNUM = string.ascii_uppercase + string.digits


def now_eat() -> datetime:
    return datetime.now(UTC).astimezone(EAT)


def mpesa_receipt(at: datetime | None = None) -> str:
    """Ten upper-case alphanumerics; the first letter advances yearly (2024 'S'), the second is the month."""
    at = at or now_eat()
    year_letter = chr(ord("A") + (at.year - 2006) % 26)
    month_letter = chr(ord("A") + at.month - 1)
    return year_letter + month_letter + "".join(secrets.choice(_ALNUM) for _ in range(8))


def conversation_id(at: datetime | None = None) -> str:
    at = at or now_eat()
    return f"AG_{at:%Y%m%d}_{secrets.token_hex(10)}"


def daraja_error(status: int, code: str, message: str) -> JSONResponse:
    """Daraja's gateway error envelope (used for every non-business failure)."""
    return JSONResponse(
        {
            "requestId": f"{secrets.randbelow(99999)}-{secrets.randbelow(9999999)}-1",
            "errorCode": code,
            "errorMessage": message,
        },
        status_code=status,
    )


@dataclass
class Outcome:
    name: str
    delay_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class OutcomeQueue:
    """Outcomes chosen for the next N requests of one kind (``POST /_control/<kind>``); then the default."""

    def __init__(self, allowed: set[str], default: str = "success") -> None:
        self.allowed = allowed
        self.default = default
        self._queue: deque[Outcome] = deque()
        self._lock = threading.Lock()

    def push(
        self, name: str, count: int, delay_seconds: float | None, extra: dict[str, Any]
    ) -> None:
        if name not in self.allowed:
            raise ValueError(f"unknown outcome '{name}'; one of {sorted(self.allowed)}")
        with self._lock:
            for _ in range(count):
                self._queue.append(Outcome(name, delay_seconds, dict(extra)))

    def pop(self) -> Outcome:
        with self._lock:
            return self._queue.popleft() if self._queue else Outcome(self.default)

    def pending(self) -> list[str]:
        with self._lock:
            return [o.name for o in self._queue]

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reserve_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening address chosen now, served later (so a URL can be known before the app is built)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


def start_in_thread(app: FastAPI, *, sock: socket.socket | None = None) -> RunningServer:
    """Serve ``app`` with uvicorn on a background thread (tests and benchmarks); returns once it listens."""
    sock = sock or reserve_socket()
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.005)
    return RunningServer(url=socket_url(sock), server=server, thread=thread)


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[RunningServer]:
    running = start_in_thread(app)
    try:
        yield running
    finally:
        running.stop()


class BackgroundTasks:
    """Fire-and-forget coroutines that are still awaited (or cancelled) when the app stops."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
