"""The one place the gateway is wired together: settings in, a ready container out."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from fastapi import FastAPI

from hazina_contracts.subjects import Stream
from hazina_payments_gateway.adapters import subscriptions
from hazina_payments_gateway.adapters.callback_handlers import callback_handlers
from hazina_payments_gateway.adapters.contract_mapping import contract_mapper
from hazina_payments_gateway.adapters.daraja.callbacks import parse_c2b
from hazina_payments_gateway.adapters.daraja.client import DarajaClient, DarajaSettings
from hazina_payments_gateway.adapters.daraja.security import security_credential
from hazina_payments_gateway.adapters.inbox import InboxProcessor, InboxWriter, StaffInbox
from hazina_payments_gateway.adapters.read_models import (
    GATEWAY_DDL,
    GatewayIndex,
    PostgresReferenceBook,
    ensure_tables,
    gateway_batches,
)
from hazina_payments_gateway.adapters.reconciliation import PostgresReconciliation, parse_statement
from hazina_payments_gateway.api.app import create_app
from hazina_payments_gateway.api.deps import CallbackPolicy, GatewayApi
from hazina_payments_gateway.application.dispatcher import Dispatcher
from hazina_payments_gateway.application.gateway import PaymentsGateway
from hazina_payments_gateway.application.ports import (
    Accepted,
    Clock,
    PullFailedError,
    ReadC2B,
    ReadStatement,
)
from hazina_payments_gateway.domain.disbursement import Disbursement, DisbursementPolicy
from hazina_payments_gateway.domain.rules import B2CTariff, check_callback_url
from hazina_payments_gateway.settings import PaymentsSettings
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.database import conninfo_for
from hazina_servicekit.outbox import ContractMapping
from hazina_servicekit.ownership import OWNERSHIP_SUBJECTS, OwnershipBook, record_ownership
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.parts import ServiceParts, staff_token_verifier
from hazina_servicekit.projection import Projection
from hazina_servicekit.runtime import Worker
from hazina_servicekit.service import Consumer, Relay, Runtime, event_store, open_store

SERVICE = "payments"
log = structlog.get_logger(__name__)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(kw_only=True)
class Container(ServiceParts[PaymentsSettings]):
    app: PaymentsGateway
    projection: Projection
    index: GatewayIndex
    references: PostgresReferenceBook
    ownership: OwnershipBook
    daraja: DarajaClient
    dispatcher: Dispatcher
    inbox_writer: InboxWriter
    inbox: InboxProcessor
    staff_inbox: StaffInbox
    reconciliation: PostgresReconciliation
    read_c2b: ReadC2B
    read_statement: ReadStatement
    to_contract: ContractMapping
    clock: Clock


def policy_from(settings: PaymentsSettings) -> DisbursementPolicy:
    return DisbursementPolicy(
        send_lease=timedelta(seconds=settings.b2c_send_lease_seconds),
        result_timeout=timedelta(seconds=settings.b2c_result_timeout_seconds),
        status_result_timeout=timedelta(seconds=settings.status_result_timeout_seconds),
        status_retry_delays=tuple(timedelta(seconds=s) for s in settings.status_retry_seconds)
        or (timedelta(0),),
    )


def _credential(settings: PaymentsSettings) -> str:
    if settings.mpesa_security_credential is not None:
        return settings.mpesa_security_credential.get_secret_value()
    if settings.mpesa_initiator_password is not None and settings.mpesa_certificate_path:
        certificate = Path(settings.mpesa_certificate_path).read_bytes()
        return security_credential(
            settings.mpesa_initiator_password.get_secret_value(), certificate
        )
    log.warning(
        "mpesa_security_credential_missing",
        hint="set MPESA_INITIATOR_PASSWORD and MPESA_CERTIFICATE_PATH, or MPESA_SECURITY_CREDENTIAL",
    )
    return ""


def daraja_settings(settings: PaymentsSettings) -> DarajaSettings:
    token = (
        settings.mpesa_callback_token.get_secret_value() if settings.mpesa_callback_token else ""
    )
    if token:
        check_callback_url(f"{settings.mpesa_callback_base_url}/api/pay/b2c/result/{token}")
    return DarajaSettings(
        base_url=settings.mpesa_base_url,
        consumer_key=settings.mpesa_consumer_key.get_secret_value(),
        consumer_secret=settings.mpesa_consumer_secret.get_secret_value(),
        initiator_name=settings.mpesa_initiator_name,
        security_credential=_credential(settings),
        b2c_shortcode=settings.mpesa_b2c_shortcode,
        c2b_shortcode=settings.mpesa_c2b_shortcode,
        stk_shortcode=settings.mpesa_stk_shortcode,
        stk_passkey=settings.mpesa_stk_passkey.get_secret_value(),
        callback_base_url=settings.mpesa_callback_base_url,
        callback_token=token,
        b2c_command_id=settings.mpesa_b2c_command_id,
        connect_timeout_seconds=settings.http_connect_timeout_seconds,
        read_timeout_seconds=settings.http_read_timeout_seconds,
    )


def consumers(app: PaymentsGateway) -> list[Consumer]:
    """What the gateway learns from the other services, each a durable ``payments-<name>``."""
    return [
        Consumer(
            Stream.ORIGINATION,
            "references",
            subscriptions.REFERENCE_SUBJECTS,
            subscriptions.on_reference_event,
        ),
        # Who owns which loan (officer scoping); its own durable, which reads the stream from
        # its start (an existing durable given new subjects resumes where it was).
        Consumer(Stream.ORIGINATION, "ownership", OWNERSHIP_SUBJECTS, record_ownership),
        Consumer(
            Stream.ORIGINATION,
            "disbursements",
            subscriptions.DISBURSEMENT_SUBJECTS,
            subscriptions.disbursement_handler(app),
        ),
        Consumer(
            Stream.USSD, "prompts", subscriptions.PROMPT_SUBJECTS, subscriptions.prompt_handler(app)
        ),
        # One posting per C2B payment, as many as the callbacks: in batches, one transaction each.
        Consumer(
            Stream.LEDGER,
            "postings",
            subscriptions.LEDGER_SUBJECTS,
            subscriptions.on_ledger_event,
            batch_handler=subscriptions.on_ledger_events,
            batch_size=200,
        ),
    ]


def build(
    settings: PaymentsSettings,
    *,
    clock: Clock | None = None,
    verifier: TokenVerifier | None = None,
) -> Container:
    clock = clock or SystemClock()
    pool = open_store(settings, pool_size=16)
    ensure_tables(pool)
    policy = policy_from(settings)
    index = GatewayIndex(pool, policy)
    references = PostgresReferenceBook(pool)
    app = PaymentsGateway(
        event_store(settings),
        clock=clock,
        tariff=B2CTariff.parse(settings.b2c_tariff),
        policy=policy,
        references=references,
        index=index,
        not_sent_retry=timedelta(seconds=settings.not_sent_retry_seconds),
        stk_query_after=timedelta(seconds=settings.stk_query_after_seconds),
        stk_query_attempts=settings.stk_query_attempts,
    )
    parking = ParkingLot(pool, app)
    projection = Projection(
        app, pool, "gateway", ddl=GATEWAY_DDL, parking=parking, batches=gateway_batches(app)
    )
    daraja = DarajaClient(daraja_settings(settings))
    dispatcher = Dispatcher(
        app,
        daraja,
        index,
        refresh=projection.catch_up,
        interval_seconds=settings.dispatch_interval_seconds,
    )
    app.on_work = dispatcher.wake
    handlers, batch_handlers = callback_handlers(app)
    inbox = InboxProcessor(
        pool,
        handlers,
        batch_handlers=batch_handlers,
        before_batch=projection.catch_up,
        interval_seconds=settings.inbox_interval_seconds,
        retry_delay=timedelta(seconds=settings.inbox_retry_seconds),
        max_attempts=settings.inbox_max_attempts,
    )
    writer = InboxWriter(conninfo_for(settings.database_url), settings.db_schema)
    writer.on_stored = inbox.wake

    def load_disbursement(originator_id: uuid.UUID, version: int) -> Disbursement:
        disbursement: Disbursement = app.repository.get(originator_id, version=version)
        return disbursement

    to_contract = contract_mapper(load_disbursement)
    container = Container(
        settings=settings,
        pool=pool,
        app=app,
        projection=projection,
        parking=parking,
        index=index,
        references=references,
        ownership=OwnershipBook(pool),
        daraja=daraja,
        dispatcher=dispatcher,
        inbox_writer=writer,
        inbox=inbox,
        staff_inbox=StaffInbox(pool, inbox),
        reconciliation=PostgresReconciliation(pool),
        read_c2b=parse_c2b,
        read_statement=parse_statement,
        to_contract=to_contract,
        clock=clock,
        verifier=staff_token_verifier(settings, verifier),
    )
    container.run_service(
        SERVICE,
        app,
        http_app,
        relay=Relay(Stream.PAYMENTS, to_contract),
        consumers=consumers(app),
        projections=[projection],
        workers=own_workers(container),
        on_stop=[daraja.aclose],
        # A drain waits on pull subscriptions far longer than a shutdown should.
        drain_nats=False,
    )
    return container


def own_workers(container: Container) -> list[Worker]:
    """The dispatcher, the callback inbox, Daraja's pull and C2B URL registration, as configured."""
    settings = container.settings
    workers: list[Worker] = []
    if settings.dispatching:
        workers.append(container.dispatcher.run)
    if settings.inbox_processing:
        workers.append(container.inbox.run)
    if settings.pull_interval_seconds > 0:
        workers.append(pull_worker(container))
    if settings.mpesa_register_c2b_on_start:
        workers.append(register_c2b_urls(container))
    return workers


