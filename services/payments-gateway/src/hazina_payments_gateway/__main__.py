"""``python -m hazina_payments_gateway api|workers|rebuild-read-models``."""

from __future__ import annotations

import sys

from hazina_payments_gateway.adapters.read_models import truncate_gateway_models
from hazina_payments_gateway.bootstrap import Container, build
from hazina_payments_gateway.settings import PaymentsSettings
from hazina_servicekit.cli import service_main


def _rebuild_read_models(container: Container) -> None:
    count = container.projection.rebuild(truncate_gateway_models)
    sys.stdout.write(f"gateway read models rebuilt from {count} events\n")


def main(argv: list[str] | None = None) -> int:
    return service_main(
        argv,
        name="payments",
        prog="hazina-payments-gateway",
        settings=PaymentsSettings,
        build=lambda settings, _command: build(settings),
        commands={"rebuild-read-models": _rebuild_read_models},
    )


if __name__ == "__main__":
    raise SystemExit(main())
