"""``python -m hazina_ledger api|relay|replay|verify|balance|assess-arrears`` (also ``hazina-ledger``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from fastapi import FastAPI
from nats.js import JetStreamContext

from hazina_contracts.subjects import Stream
from hazina_ledger.adapters.contract_mapping import to_contract
from hazina_ledger.adapters.inbox import ORIGINATION_SUBJECTS, PAYMENTS_SUBJECTS
from hazina_ledger.api.app import create_app
from hazina_ledger.api.deps import LedgerApi
from hazina_ledger.bootstrap import Container, build
from hazina_ledger.cli import run_cli
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.database import ping
from hazina_servicekit.logging import configure_logging
from hazina_servicekit.outbox import OutboxRelay
from hazina_servicekit.runtime import NatsLink, Worker, serve, stream_worker


def relay_worker(container: Container, link: NatsLink) -> Worker:
    async def run(js: JetStreamContext, stop: asyncio.Event) -> None:
        relay = OutboxRelay(
            app=container.ledger,
            js=js,
            pool=container.pool,
            producer="ledger",
            to_contract=to_contract,
        )
        await relay.run(stop)

    return stream_worker(
        link,
        Stream.LEDGER,
        run,
        duplicate_window_seconds=container.settings.stream_duplicate_window_seconds,
    )


def consumer_worker(
    container: Container, link: NatsLink, stream: Stream, name: str, subjects: Sequence[str]
) -> Worker:
    async def run(js: JetStreamContext, stop: asyncio.Event) -> None:
        consumer = DurableConsumer(
            js=js,
            pool=container.pool,
            service="ledger",
            name=name,
            stream=stream.value,
            subjects=list(subjects),
            handler=container.inbox.handle,
        )
        await consumer.run(stop)

    return stream_worker(
        link,
        stream,
        run,
        duplicate_window_seconds=container.settings.stream_duplicate_window_seconds,
    )


def every(seconds: float, work: object) -> Worker:
    """Run ``work`` (a blocking callable) in a thread every ``seconds`` until stopped."""

    async def worker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(work)  # type: ignore[arg-type]
            except Exception:  # noqa: S110 - the next round retries; failures are logged where they happen
                pass
            try:
                await asyncio.wait_for(stop.wait(), timeout=seconds)
            except TimeoutError:
                pass

    return worker


def background_workers(container: Container, link: NatsLink) -> list[Worker]:
    settings = container.settings

    def assess() -> None:
        container.projection.catch_up()
        container.ledger.assess_arrears(container.views.live_loan_ids(), container.ledger.today())

    return [
        relay_worker(container, link),
        consumer_worker(container, link, Stream.ORIGINATION, "origination", ORIGINATION_SUBJECTS),
        consumer_worker(container, link, Stream.PAYMENTS, "payments", PAYMENTS_SUBJECTS),
        container.projection.follow,
        every(settings.parked_retry_interval_seconds, container.inbox.retry_parked),
        every(settings.arrears_check_interval_seconds, assess),
    ]


def build_app(container: Container, *, workers: bool | None = None) -> FastAPI:
    settings = container.settings
    link = NatsLink(settings.nats_url, name="ledger")

    async def database_ready() -> bool:
        return await asyncio.to_thread(ping, container.pool)

    run_workers = settings.run_workers if workers is None else workers
    assert container.verifier is not None  # noqa: S101 - build() always sets one
    return create_app(
        settings=settings,
        api=LedgerApi(
            ledger=container.ledger,
            views=container.views,
            projection=container.projection,
            inbox=container.inbox,
        ),
        verifier=container.verifier,
        readiness={"postgres": database_ready, "nats": link.ready},
        workers=background_workers(container, link) if run_workers else [],
    )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "api":
        parser = argparse.ArgumentParser(prog="hazina-ledger api")
        parser.add_argument("--port", type=int, default=None)
        options = parser.parse_args(args[1:])
        settings = LedgerSettings()  # type: ignore[call-arg]
        configure_logging("ledger", level=settings.log_level, json=settings.log_json)
        container = build(settings)
        try:
            serve(build_app(container), port=options.port or settings.port)
        finally:
            container.close()
        return 0
    return run_cli(args)


if __name__ == "__main__":
    raise SystemExit(main())
