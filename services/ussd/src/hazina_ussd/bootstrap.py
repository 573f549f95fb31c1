"""The one place the USSD service is wired together: settings in, a ready container out."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from hazina_contracts.subjects import Stream
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.database import open_pool
from hazina_servicekit.ownership import OWNERSHIP_SUBJECTS, OwnershipBook, record_ownership
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.parts import ServiceParts, staff_token_verifier
from hazina_servicekit.runtime import Worker
from hazina_servicekit.service import Consumer, Job, Relay, Runtime, event_store, open_store
from hazina_ussd.adapters.africastalking import AfricasTalkingSms
from hazina_ussd.adapters.consumers import (
    LEDGER_SUBJECTS,
    ORIGINATION_SUBJECTS,
    PAYMENTS_SUBJECTS,
    ledger_batch_handler,
    ledger_handler,
    origination_handler,
    payments_handler,
)
from hazina_ussd.adapters.contract_mapping import to_contract
from hazina_ussd.adapters.pins import Argon2PinHasher
from hazina_ussd.adapters.read_models import DDL as READ_MODELS_DDL
from hazina_ussd.adapters.read_models import PostgresBorrowerDirectory
from hazina_ussd.adapters.sessions import DDL as SESSIONS_DDL
from hazina_ussd.adapters.sessions import PostgresHopStore, PostgresJobRuns
from hazina_ussd.adapters.sms_store import DDL as SMS_DDL
from hazina_ussd.adapters.sms_store import PostgresSms
from hazina_ussd.adapters.system import SystemClock
from hazina_ussd.api.app import create_app
from hazina_ussd.api.deps import UssdApi
from hazina_ussd.application.notifications import Reminders, SmsDispatcher
from hazina_ussd.application.ports import Clock, SmsSender
from hazina_ussd.application.ussd import RateLimits, Ussd, UssdPolicy
from hazina_ussd.domain.limit import LimitPolicy
from hazina_ussd.domain.menu import Offer
from hazina_ussd.settings import UssdSettings

SERVICE = "ussd"
log = structlog.get_logger(__name__)


@dataclass(kw_only=True)
class Container(ServiceParts[UssdSettings]):
    reads: ConnectionPool
    ussd: Ussd
    sms: PostgresSms
    hops: PostgresHopStore
    dispatcher: SmsDispatcher
    reminders: Reminders
    ownership: OwnershipBook

    def close(self) -> None:
        self.dispatcher.sender.close()
        self.reads.close()
        super().close()  # the application, then the pool


def policy_of(settings: UssdSettings) -> UssdPolicy:
    return UssdPolicy(
        offer=Offer(
            minimum_cents=settings.min_amount_kes * 100,
            multiple_cents=settings.amount_multiple_kes * 100,
            min_term=settings.min_term,
            max_term=settings.max_term,
            frequency=settings.repayment_frequency,
            paybill=settings.paybill,
            max_open_loans=settings.max_open_loans,
        ),
        limit=LimitPolicy(
            savings_credit=settings.limit_savings_credit,
            savings_multiple=settings.limit_savings_multiple,
            on_time_credit_cents=settings.limit_on_time_kes * 100,
            late_credit_cents=settings.limit_late_kes * 100,
            default_penalty_cents=settings.limit_default_penalty_kes * 100,
            maximum_cents=settings.limit_maximum_kes * 100,
        ),
        product_type=settings.product_type,
        default_language=settings.default_language,
        session_seconds=settings.session_seconds,
        rates=RateLimits(
            per_phone=settings.rate_per_phone,
            per_phone_window_seconds=settings.rate_window_seconds,
            per_session=settings.rate_per_session,
        ),
    )


def sms_sender(settings: UssdSettings) -> SmsSender:
    key = settings.at_api_key.get_secret_value() if settings.at_api_key else ""
    return AfricasTalkingSms(
        base_url=settings.at_base_url,
        username=settings.at_username,
        api_key=key,
        sender_id=settings.at_sender_id,
    )


def build(
    settings: UssdSettings,
    *,
    clock: Clock | None = None,
    verifier: TokenVerifier | None = None,
    sender: SmsSender | None = None,
) -> Container:
    clock = clock or SystemClock()
    pool = open_store(settings, pool_size=16)
    with pool.connection() as conn:
        conn.execute(READ_MODELS_DDL)
        conn.execute(SESSIONS_DDL)
        conn.execute(SMS_DDL)
    # The busy read path (projections, rate windows, the SMS outbox) on connections that commit
    # each statement by itself: no BEGIN/ROLLBACK round trips around every query.
    reads = open_pool(settings.database_url, settings.db_schema, max_size=16, autocommit=True)
    sms = PostgresSms(reads)
    hops = PostgresHopStore(reads)
    directory = PostgresBorrowerDirectory(reads)
    policy = policy_of(settings)
    ussd = Ussd(
        event_store(settings, pool_size=10),
        clock=clock,
        hasher=Argon2PinHasher(
            time_cost=settings.pin_argon2_time_cost, memory_kib=settings.pin_argon2_memory_kib
        ),
        hops=hops,
        directory=directory,
        outbox=sms,
        policy=policy,
    )
    parking = ParkingLot(pool, ussd)
    container = Container(
        settings=settings,
        pool=pool,
        reads=reads,
        ussd=ussd,
        sms=sms,
        hops=hops,
        dispatcher=SmsDispatcher(sms, sender or sms_sender(settings), clock),
        reminders=Reminders(
            directory,
            sms,
            PostgresJobRuns(pool),
            ussd.access_language,
            settings.paybill,
            days_ahead=settings.reminder_days_ahead,
        ),
        parking=parking,
        ownership=OwnershipBook(pool),
        verifier=staff_token_verifier(settings, verifier),
    )
    language_of = ussd.access_language
    container.run_service(
        SERVICE,
        ussd,
        http_app,
        relay=Relay(Stream.USSD, to_contract),
        consumers=[
            Consumer(
                Stream.ORIGINATION,
                "origination",
                ORIGINATION_SUBJECTS,
                origination_handler(language_of),
            ),
            # Who owns which group, client and loan: the officer scoping every service applies
            # (its own durable: a new one reads the stream from its start).
            Consumer(Stream.ORIGINATION, "ownership", OWNERSHIP_SUBJECTS, record_ownership),
            # One or more ledger events per C2B payment: in batches, one transaction each.
            Consumer(
                Stream.LEDGER,
                "ledger",
                LEDGER_SUBJECTS,
                ledger_handler(language_of),
                batch_handler=ledger_batch_handler(language_of),
            ),
            Consumer(
                Stream.PAYMENTS,
                "payments",
                PAYMENTS_SUBJECTS,
                payments_handler(language_of, settings.service_code),
            ),
        ],
        jobs=[
            # Hourly, so a day is never missed; the claim per day makes it one run a day.
            Job("reminders", 3600, lambda: container.reminders.run(clock.now().date())),
            Job("forget-sessions", 60, lambda: hops.forget_expired(clock.now())),
        ],
        workers=[sms_worker(container)],
    )
    return container


def sms_worker(container: Container) -> Worker:
    """Sends what the SMS outbox holds, in every process (rows are claimed SKIP LOCKED)."""

    async def worker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await asyncio.to_thread(container.dispatcher.send_due)
            except Exception as exc:  # the database is away: the next round retries
                log.warning("sms_dispatch_failed", error=str(exc))
                sent = 0
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=container.settings.sms_poll_seconds)

    return worker


def http_app(container: Container, runtime: Runtime) -> FastAPI:
    return create_app(
        UssdApi(
            ussd=container.ussd,
            sms=container.sms,
            parking=container.parking,
            ownership=container.ownership,
        ),
        runtime,
    )
