"""``python -m hazina_devstack run|caddyfile|infra``: the local runtime behind ``make run`` and ``make test``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from hazina_devstack import registry, stack


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
    args = parser.parse_args(argv)

    if args.command == "run":
        return stack.run(
            throwaway=args.throwaway, free_ports=args.free_ports, front_door_port=args.port
        )
    if args.command == "caddyfile":
        sys.stdout.write(registry.caddyfile(registry.load(stack.SERVICES_FILE)))
        return 0
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


if __name__ == "__main__":
    raise SystemExit(main())