def pull_worker(container: Container) -> Worker:
    """Every ``PAYMENTS_PULL_INTERVAL_SECONDS``: Daraja's Pull Transactions over a trailing window."""

    async def run(stop: asyncio.Event) -> None:
        interval = container.settings.pull_interval_seconds
        window = timedelta(seconds=container.settings.pull_window_seconds)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            if stop.is_set():
                return
            end = datetime.now(UTC)
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


def register_c2b_urls(container: Container) -> Worker:
    """Tell Daraja where C2B validations and confirmations go, retrying until it accepts."""

    async def register(_: asyncio.Event) -> None:
        settings = container.settings
        for attempt in range(30):
            result = await container.daraja.register_c2b_urls(
                response_type=settings.mpesa_c2b_response_type
            )
            if isinstance(result, Accepted):
                log.info("c2b_urls_registered", shortcode=settings.mpesa_c2b_shortcode)
                return
            log.warning("c2b_url_registration_failed", result=str(result), attempt=attempt + 1)
            await asyncio.sleep(min(2.0 * (attempt + 1), 10.0))

    return register


def http_app(container: Container, runtime: Runtime) -> FastAPI:
    """The gateway's HTTP app over the parts ``build`` made, with the workers ``runtime`` brings."""
    settings = container.settings
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
    return create_app(api, runtime)


def build_app(
    container: Container, *, verifier: TokenVerifier | None = None, nats_name: str = SERVICE
) -> FastAPI:
    """The gateway's HTTP app (``verifier`` replaces the one ``build`` chose: a test's)."""
    if verifier is not None:
        container.verifier = container.service.verifier = verifier
    return container.service.http_app(nats_name=nats_name)
