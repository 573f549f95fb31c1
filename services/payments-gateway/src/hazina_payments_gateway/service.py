"""The running gateway: its API, outbox relay, consumers, projection, dispatcher, inbox and pull."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

import structlog
from fastapi import FastAPI
from nats.js import JetStreamContext

from hazina_contracts.subjects import Stream
from hazina_payments_gateway.adapters import subscriptions
from hazina_payments_gateway.api.app import create_app
from hazina_payments_gateway.api.deps import CallbackPolicy, GatewayApi
from hazina_payments_gateway.application.ports import Accepted, PullFailedError
from hazina_payments_gateway.bootstrap import Container
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.database import ping
from hazina_servicekit.outbox import OutboxRelay
from hazina_servicekit.ownership import OWNERSHIP_SUBJECTS
from hazina_servicekit.revocation import follow_revocations
from hazina_servicekit.runtime import NatsLink, Worker, consumer_worker, stream_worker

log = structlog.get_logger(__name__)


def relay_worker(container: Container, link: NatsLink) -> Worker:
    async def run(js: JetStreamContext, stop: asyncio.Event) -> None:
        relay = OutboxRelay(
            app=container.app,
            js=js,
            pool=container.pool,
            producer="payments",
            to_contract=container.to_contract,
            parking=container.parking,
        )
        await relay.run(stop)

    return stream_worker(
        link,
        Stream.PAYMENTS,
        run,
        duplicate_window_seconds=container.settings.stream_duplicate_window_seconds,
    )


def consumer(
    container: Container,
    link: NatsLink,
    stream: Stream,
    name: str,
    subjects: list[str],
) -> Worker:
    def make(js: JetStreamContext) -> DurableConsumer:
        return DurableConsumer(
            js=js,
            pool=container.pool,
            service="payments",
            name=name,
            stream=stream.value,
            subjects=subjects,
            handler=container.consumers[name],
            parking=container.parking,
        )

    return consumer_worker(
        link, make, duplicate_window_seconds=container.settings.stream_duplicate_window_seconds
    )


def pull_worker(container: Container) -> Worker:
    """Every ``PAYMENTS_PULL_INTERVAL_SECONDS``: Daraja's Pull Transactions over a trailing window."""

    async def run(stop: asyncio.Event) -> None:
        interval = container.settings.pull_interval_seconds
        window = dt.timedelta(seconds=container.settings.pull_window_seconds)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            if stop.is_set():
                return
            end = dt.datetime.now(dt.UTC)
            try:
                payments = await container.daraja.pull_transactions(end - window, end)
            except PullFailedError as exc:
                log.warning("pull_failed", error=str(exc))
                continue
            recorded = 0
            for payment in payments:
                outcome = await asyncio.to_thread(container.app.record_payment, payment)
                recorded += outcome.recorded
            if recorded:
                log.warning("pull_found_missed_payments", count=recorded)

    return run


def register_c2b_hook(container: Container) -> Any:
    async def register() -> None:
        for attempt in range(30):
            result = await container.daraja.register_c2b_urls(
                response_type=container.settings.mpesa_c2b_response_type
            )
            if isinstance(result, Accepted):
                log.info("c2b_urls_registered", shortcode=container.settings.mpesa_c2b_shortcode)
                return
            log.warning("c2b_url_registration_failed", result=str(result), attempt=attempt + 1)
            await asyncio.sleep(min(2.0 * (attempt + 1), 10.0))

    return register


async def close_nats(link: NatsLink) -> None:
    """Close without draining: a drain waits on pull subscriptions far longer than a shutdown should,
    and every consumer has already stopped (unacknowledged messages are redelivered)."""
    nc = link.nc
    link.nc = None
    if nc is not None and not nc.is_closed:
        await nc.close()


def build_app(
    container: Container, *, verifier: TokenVerifier, nats_name: str = "payments"
) -> FastAPI:
    settings = container.settings
    link = NatsLink(settings.nats_url, name=nats_name)

    async def database_ready() -> bool:
        return await asyncio.to_thread(ping, container.pool)

    workers: list[Worker] = []
    on_start = []
    if settings.run_workers:
        workers = [
            relay_worker(container, link),
            consumer(
                container,
                link,
                Stream.ORIGINATION,
                "references",
                subscriptions.REFERENCE_SUBJECTS,
            ),
            # Who owns which loan (officer scoping); its own durable, which reads the stream
            # from its start (an existing durable given new subjects resumes where it was).
            consumer(
                container,
                link,
                Stream.ORIGINATION,
                "ownership",
                list(OWNERSHIP_SUBJECTS),
            ),
            consumer(
                container,
                link,
                Stream.ORIGINATION,
                "disbursements",
                subscriptions.DISBURSEMENT_SUBJECTS,
            ),
            consumer(
                container,
                link,
                Stream.USSD,
                "prompts",
                subscriptions.PROMPT_SUBJECTS,
            ),
            consumer(
                container,
                link,
                Stream.LEDGER,
                "postings",
                subscriptions.LEDGER_SUBJECTS,
            ),
            container.projection.follow,
        ]
        if settings.dispatching:
            workers.append(container.dispatcher.run)
        if settings.inbox_processing:
            workers.append(container.inbox.run)
        if settings.pull_interval_seconds > 0:
            workers.append(pull_worker(container))
        if settings.mpesa_register_c2b_on_start:
            on_start.append(register_c2b_hook(container))
    token = (
        settings.mpesa_callback_token.get_secret_value() if settings.mpesa_callback_token else ""
    )
    if not token:
        log.warning("mpesa_callback_token_missing", effect="every callback is refused")
    api = GatewayApi(
        app=container.app,
        projection=container.projection,
        parking=container.parking,
        index=container.index,
        inbox_writer=container.inbox_writer,
        inbox=container.staff_inbox,
        daraja=container.daraja,
        read_c2b=container.read_c2b,
        read_statement=container.read_statement,
        reconciliation=container.reconciliation,
        callbacks=CallbackPolicy(
            token=token,
            allowed_ips=tuple(settings.mpesa_callback_allowed_ips),
            reject_unknown_references=settings.c2b_reject_unknown_references,
        ),
        pull_window_seconds=settings.pull_window_seconds,
        ownership=container.ownership,
    )
    app = create_app(
        settings=settings,
        api=api,
        verifier=verifier,
        readiness={"postgres": database_ready, "nats": link.ready},
        workers=workers,
        on_start=on_start,
        on_stop=[container.daraja.aclose, lambda: close_nats(link)],
    )
    follow_revocations(app, link, settings)
    return app
