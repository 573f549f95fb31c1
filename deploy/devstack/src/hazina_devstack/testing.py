"""The whole system started exactly as ``make run`` starts it, for tests: separate processes
behind the front door, on a database of its own, stopped on the way out."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hazina_devstack.stack import REPO_ROOT, free_port
from hazina_servicekit import infra
from hazina_servicekit.database import database_url_with_name, drop_database, ensure_database

ADMIN_PASSWORD = "E2e-Admin-Pass-1"  # noqa: S105  # pragma: allowlist secret

# Staff passwords in a test system are hashed at the cost identity's own tests use (argon2id,
# one pass over 8 MiB) instead of the production default (several passes over 64 MiB): every
# sign-in and new user pays it, on a machine running several systems at once. What is proven
# (argon2id, the policy, lockouts) is unchanged; production's default is not touched, and an
# IDENTITY_ARGON2_* already in the environment wins.
TEST_PASSWORD_HASHING = {"IDENTITY_ARGON2_TIME_COST": "1", "IDENTITY_ARGON2_MEMORY_KIB": "8192"}


class SystemStartError(RuntimeError):
    """The system printed no ``Hazina ready`` line in time; the message holds its last output."""


@dataclass
class RunningSystem:
    url: str
    admin_username: str
    admin_password: str
    process: subprocess.Popen[str]
    output: list[str]
    state_dir: Path
    env: dict[str, str]  # what the services were started with (to start one more, as a restart)

    @property
    def nats_url(self) -> str:
        """The NATS the system's services use (read its streams here)."""
        return self.env["NATS_URL"]


@contextlib.contextmanager
def started_system(
    pg_server_url: str, nats_server_url: str, state_dir: Path
) -> Iterator[RunningSystem]:
    """The whole system as ``make run`` starts it, on its own database, stopped on the way out."""
    dbname = f"e2e_{uuid.uuid4().hex[:12]}"
    ensure_database(pg_server_url, dbname)
    port = free_port()
    env = {
        **TEST_PASSWORD_HASHING,
        **os.environ,
        "DATABASE_URL": database_url_with_name(pg_server_url, dbname),
        "NATS_URL": nats_server_url,
        "HAZINA_PORT": str(port),
        "HAZINA_STATE_DIR": str(state_dir),
        "SEED_SUPERADMIN_PASSWORD": ADMIN_PASSWORD,
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hazina_devstack", "run", "--free-ports"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        if process.stdout is None:
            return
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 120
    ready = None
    while ready is None and time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line.startswith("Hazina ready:") or line.startswith("Hazina failed"):
            ready = line
    if ready is None or not ready.startswith("Hazina ready:"):
        process.kill()
        drop_database(pg_server_url, dbname)
        raise SystemStartError("system did not start:\n" + "".join(output[-80:]))
    try:
        yield RunningSystem(
            url=f"http://127.0.0.1:{port}",
            admin_username="superadmin",
            admin_password=ADMIN_PASSWORD,
            process=process,
            output=output,
            state_dir=state_dir,
            env=env,
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        if process.stdout is not None:
            process.stdout.close()
        drop_database(pg_server_url, dbname)


@contextlib.contextmanager
def started_system_alone(pg_server_url: str, state_dir: Path) -> Iterator[RunningSystem]:
    """:func:`started_system` with a NATS server of its own, stopped after it.

    A system that outlives one test module (shared by several) must not share its JetStream
    with other tests: the ``nats_url`` fixture deletes every stream before each test that asks
    for it. With its own NATS, nothing outside the system touches its streams.
    """
    nats_server = infra.start_nats(state_dir / "nats")
    try:
        with started_system(pg_server_url, nats_server.url, state_dir) as running:
            yield running
    finally:
        nats_server.stop()
