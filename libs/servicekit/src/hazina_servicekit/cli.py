"""A service's ``python -m`` entry, written once: ``api`` serves HTTP, other commands run and exit.

Every service reads its settings from the environment, configures its logs, builds its container,
runs one command and closes the container; only the commands beyond ``api`` are its own.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from hazina_servicekit.logging import configure_logging
from hazina_servicekit.runtime import serve


class _Settings(Protocol):
    log_level: str
    log_json: bool
    port: int


class _Container(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=_Settings)
C = TypeVar("C", bound=_Container)


def service_main(
    argv: list[str] | None,
    *,
    name: str,
    settings: Callable[[], S],
    build: Callable[[S, str], C],
    http_app: Callable[[C], Any],
    commands: Mapping[str, Callable[[C], object]],
    prog: str | None = None,
) -> int:
    """Run ``api`` (serve ``http_app`` on ``--port`` or the settings' port) or one of ``commands``.

    ``build(settings, command)`` makes the container, so a service may wire differently for a
    command (identity seeds its super admin only for ``api``). Logs are named ``name``; the
    help names ``prog`` (``hazina-<name>`` unless given).
    """
    parser = argparse.ArgumentParser(prog=prog or f"hazina-{name}")
    parser.add_argument("command", choices=["api", *commands])
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    read = settings()
    configure_logging(name, level=read.log_level, json=read.log_json)
    container = build(read, args.command)
    try:
        if args.command == "api":
            serve(http_app(container), port=args.port or read.port)
        else:
            commands[args.command](container)
    finally:
        container.close()
    return 0
