"""The one place the gateway is wired together: settings in, a ready container out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from psycopg_pool import ConnectionPool

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
    gateway_projector,
)
from hazina_payments_gateway.adapters.reconciliation import PostgresReconciliation, parse_statement
from hazina_payments_gateway.application.dispatcher import Dispatcher
from hazina_payments_gateway.application.gateway import PaymentsGateway
from hazina_payments_gateway.application.ports import Clock, ReadC2B, ReadStatement
from hazina_payments_gateway.domain.disbursement import Disbursement, DisbursementPolicy
from hazina_payments_gateway.domain.rules import B2CTariff, check_callback_url
from hazina_payments_gateway.settings import PaymentsSettings
from hazina_servicekit.consumer import Handler, replay_parked_messages
from hazina_servicekit.database import conninfo_for, ensure_schema, open_pool
from hazina_servicekit.eventstore import postgres_env
from hazina_servicekit.outbox import ContractMapping, queue_retried_events
from hazina_servicekit.ownership import OwnershipBook, record_ownership
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.projection import Projection

log = structlog.get_logger(__name__)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Container:
    settings: PaymentsSettings
    pool: ConnectionPool
    app: PaymentsGateway
    projection: Projection
    parking: ParkingLot
    consumers: dict[str, Handler]  # each durable consumer's handler, by its name
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

    def close(self) -> None:
        self.app.close()
        self.pool.close()


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


def consumer_handlers(app: PaymentsGateway) -> dict[str, Handler]:
    """The handler of each durable consumer (``payments-<name>``), by name."""
    return {
        "references": subscriptions.on_reference_event,
        "disbursements": subscriptions.disbursement_handler(app),
        "prompts": subscriptions.prompt_handler(app),
        "postings": subscriptions.on_ledger_event,
        "ownership": record_ownership,
    }


def build(settings: PaymentsSettings, *, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    ensure_schema(settings.database_url, settings.db_schema)
    pool = open_pool(settings.database_url, settings.db_schema, max_size=16)
    ensure_tables(pool)
    policy = policy_from(settings)
    index = GatewayIndex(pool, policy)
    references = PostgresReferenceBook(pool)
    app = PaymentsGateway(
        postgres_env(settings.database_url, settings.db_schema),
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
    consumers = consumer_handlers(app)
    for name, handler in consumers.items():  # staff can retry their parked messages without NATS
        replay_parked_messages(parking, f"payments-{name}", handler)
    projection = Projection(
        app, pool, "gateway", gateway_projector(app), GATEWAY_DDL, parking=parking
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
    projection.start()  # an event it cannot apply is parked: start-up never fails on one

    def load_disbursement(originator_id: uuid.UUID, version: int) -> Disbursement:
        disbursement: Disbursement = app.repository.get(originator_id, version=version)
        return disbursement

    to_contract = contract_mapper(load_disbursement)
    queue_retried_events(parking, app, "payments", to_contract)
    return Container(
        settings=settings,
        pool=pool,
        app=app,
        projection=projection,
        parking=parking,
        consumers=consumers,
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
    )
