"""The one place the ledger is wired together: settings in, a ready container out."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
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
from hazina_ledger.adapters.read_models import read_side_projection
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
from hazina_servicekit.database import open_pool
from hazina_servicekit.ownership import OWNERSHIP_SUBJECTS, OwnershipBook, record_ownership
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.parts import ServiceParts, staff_token_verifier
from hazina_servicekit.projection import Projection
from hazina_servicekit.service import (
    Consumer,
    Job,
    Relay,
    Runtime,
    event_store,
    open_store,
)

SERVICE = "ledger"


@dataclass(kw_only=True)
class Container(ServiceParts[LedgerSettings]):
    ledger: Ledger
    projection: Projection
    reads: ConnectionPool
    views: LedgerViews
    inbox: LedgerInbox
    ownership: OwnershipBook
    analytics: PortfolioAnalytics
    conventions: TenantConventions
    arrears_policy: ArrearsPolicy
    clock: Clock

    def close(self) -> None:
        self.reads.close()
        super().close()  # the application, then the pool

    def assess(self) -> None:
        """Mark loans in arrears or defaulted as of today (after the read model caught up)."""
        self.projection.catch_up()
        self.ledger.assess_arrears(self.views.live_loan_ids(), self.ledger.today())


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
    pool = open_store(settings, pool_size=settings.pool_size)
    ledger = Ledger(
        event_store(settings, pool_size=settings.pool_size),
        clock=clock,
        pool=pool,
        arrears_policy=policy,
        max_batch=settings.max_batch,
    )
    if start_writer:
        ledger.start_writer()
    parking = ParkingLot(pool, ledger)
    projection = read_side_projection(ledger, pool, parking=parking)
    inbox = LedgerInbox(ledger, pool, conventions, parking)
    # The views' queries each stand alone: on their own autocommit pool a query is one round
    # trip, not three (BEGIN, the query, COMMIT).
    reads = open_pool(
        settings.database_url, settings.db_schema, max_size=settings.pool_size, autocommit=True
    )
    views = LedgerViews(reads, policy)
    container = Container(
        settings=settings,
        pool=pool,
        ledger=ledger,
        projection=projection,
        parking=parking,
        reads=reads,
        views=views,
        inbox=inbox,
        ownership=OwnershipBook(pool),
        analytics=PortfolioAnalytics(pool, views),
        conventions=conventions,
        arrears_policy=policy,
        verifier=staff_token_verifier(settings, verifier),
        clock=clock,
    )
    container.run_service(
        SERVICE,
        ledger,
        http_app,
        relay=Relay(Stream.LEDGER, to_contract),
        consumers=[
            # Both feed the inbox, which posts what origination and the gateway report.
            Consumer(Stream.ORIGINATION, "origination", ORIGINATION_SUBJECTS, inbox.handle),
            # The gateway's confirmations in batches: one transaction, one group commit each.
            Consumer(
                Stream.PAYMENTS,
                "payments",
                PAYMENTS_SUBJECTS,
                inbox.handle,
                batch_handler=inbox.handle_batch,
                batch_size=settings.consumer_batch_size,
                ack_wait_seconds=settings.consumer_ack_wait_seconds,
            ),
            # Who owns which group, client and loan (officer scoping). Its own durable: a new
            # durable reads the stream from its start, so records made before it are learned too.
            Consumer(Stream.ORIGINATION, "ownership", OWNERSHIP_SUBJECTS, record_ownership),
            # Loan applications, assessments and staff names for the analytics (own durables).
            Consumer(Stream.ORIGINATION, "analytics", ANALYTICS_SUBJECTS, record_for_analytics),
            Consumer(Stream.IDENTITY, "staff", STAFF_SUBJECTS, record_for_analytics),
        ],
        projections=[projection],
        jobs=[
            Job("retry-parked", settings.parked_retry_interval_seconds, inbox.retry_parked),
            Job("assess-arrears", settings.arrears_check_interval_seconds, container.assess),
        ],
    )
    return container


def http_app(container: Container, runtime: Runtime) -> FastAPI:
    """The ledger's HTTP app over the parts ``build`` made, with the workers ``runtime`` brings."""
    api = LedgerApi(
        ledger=container.ledger,
        views=container.views,
        projection=container.projection,
        inbox=container.inbox,
        parking=container.parking,
        ownership=container.ownership,
        analytics=container.analytics,
    )
    return create_app(api, runtime)
