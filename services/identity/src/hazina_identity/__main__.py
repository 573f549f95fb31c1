"""``python -m hazina_identity api|relay|rotate-key|rebuild-directory``."""

from __future__ import annotations

import argparse
import sys

from hazina_identity.adapters.user_directory import truncate_directory
from hazina_identity.bootstrap import build, build_http_app
from hazina_identity.settings import IdentitySettings
from hazina_servicekit.logging import configure_logging
from hazina_servicekit.runtime import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hazina-identity")
    parser.add_argument("command", choices=["api", "relay", "rotate-key", "rebuild-directory"])
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    settings = IdentitySettings()
    configure_logging("identity", level=settings.log_level, json=settings.log_json)
    container = build(settings, seed=args.command == "api")
    try:
        if args.command == "api":
            serve(build_http_app(container), port=args.port or settings.port)
        elif args.command == "relay":
            container.service.run_without_http(lambda link: [container.service.relay_worker(link)])
        elif args.command == "rotate-key":
            kid = container.keys.rotate(container.clock.now())
            sys.stdout.write(
                f"new signing key {kid}; older keys keep verifying until their tokens expire\n"
            )
        elif args.command == "rebuild-directory":
            count = container.directory_projection.rebuild(truncate_directory)
            sys.stdout.write(f"staff directory rebuilt from {count} events\n")
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
