"""The whole system started exactly as ``make run`` starts it: separate processes behind Caddy."""

from __future__ import annotations

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

import pytest

from hazina_devstack.stack import free_port
from hazina_servicekit.database import database_url_with_name, drop_database, ensure_database

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "E2e-Admin-Pass-1"


@dataclass
class RunningSystem:
    url: str
    admin_username: str
    admin_password: str
    process: subprocess.Popen[str]
    output: list[str]
    state_dir: Path
    env: dict[str, str]  # what the services were started with (to start one more, as a restart)


@pytest.fixture(scope="module")
def system(
    pg_server_url: str, nats_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    dbname = f"e2e_{uuid.uuid4().hex[:12]}"
    ensure_database(pg_server_url, dbname)
    port = free_port()
    state_dir = tmp_path_factory.mktemp("devstack")
    env = {
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
        assert process.stdout is not None
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
        pytest.fail("system did not start:\n" + "".join(output[-80:]))
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
