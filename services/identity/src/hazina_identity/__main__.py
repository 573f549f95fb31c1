"""``python -m hazina_identity api|relay|rotate-key|rebuild-directory``."""

from __future__ import annotations

import sys

from hazina_identity.adapters.user_directory import truncate_directory
from hazina_identity.bootstrap import Container, build
from hazina_identity.settings import IdentitySettings
from hazina_servicekit.cli import service_main


def _relay(container: Container) -> None:
    container.service.run_without_http(lambda link: [container.service.relay_worker(link)])


def _rotate_key(container: Container) -> None:
    kid = container.keys.rotate(container.clock.now())
    sys.stdout.write(
        f"new signing key {kid}; older keys keep verifying until their tokens expire\n"
    )


def _rebuild_directory(container: Container) -> None:
    count = container.directory_projection.rebuild(truncate_directory)
    sys.stdout.write(f"staff directory rebuilt from {count} events\n")


def main(argv: list[str] | None = None) -> int:
    return service_main(
        argv,
        name="identity",
        settings=IdentitySettings,
        build=lambda settings, command: build(settings, seed=command == "api"),
        commands={
            "relay": _relay,
            "rotate-key": _rotate_key,
            "rebuild-directory": _rebuild_directory,
        },
    )


if __name__ == "__main__":
    raise SystemExit(main())
