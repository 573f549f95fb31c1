"""The one place the ledger is wired together: settings in, a ready container out."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from hazina_ledger.adapters.inbox import LedgerInbox
from hazina_ledger.adapters.projection import LedgerProjection
from hazina_ledger.adapters.views import LedgerViews
from hazina_ledger.application.clock import SystemClock
from hazina_ledger.application.ledger import Ledger
from hazina_ledger.application.policies import TenantConventions
from hazina_ledger.application.ports import Clock
from hazina_ledger.domain.arrears import ArrearsPolicy
from hazina_ledger.domain.rounding import parse_rounding_mode
from hazina_ledger.domain.schedule import WeeklyMonthConvention
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.database import ensure_schema, open_pool
from hazina_servicekit.eventstore import postgres_env


@dataclass
class Container:
    settings: LedgerSettings
    pool: ConnectionPool
    ledger: Ledger
    projection: LedgerProjection
    views: LedgerViews
    inbox: LedgerInbox
    conventions: TenantConventions
    arrears_policy: ArrearsPolicy
    verifier: TokenVerifier | None
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
    projection = LedgerProjection(ledger, pool)
    container = Container(
        settings=settings,
        pool=pool,
        ledger=ledger,
        projection=projection,
        views=LedgerViews(pool, policy),
        inbox=LedgerInbox(ledger, pool, conventions),
        conventions=conventions,
        arrears_policy=policy,
        verifier=verifier
        if verifier is not None
        else TokenVerifier.from_url(settings.jwks_url, issuer=settings.token_issuer),
        clock=clock,
    )
    projection.catch_up()
    return container
