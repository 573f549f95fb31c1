"""A service's ``python -m`` entry, written once: ``api`` serves HTTP, ``workers`` runs the
background work alone (relay, consumers, followers, jobs: the API then runs with
``HAZINA_RUN_WORKERS=false``), other commands run and exit.

Every service reads its settings from the environment, configures its logs, builds its container,
runs one command and closes the container; only the commands beyond ``api`` are its own. A command
that takes arguments of its own (origination's ``import-legacy FILE``) is a ``Command``.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from hazina_servicekit.database import one_start_at_a_time
from hazina_servicekit.logging import configure_logging
from hazina_servicekit.runtime import serve


class _Settings(Protocol):
    database_url: str
    log_level: str
    log_json: bool
    port: int


class _Service(Protocol):
    def http_app(self) -> Any: ...

    def run_without_http(self) -> None: ...


class _Container(Protocol):
    @property
    def service(self) -> _Service: ...

    def close(self) -> None: ...


S = TypeVar("S", bound=_Settings)
C = TypeVar("C", bound=_Container)


# Objects allocated (less freed) between the youngest generation's collections: the default 700
# ran one every few requests, each walking what the request had just made.
YOUNG_COLLECTION_THRESHOLD = 20_000


def settle_garbage_collector() -> None:
    """Before a long-running command: what start-up made lives as long as the process, so the
    collector stops walking it (``gc.freeze``), and it collects the young generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def _no_arguments(_parser: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True)
class Command(Generic[C]):
    """A command with arguments of its own: ``arguments`` declares them on the command's parser,
    ``run`` gets the container and what was parsed; an int it returns is the exit status."""

    run: Callable[[C, argparse.Namespace], int | None]
    arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments


def service_main(
    argv: list[str] | None,
    *,
    name: str,
    settings: Callable[[], S],
    build: Callable[[S, str], C],
    commands: Mapping[str, Callable[[C], object] | Command[C]],
    prog: str | None = None,
    http_app: Callable[[C], Any] | None = None,
) -> int:
    """Run ``api`` (serve the container's ``service.http_app()``, or ``http_app(container)`` where
    given, on ``--port`` or the settings' port), ``workers`` (the
    service's background work without HTTP, until a signal) or one of ``commands`` (a
    ``Command`` reads the arguments after its name with a parser of its own).

    ``build(settings, command)`` makes the container, so a service may wire differently for a
    command (identity seeds its super admin only for ``api``). Logs are named ``name``; the
    help names ``prog`` (``hazina-<name>`` unless given).
    """
    parser = argparse.ArgumentParser(prog=prog or f"hazina-{name}")
    parser.add_argument("command", choices=["api", "workers", *commands])
    parser.add_argument("--port", type=int, default=None)
    words = sys.argv[1:] if argv is None else argv
    command = commands.get(words[0]) if words else None
    own = argparse.Namespace()
    if isinstance(command, Command):  # its own parser reads what follows its name
        own_parser = argparse.ArgumentParser(prog=f"{parser.prog} {words[0]}")
        command.arguments(own_parser)
        own = own_parser.parse_args(words[1:])
        args = argparse.Namespace(command=words[0], port=None)
    else:
        args = parser.parse_args(words)
    read = settings()
    configure_logging(name, level=read.log_level, json=read.log_json)
    with one_start_at_a_time(read.database_url, name):
        container = build(read, args.command)
    try:
        if args.command == "api":
            app = container.service.http_app() if http_app is None else http_app(container)
            settle_garbage_collector()
            serve(app, port=args.port or read.port)
        elif args.command == "workers":
            settle_garbage_collector()
            container.service.run_without_http()
        elif isinstance(command, Command):
            return command.run(container, own) or 0
        elif command is not None:
            command(container)
    finally:
        container.close()
    return 0
