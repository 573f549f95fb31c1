"""Starting the whole system on one machine: PostgreSQL, NATS, every service, and the front door."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from hazina_devstack import rails, registry, running
from hazina_servicekit import infra
from hazina_servicekit.database import database_url_with_name, ensure_database

REPO_ROOT = Path(__file__).resolve().parents[4]
SERVICES_FILE = REPO_ROOT / "deploy" / "services.toml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Infrastructure:
    """PostgreSQL and NATS: the given ones, or embedded ones this process started and will stop."""

    database_url: str
    nats_url: str
    owned: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for server in reversed(self.owned):
            try:
                server.stop()
            except Exception as exc:
                sys.stderr.write(f"stopping {type(server).__name__}: {exc}\n")
        self.owned.clear()


def start_infrastructure(
    state_dir: Path, *, throwaway: bool, database: str = "hazina"
) -> Infrastructure:
    owned: list[Any] = []
    try:
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            pg = infra.start_postgres(state_dir / "pg" / "data", throwaway=throwaway)
            owned.append(pg)
            ensure_database(pg.url, database)
            database_url = database_url_with_name(pg.url, database)
        nats_url = os.environ.get("NATS_URL")
        if not nats_url:
            # A throwaway run (make test, the benches) starts on empty streams, as on empty tables.
            nats_server = infra.start_nats(state_dir / "nats", fresh=throwaway)
            owned.append(nats_server)
            nats_url = nats_server.url
    except BaseException:
        for server in reversed(owned):
            server.stop()
        raise
    asyncio.run(_ensure_streams(nats_url))
    return Infrastructure(database_url=database_url, nats_url=nats_url, owned=owned)


async def _ensure_streams(nats_url: str) -> None:
    import nats

    from hazina_servicekit.messaging import ensure_all_streams

    nc = await nats.connect(nats_url, connect_timeout=10)
    try:
        await ensure_all_streams(nc.jetstream())
    finally:
        await nc.close()


class _Tee:
    """Process output to the terminal and to the log file at once."""

    def __init__(self, *streams: IO[str]) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return False


@dataclass
class Plan:
    entries: list[registry.ServiceEntry]
    ports: dict[str, int]
    front_door_port: int

    @property
    def url(self) -> str:
        return f"http://localhost:{self.front_door_port}"


def plan(*, free_ports: bool, front_door_port: int) -> Plan:
    environ = dict(os.environ)
    environ.setdefault("HAZINA_RAILS", "simulated")
    entries = [e for e in registry.load(SERVICES_FILE) if e.implemented() and e.enabled(environ)]
    ports = {e.name: (free_port() if free_ports else e.port) for e in entries}
    return Plan(entries=entries, ports=ports, front_door_port=front_door_port)


def service_environment(plan_: Plan, infra_: Infrastructure, state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HAZINA_RAILS", "simulated")
    env.update(
        {
            "DATABASE_URL": infra_.database_url,
            "NATS_URL": infra_.nats_url,
            "HAZINA_PORT": str(plan_.front_door_port),
            "HAZINA_PUBLIC_URL": f"http://127.0.0.1:{plan_.front_door_port}",
            "HAZINA_JWKS_URL": f"http://127.0.0.1:{plan_.ports.get('identity', 8101)}/.well-known/jwks.json",
            "HAZINA_STATE_DIR": str(state_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("HAZINA_CORS_ORIGINS", "http://localhost:3000,http://127.0.0.1:3000")
    env.setdefault("SEED_SUPERADMIN_PASSWORD_FILE", str(state_dir / "superadmin-password.txt"))
    for entry in plan_.entries:
        env[entry.upstream_variable] = f"127.0.0.1:{plan_.ports[entry.name]}"
        env[f"{entry.name.upper().replace('-', '_')}_PORT"] = str(plan_.ports[entry.name])
    env.update(rails.simulated_rails(env))
    return env


def wait_until_ready(plan_: Plan, timeout: float = 120.0) -> list[str]:
    """Poll every service's readiness through the front door; returns the ones still failing."""
    pending = {e.name for e in plan_.entries if e.has_health}
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=3.0) as client:
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                try:
                    response = client.get(
                        f"http://127.0.0.1:{plan_.front_door_port}/api/{name}/ready"
                    )
                    if response.status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            if pending:
                time.sleep(0.3)
    return sorted(pending)


