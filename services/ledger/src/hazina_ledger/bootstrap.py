"""The one place the ledger is wired together: settings in, a ready container out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from nats.js import JetStreamContext
from psycopg_pool import ConnectionPool

from hazina_contracts.subjects import Stream
from hazina_ledger.adapters.analytics import (
    ANALYTICS_SUBJECTS,
    STAFF_SUBJECTS,
    PortfolioAnalytics,
    record_for_analytics,
)
from hazina_ledger.adapters.contract_mapping import to_contract
from hazina_ledger.adapters.inbox import ORIGINATION_SUBJECTS, PAYMENTS_SUBJECTS, LedgerInbox
from hazina_ledger.adapters.projection import LedgerProjection
from hazina_ledger.adapters.views import LedgerViews
from hazina_ledger.api.app import create_app
from hazina_ledger.api.deps import LedgerApi
from hazina_ledger.application.clock import SystemClock
from hazina_ledger.application.ledger import Ledger
from hazina_ledger.application.policies import TenantConventions
from hazina_ledger.application.ports import Clock
from hazina_ledger.domain.arrears import ArrearsPolicy
from hazina_ledger.domain.rounding import parse_rounding_mode
from hazina_ledger.domain.schedule import WeeklyMonthConvention
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.consumer import DurableConsumer, replay_parked_messages
from hazina_servicekit.database import ensure_schema, open_pool, ping
from hazina_servicekit.eventstore import postgres_env
from hazina_servicekit.outbox import OutboxRelay, queue_retried_events
from hazina_servicekit.ownership import OWNERSHIP_SUBJECTS, OwnershipBook, record_ownership
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.revocation import follow_revocations
from hazina_servicekit.runtime import NatsLink, Worker, consumer_worker, stream_worker

log = structlog.get_logger(__name__)

CONSUMERS = ("origination", "payments")  # durable ledger-<name>, both feeding the inbox


@dataclass
class Container:
    settings: LedgerSettings
    pool: ConnectionPool
    ledger: Ledger
    projection: LedgerProjection
    parking: ParkingLot
    views: LedgerViews
    inbox: LedgerInbox
    ownership: OwnershipBook
    analytics: PortfolioAnalytics
    conventions: TenantConventions
    arrears_policy: ArrearsPolicy
    verifier: TokenVerifier
    clock: Clock

    def close(self) -> None:
        self.ledger.close()
        self.pool.close()


def build(
    settings: LedgerSettings,
    *,
    clock: Clock | None = None,
    verifier: TokenVerifier | None = None,
    start_writer: bool = True,
) -> Container:
    clock = clock or SystemClock()
    conventions = TenantConventions(
        rounding=parse_rounding_mode(settings.rounding_mode).value,
        weekly_month_convention=WeeklyMonthConvention(
            settings.weekly_month_convention.strip().lower()
        ).value,
    )
    policy = ArrearsPolicy(
        in_arrears_after_days=settings.in_arrears_after_days,
        defaulted_after_days=settings.defaulted_after_days,
        tolerance_cents=settings.arrears_tolerance_cents,
    )
    ensure_schema(settings.database_url, settings.db_schema)
    pool = open_pool(settings.database_url, settings.db_schema, max_size=settings.pool_size)
    ledger = Ledger(
        postgres_env(settings.database_url, settings.db_schema, pool_size=settings.pool_size),
        clock=clock,
        pool=pool,
        arrears_policy=policy,
        max_batch=settings.max_batch,
    )
    if start_writer:
        ledger.start_writer()
    parking = ParkingLot(pool, ledger)
    queue_retried_events(parking, ledger, "ledger", to_contract)
    projection = LedgerProjection(ledger, pool, parking=parking)
    inbox = LedgerInbox(ledger, pool, conventions, parking)
    for name in CONSUMERS:  # staff can retry their parked messages even without NATS
        replay_parked_messages(parking, f"ledger-{name}", inbox.handle)
    views = LedgerViews(pool, policy)
    replay_parked_messages(parking, "ledger-ownership", record_ownership)
    for name in ("analytics", "staff"):
        replay_parked_messages(parking, f"ledger-{name}", record_for_analytics)
    container = Container(
        settings=settings,
        pool=pool,
        ledger=ledger,
        projection=projection,
        parking=parking,
        views=views,
        inbox=inbox,
        ownership=OwnershipBook(pool),
        analytics=PortfolioAnalytics(pool, views),
        conventions=conventions,
        arrears_policy=policy,
        verifier=verifier
        if verifier is not None
        else TokenVerifier.from_url(settings.jwks_url, issuer=settings.token_issuer),
        clock=clock,
    )
    projection.start()  # an event it cannot apply is parked: start-up never fails on one
    return container


def relay_worker(container: Container, link: NatsLink) -> Worker:
    async def run(js: JetStreamContext, stop: asyncio.Event) -> None:
        relay = OutboxRelay(
            app=container.ledger,
            js=js,
            pool=container.pool,
            producer="ledger",
            to_contract=to_contract,
            parking=container.parking,
        )
        await relay.run(stop)

    return stream_worker(
        link,
        Stream.LEDGER,
        run,
        duplicate_window_seconds=container.settings.stream_duplicate_window_seconds,
    )


def inbox_worker(
    container: Container, link: NatsLink, stream: Stream, name: str, subjects: Sequence[str]
) -> Worker:
    """A durable consumer of another service's stream, feeding the ledger's inbox."""

    def make(js: JetStreamContext) -> DurableConsumer:
        return DurableConsumer(
            js=js,
            pool=container.pool,
            service="ledger",
            name=name,
            stream=stream.value,
            subjects=list(subjects),
            handler=container.inbox.handle,
            parking=container.parking,
        )

    return consumer_worker(
        link, make, duplicate_window_seconds=container.settings.stream_duplicate_window_seconds
    )


def ownership_worker(container: Container, link: NatsLink) -> Worker:
    """Who owns which group, client and loan, from origination's events (officer scoping).

    Its own durable consumer: a new durable reads the ORIGINATION stream from its start, so records
    made before it are learned too (an existing one given new subjects resumes where it was).
    """

    def make(js: JetStreamContext) -> DurableConsumer:
        return DurableConsumer(
            js=js,
            pool=container.pool,
            service="ledger",
            name="ownership",
            stream=Stream.ORIGINATION.value,
            subjects=list(OWNERSHIP_SUBJECTS),
            handler=record_ownership,
            parking=container.parking,
        )

    return consumer_worker(
        link, make, duplicate_window_seconds=container.settings.stream_duplicate_window_seconds
    )


def analytics_worker(
    container: Container, link: NatsLink, stream: Stream, name: str, subjects: Sequence[str]
) -> Worker:
    """Loan applications, assessments and staff names for the analytics (own durable: from the start)."""

    def make(js: JetStreamContext) -> DurableConsumer:
        return DurableConsumer(
            js=js,
            pool=container.pool,
            service="ledger",
            name=name,
            stream=stream.value,
            subjects=list(subjects),
            handler=record_for_analytics,
            parking=container.parking,
        )

    return consumer_worker(
        link, make, duplicate_window_seconds=container.settings.stream_duplicate_window_seconds
    )


def every(seconds: float, work: Callable[[], object]) -> Worker:
    """Run ``work`` (a blocking callable) in a thread every ``seconds`` until stopped."""

    async def worker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(work)
            except Exception as exc:  # the next round retries
                log.warning(
                    "periodic_work_failed", work=getattr(work, "__name__", "work"), error=str(exc)
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    return worker


def background_workers(container: Container, link: NatsLink) -> list[Worker]:
    settings = container.settings

    def assess() -> None:
        container.projection.catch_up()
        container.ledger.assess_arrears(container.views.live_loan_ids(), container.ledger.today())

    return [
        relay_worker(container, link),
        inbox_worker(container, link, Stream.ORIGINATION, CONSUMERS[0], ORIGINATION_SUBJECTS),
        inbox_worker(container, link, Stream.PAYMENTS, CONSUMERS[1], PAYMENTS_SUBJECTS),
        ownership_worker(container, link),
        analytics_worker(container, link, Stream.ORIGINATION, "analytics", ANALYTICS_SUBJECTS),
        analytics_worker(container, link, Stream.IDENTITY, "staff", STAFF_SUBJECTS),
        container.projection.follow,
        every(settings.parked_retry_interval_seconds, container.inbox.retry_parked),
        every(settings.arrears_check_interval_seconds, assess),
    ]


def build_http_app(container: Container, *, workers: bool | None = None) -> FastAPI:
    settings = container.settings
    link = NatsLink(settings.nats_url, name="ledger")

    async def database_ready() -> bool:
        return await asyncio.to_thread(ping, container.pool)

    run_workers = settings.run_workers if workers is None else workers
    app = create_app(
        settings=settings,
        api=LedgerApi(
            ledger=container.ledger,
            views=container.views,
            projection=container.projection,
            inbox=container.inbox,
            parking=container.parking,
            ownership=container.ownership,
            analytics=container.analytics,
        ),
        verifier=container.verifier,
        readiness={"postgres": database_ready, "nats": link.ready},
        workers=background_workers(container, link) if run_workers else [],
        on_shutdown=[link.close],
    )
    follow_revocations(app, link, settings)
    return app
