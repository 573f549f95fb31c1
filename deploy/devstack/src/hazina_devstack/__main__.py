"""``python -m hazina_devstack run|caddyfile|with-infra|with-rails|env|with-running``: the local runtime behind
``make run`` and ``make test``, and how operators' commands reach the system ``make run`` started."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from hazina_devstack import rails, registry, running, stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hazina-devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole system (make run)")
    run.add_argument("--throwaway", action="store_true", help="fast, disposable database")
    run.add_argument("--free-ports", action="store_true", help="services on free ports")
    run.add_argument("--port", type=int, default=None, help="front door port (HAZINA_PORT, 8000)")
    sub.add_parser("caddyfile", help="print the Caddyfile generated from deploy/services.toml")
    with_infra = sub.add_parser(
        "with-infra", help="run a command with DATABASE_URL and NATS_URL set (make test)"
    )
    with_infra.add_argument("cmd", nargs=argparse.REMAINDER)
    with_rails = sub.add_parser(
        "with-rails",
        help="run a command with the simulated rails' settings added (HAZINA_RAILS=simulated)",
    )
    with_rails.add_argument("cmd", nargs=argparse.REMAINDER)
    sub.add_parser("env", help="print the running system's DATABASE_URL, NATS_URL and HAZINA_URL")
    with_running = sub.add_parser(
        "with-running",
        help="run a command against the system `make run` started (or DATABASE_URL if set)",
    )
    with_running.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    if args.command == "run":
        return stack.run(
            throwaway=args.throwaway, free_ports=args.free_ports, front_door_port=args.port
        )
    if args.command == "caddyfile":
        sys.stdout.write(registry.caddyfile(registry.load(stack.SERVICES_FILE)))
        return 0
    if args.command == "with-rails":  # docker compose starts the payments gateway this way
        command = [c for c in args.cmd if c != "--"]
        return subprocess.call(command, env={**os.environ, **rails.simulated_rails(os.environ)})
    if args.command in ("env", "with-running"):
        return _against_running(args.command, getattr(args, "cmd", []))
    state_dir = Path(
        os.environ.get("HAZINA_TEST_STATE_DIR", stack.REPO_ROOT / ".devstack" / "test")
    )
    infrastructure = stack.start_infrastructure(state_dir, throwaway=True, database="postgres")
    try:
        env = {
            **os.environ,
            "DATABASE_URL": infrastructure.database_url,
            "NATS_URL": infrastructure.nats_url,
        }
        command = [c for c in args.cmd if c != "--"]
        return subprocess.call(command, env=env)
    finally:
        infrastructure.stop()


def _against_running(command: str, cmd: list[str]) -> int:
    state_dir = Path(os.environ.get("HAZINA_STATE_DIR", stack.REPO_ROOT / ".devstack"))
    try:
        found = running.environment_for(state_dir, os.environ)
    except running.NotRunningError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    if command == "env":
        sys.stdout.write("".join(f"{name}={value}\n" for name, value in found.items()))
        return 0
    command_line = cmd[1:] if cmd[:1] == ["--"] else cmd
    if not command_line:
        sys.stderr.write("with-running: give the command to run after --\n")
        return 2
    return subprocess.call(command_line, env={**os.environ, **found})


if __name__ == "__main__":
    raise SystemExit(main())
