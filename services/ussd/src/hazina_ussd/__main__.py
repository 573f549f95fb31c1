"""``python -m hazina_ussd api|workers|reminders``."""

from __future__ import annotations

import argparse
import sys

from hazina_servicekit.logging import configure_logging
from hazina_servicekit.runtime import serve
from hazina_ussd.bootstrap import build, build_http_app
from hazina_ussd.settings import UssdSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hazina-ussd")
    parser.add_argument("command", choices=["api", "workers", "reminders"])
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    settings = UssdSettings()
    configure_logging("ussd", level=settings.log_level, json=settings.log_json)
    container = build(settings)
    try:
        if args.command == "api":
            serve(build_http_app(container), port=args.port or settings.port)
        elif args.command == "workers":
            container.service.run_without_http()
        elif args.command == "reminders":
            count = container.reminders.run(container.ussd.clock.now().date())
            sys.stdout.write(
                "reminders already run today\n" if count is None else f"{count} reminders\n"
            )
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