def run(
    *, throwaway: bool = False, free_ports: bool = False, front_door_port: int | None = None
) -> int:
    """``make run``: everything up, one ``Hazina ready:`` line, Ctrl-C stops it all."""
    from honcho.manager import Manager
    from honcho.printer import Printer

    state_dir = Path(os.environ.get("HAZINA_STATE_DIR", REPO_ROOT / ".devstack"))
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    port = front_door_port or int(os.environ.get("HAZINA_PORT", "8000"))
    the_plan = plan(free_ports=free_ports, front_door_port=port)
    infrastructure = start_infrastructure(state_dir, throwaway=throwaway)
    env = service_environment(the_plan, infrastructure, state_dir)
    if "SEED_SUPERADMIN_PASSWORD" not in env and throwaway:
        env["SEED_SUPERADMIN_PASSWORD"] = secrets.token_urlsafe(15)

    caddy_dir = state_dir / "caddy"
    caddy_dir.mkdir(parents=True, exist_ok=True)
    caddyfile = caddy_dir / "Caddyfile"
    caddyfile.write_text(registry.caddyfile(the_plan.entries))
    env["XDG_DATA_HOME"] = str(caddy_dir / "data")
    env["XDG_CONFIG_HOME"] = str(caddy_dir / "config")

    log_path = state_dir / "logs" / "hazina.log"
    log_file = log_path.open("a")
    manager = Manager(Printer(output=_Tee(sys.stdout, log_file), colour=False))
    python = sys.executable
    for entry in the_plan.entries:
        for name, arguments, extra in entry.processes(the_plan.ports[entry.name]):
            command = " ".join([python, "-m", *arguments])
            manager.add_process(name, command, env={**env, **extra}, cwd=str(REPO_ROOT))
    caddy = shutil.which("caddy", path=str(Path(python).parent)) or "caddy"
    manager.add_process(
        "front-door",
        f"{caddy} run --config {caddyfile} --adapter caddyfile",
        env=env,
        cwd=str(REPO_ROOT),
    )

    def announce() -> None:
        failing = wait_until_ready(the_plan)
        if failing:
            sys.stdout.write(
                f"Hazina failed to start: not ready: {', '.join(failing)}; see {log_path}\n"
            )
            sys.stdout.flush()
            manager.terminate()
            return
        password_file = Path(env["SEED_SUPERADMIN_PASSWORD_FILE"])
        admin = env.get("SEED_SUPERADMIN_USERNAME", "superadmin")
        if password_file.exists():
            secret = password_file.read_text().strip()
            password_file.unlink()
            admin_note = (
                f"admin: {admin} / {secret} (generated on first start; shown once, change it)"
            )
        elif "SEED_SUPERADMIN_PASSWORD" in env:
            admin_note = f"admin: {admin} (password from SEED_SUPERADMIN_PASSWORD)"
        else:
            admin_note = f"admin: {admin} (password as set on first start)"
        sys.stdout.write(f"Hazina ready: {the_plan.url} | {admin_note} | logs: {log_path}\n")
        sys.stdout.flush()

    threading.Thread(target=announce, name="readiness", daemon=True).start()
    # Operators' commands (make replay, make verify) find the system through this record.
    running.record(
        state_dir,
        running.RunningStack(
            pid=os.getpid(),
            database_url=infrastructure.database_url,
            nats_url=infrastructure.nats_url,
            url=the_plan.url,
        ),
    )
    try:
        manager.loop()
    finally:
        running.forget(state_dir, os.getpid())
        infrastructure.stop()
        log_file.close()
    return int(manager.returncode or 0)
