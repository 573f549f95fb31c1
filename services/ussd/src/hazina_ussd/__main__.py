"""``python -m hazina_ussd api|workers|reminders``."""

from __future__ import annotations

import sys

from hazina_servicekit.cli import service_main
from hazina_ussd.bootstrap import Container, build
from hazina_ussd.settings import UssdSettings


def _reminders(container: Container) -> None:
    count = container.reminders.run(container.ussd.clock.now().date())
    sys.stdout.write("reminders already run today\n" if count is None else f"{count} reminders\n")


def main(argv: list[str] | None = None) -> int:
    return service_main(
        argv,
        name="ussd",
        settings=UssdSettings,
        build=lambda settings, _command: build(settings),
        commands={"reminders": _reminders},
    )


if __name__ == "__main__":
    raise SystemExit(main())
