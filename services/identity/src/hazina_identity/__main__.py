"""``python -m hazina_identity api|relay|rotate-key|rebuild-directory``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from hazina_contracts.subjects import Stream
from hazina_identity.adapters.contract_mapping import to_contract
from hazina_identity.adapters.user_directory import truncate_directory
from hazina_identity.api.app import create_app
from hazina_identity.api.deps import IdentityApi
from hazina_identity.bootstrap import Container, build
from hazina_identity.settings import IdentitySettings
from hazina_servicekit.database import ping
from hazina_servicekit.logging import configure_logging
from hazina_servicekit.outbox import OutboxRelay
from hazina_servicekit.runtime import NatsLink, Worker, serve, stream_worker


def _relay_worker(container: Container, link: NatsLink) -> Worker:
    async def run(js, stop):  # type: ignore[no-untyped-def]
        relay = OutboxRelay(
            app=container.identity, js=js, pool=container.pool, producer="identity", to_contract=to_contract
        )
        await relay.run(stop)

    return stream_worker(
        link, Stream.IDENTITY, run,
        duplicate_window_seconds=container.settings.stream_duplicate_window_seconds,
    )


def build_app(container: Container):  # type: ignore[no-untyped-def]
    settings = container.settings
    link = NatsLink(settings.nats_url, name="identity")

    async def database_ready() -> bool:
        return await asyncio.to_thread(ping, container.pool)

    workers: list[Worker] = []
    if settings.run_workers:
        workers = [_relay_worker(container, link), container.directory_projection.follow]
    return create_app(
        settings=settings,
        api=IdentityApi(
            identity=container.identity,
            directory=container.directory,
            directory_projection=container.directory_projection,
        ),
        verifier=container.verifier,
        jwks=container.keys.jwks,
        readiness={"postgres": database_ready, "nats": link.ready},
        workers=workers,
    )


def _relay_only(container: Container) -> None:
    link = NatsLink(container.settings.nats_url, name="identity-relay")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await _relay_worker(container, link)(stop)
        await link.close()

    asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hazina-identity")
    parser.add_argument("command", choices=["api", "relay", "rotate-key", "rebuild-directory"])
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    settings = IdentitySettings()  # type: ignore[call-arg]
    configure_logging("identity", level=settings.log_level, json=settings.log_json)
    container = build(settings, seed=args.command == "api")
    try:
        if args.command == "api":
            serve(build_app(container), port=args.port or settings.port)
        elif args.command == "relay":
            _relay_only(container)
        elif args.command == "rotate-key":
            kid = container.keys.rotate(container.clock.now())
            sys.stdout.write(f"new signing key {kid}; older keys keep verifying until their tokens expire\n")
        elif args.command == "rebuild-directory":
            count = container.directory_projection.rebuild(truncate_directory)
            sys.stdout.write(f"staff directory rebuilt from {count} events\n")
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
