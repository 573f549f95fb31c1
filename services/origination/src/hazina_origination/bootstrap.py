"""The one place origination is wired together: settings in, a ready container out."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from nats.js import JetStreamContext
from psycopg_pool import ConnectionPool

from hazina_contracts.subjects import Stream
from hazina_origination.adapters.consumers import (
    IDENTITY_SUBJECTS,
    LEDGER_SUBJECTS,
    LOAN_BALANCE_SUBJECTS,
    PAYMENTS_SUBJECTS,
    ledger_handler,
    loan_balances_handler,
    payments_handler,
    staff_handler,
)
from hazina_origination.adapters.contract_mapping import to_contract
from hazina_origination.adapters.photo_store import FilePhotoStore
from hazina_origination.adapters.read_models import DDL, CatchingUpLookups, ReadModels, apply_event
from hazina_origination.adapters.spreadsheets import read_rows
from hazina_origination.api.app import create_app
from hazina_origination.api.deps import OriginationApi
from hazina_origination.api.upload_links import UploadLinks
from hazina_origination.application.origination import Origination
from hazina_origination.settings import OriginationSettings
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.consumer import DurableConsumer, Handler, replay_parked_messages
from hazina_servicekit.database import ensure_schema, open_pool, ping
from hazina_servicekit.eventstore import postgres_env
from hazina_servicekit.outbox import OutboxRelay, queue_retried_events
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.projection import Projection
from hazina_servicekit.revocation import follow_revocations
from hazina_servicekit.runtime import NatsLink, Worker, consumer_worker, stream_worker

SERVICE = "origination"
log = structlog.get_logger(__name__)


@dataclass
class Container:
    settings: OriginationSettings
    pool: ConnectionPool
    app: Origination
    read_models: ReadModels
    projection: Projection
    parking: ParkingLot
    photos: FilePhotoStore
    verifier: TokenVerifier
    links: UploadLinks

    def close(self) -> None:
        self.app.close()
        self.pool.close()

    def relay(self, js: JetStreamContext, name: str = "nats") -> OutboxRelay:
        return OutboxRelay(
            app=self.app,
            js=js,
            pool=self.pool,
            producer=SERVICE,
            to_contract=to_contract,
            name=name,
            parking=self.parking,
        )

    def _consumer(
        self, js: JetStreamContext, name: str, stream: Stream, subjects: tuple[str, ...]
    ) -> DurableConsumer:
        return DurableConsumer(
            js=js,
            pool=self.pool,
            service=SERVICE,
            name=name,
            stream=stream.value,
            subjects=subjects,
            handler=consumer_handlers(self.app)[name],
            parking=self.parking,
        )

    def payments_consumer(self, js: JetStreamContext) -> DurableConsumer:
        return self._consumer(js, "payments", Stream.PAYMENTS, PAYMENTS_SUBJECTS)

    def ledger_consumer(self, js: JetStreamContext) -> DurableConsumer:
        return self._consumer(js, "ledger", Stream.LEDGER, LEDGER_SUBJECTS)

    def loan_balances_consumer(self, js: JetStreamContext) -> DurableConsumer:
        return self._consumer(js, "loan-balances", Stream.LEDGER, LOAN_BALANCE_SUBJECTS)

    def staff_consumer(self, js: JetStreamContext) -> DurableConsumer:
        return self._consumer(js, "staff", Stream.IDENTITY, IDENTITY_SUBJECTS)

    def consumers(self) -> list[Callable[[JetStreamContext], DurableConsumer]]:
        """Every durable consumer origination runs, each made once NATS is up."""
        return [
            self.payments_consumer,
            self.ledger_consumer,
            self.loan_balances_consumer,
            self.staff_consumer,
        ]


def consumer_handlers(app: Origination) -> dict[str, Handler]:
    """Each durable consumer's handler, by consumer name."""
    return {
        "payments": payments_handler(app),
        "ledger": ledger_handler(app),
        "loan-balances": loan_balances_handler(),
        "staff": staff_handler(),
    }


def build(settings: OriginationSettings, *, verifier: TokenVerifier | None = None) -> Container:
    ensure_schema(settings.database_url, settings.db_schema)
    pool = open_pool(settings.database_url, settings.db_schema)
    read_models = ReadModels(pool)
    photos = FilePhotoStore(settings.uploads_path, max_pixels=settings.max_photo_pixels)
    holder: dict[str, Projection] = {}
    lookups = CatchingUpLookups(read_models, lambda: holder["projection"].catch_up())
    app = Origination(
        postgres_env(settings.database_url, settings.db_schema),
        lookups=lookups,
        photos=photos,
        max_photo_bytes=settings.max_photo_bytes,
        max_guarantees_per_client=settings.max_guarantees_per_client,
    )
    parking = ParkingLot(pool, app)
    queue_retried_events(parking, app, SERVICE, to_contract)
    for name, handler in consumer_handlers(app).items():  # staff retry them even without NATS
        replay_parked_messages(parking, f"{SERVICE}-{name}", handler)
    projection = Projection(app, pool, "origination_read_models", apply_event, DDL, parking=parking)
    holder["projection"] = projection
    projection.start()  # an event it cannot apply is parked: start-up never fails on one
    return Container(
        settings=settings,
        pool=pool,
        app=app,
        read_models=read_models,
        projection=projection,
        parking=parking,
        photos=photos,
        verifier=verifier
        or TokenVerifier.from_url(settings.jwks_url, issuer=settings.token_issuer),
        links=UploadLinks(
            upload_signing_key(settings), ttl_seconds=settings.upload_link_ttl_seconds
        ),
    )


def upload_signing_key(settings: OriginationSettings) -> bytes:
    """The key from ORIGINATION_UPLOAD_SIGNING_KEY, else a random one for this process only: its
    links then open nowhere else, so several processes serving /uploads must share a set key."""
    if settings.upload_signing_key is not None:
        return settings.upload_signing_key.get_secret_value().encode()
    log.info("upload_signing_key_generated", scope="this process only")
    return secrets.token_bytes(32)


def workers(container: Container, link: NatsLink) -> list[Worker]:
    """The relay, every consumer and the projection follower that run beside the API."""
    settings = container.settings
    window = settings.stream_duplicate_window_seconds

    async def relay(js: JetStreamContext, stop: asyncio.Event) -> None:
        await container.relay(js).run(stop)

    return [
        stream_worker(link, Stream.ORIGINATION, relay, duplicate_window_seconds=window),
        *(
            consumer_worker(link, make, duplicate_window_seconds=window)
            for make in container.consumers()
        ),
        container.projection.follow,
    ]


def build_http_app(container: Container, *, link: NatsLink | None = None) -> FastAPI:
    settings = container.settings
    link = link or NatsLink(settings.nats_url, name=SERVICE)

    async def database_ready() -> bool:
        return await asyncio.to_thread(ping, container.pool)

    app = create_app(
        settings=settings,
        api=OriginationApi(
            app=container.app,
            read_models=container.read_models,
            projection=container.projection,
            parking=container.parking,
            photos=container.photos,
            read_import_file=read_rows,
            links=container.links,
        ),
        verifier=container.verifier,
        readiness={"postgres": database_ready, "nats": link.ready},
        workers=workers(container, link) if settings.run_workers else [],
        on_shutdown=[link.close],
        max_import_bytes=settings.max_import_bytes,
    )
    follow_revocations(app, link, settings)
    return app
