"""``python -m hazina_payments_gateway api|rebuild-read-models``."""

from __future__ import annotations

import argparse
import sys

from hazina_payments_gateway.adapters.read_models import truncate_gateway_models
from hazina_payments_gateway.bootstrap import build, build_app
from hazina_payments_gateway.settings import PaymentsSettings
from hazina_servicekit.logging import configure_logging
from hazina_servicekit.runtime import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hazina-payments-gateway")
    parser.add_argument("command", choices=["api", "rebuild-read-models"])
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    settings = PaymentsSettings()
    configure_logging("payments", level=settings.log_level, json=settings.log_json)
    container = build(settings)
    try:
        if args.command == "api":
            serve(build_app(container), port=args.port or settings.port)
        else:
            count = container.projection.rebuild(truncate_gateway_models)
            sys.stdout.write(f"gateway read models rebuilt from {count} events\n")
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
