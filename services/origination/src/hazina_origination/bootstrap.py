"""The one place origination is wired together: settings in, a ready container out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from hazina_contracts.subjects import Stream
from hazina_origination.adapters.consumers import (
    IDENTITY_SUBJECTS,
    LEDGER_SUBJECTS,
    LOAN_BALANCE_SUBJECTS,
    PAYMENTS_SUBJECTS,
    ledger_batch_handler,
    ledger_handler,
    loan_balances_batch_handler,
    loan_balances_handler,
    payments_handler,
    staff_handler,
)
from hazina_origination.adapters.contract_mapping import to_contract
from hazina_origination.adapters.photo_store import FilePhotoStore
from hazina_origination.adapters.read_models import DDL, CatchingUpLookups, ReadModels, apply_event
from hazina_origination.adapters.spreadsheets import read_rows
from hazina_origination.adapters.ussd_applications import USSD_SUBJECTS, ussd_handler
from hazina_origination.api.app import create_app
from hazina_origination.api.deps import OriginationApi
from hazina_origination.api.upload_links import UploadLinks
from hazina_origination.application.origination import Origination
from hazina_origination.settings import OriginationSettings
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.database import open_pool
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.parts import ServiceParts, staff_token_verifier
from hazina_servicekit.projection import Projection
from hazina_servicekit.service import Consumer, Relay, Runtime, event_store, open_store

SERVICE = "origination"
log = structlog.get_logger(__name__)


@dataclass(kw_only=True)
class Container(ServiceParts[OriginationSettings]):
    app: Origination
    reads: ConnectionPool
    read_models: ReadModels
    projection: Projection
    photos: FilePhotoStore
    links: UploadLinks

    def close(self) -> None:
        self.reads.close()
        super().close()  # the application, then the pool


def consumers(app: Origination) -> list[Consumer]:
    """What origination learns from the other services, each a durable ``origination-<name>``."""
    return [
        Consumer(Stream.PAYMENTS, "payments", PAYMENTS_SUBJECTS, payments_handler(app)),
        # The ledger's events come one or more per C2B payment: taken in batches, a transaction
        # and a few statements per batch (the handler still applies a batch taken apart).
        Consumer(
            Stream.LEDGER,
            "ledger",
            LEDGER_SUBJECTS,
            ledger_handler(app),
            batch_handler=ledger_batch_handler(app),
        ),
        Consumer(
            Stream.LEDGER,
            "loan-balances",
            LOAN_BALANCE_SUBJECTS,
            loan_balances_handler(),
            batch_handler=loan_balances_batch_handler(),
        ),
        Consumer(Stream.IDENTITY, "staff", IDENTITY_SUBJECTS, staff_handler()),
        Consumer(Stream.USSD, "ussd", USSD_SUBJECTS, ussd_handler(app)),
    ]


def build(settings: OriginationSettings, *, verifier: TokenVerifier | None = None) -> Container:
    pool = open_store(settings)
    # The read models' queries each stand alone: on their own autocommit pool a query is one
    # round trip, not three (BEGIN, the query, COMMIT); a page of five queries pays five.
    reads = open_pool(settings.database_url, settings.db_schema, max_size=8, autocommit=True)
    read_models = ReadModels(reads)
    photos = FilePhotoStore(settings.uploads_path, max_pixels=settings.max_photo_pixels)
    holder: dict[str, Projection] = {}
    lookups = CatchingUpLookups(read_models, lambda: holder["projection"].catch_up())
    app = Origination(
        event_store(settings),
        lookups=lookups,
        photos=photos,
        max_photo_bytes=settings.max_photo_bytes,
        max_guarantees_per_client=settings.max_guarantees_per_client,
    )
    parking = ParkingLot(pool, app)
    projection = Projection(app, pool, "origination_read_models", apply_event, DDL, parking=parking)
    holder["projection"] = projection
    container = Container(
        settings=settings,
        pool=pool,
        app=app,
        reads=reads,
        read_models=read_models,
        projection=projection,
        parking=parking,
        photos=photos,
        verifier=staff_token_verifier(settings, verifier),
        links=UploadLinks(
            upload_signing_key(settings), ttl_seconds=settings.upload_link_ttl_seconds
        ),
    )
    container.run_service(
        SERVICE,
        app,
        http_app,
        relay=Relay(Stream.ORIGINATION, to_contract),
        consumers=consumers(app),
        projections=[projection],
    )
    return container


def upload_signing_key(settings: OriginationSettings) -> bytes:
    """The key from ORIGINATION_UPLOAD_SIGNING_KEY, else a random one for this process only: its
    links then open nowhere else, so several processes serving /uploads must share a set key."""
    if settings.upload_signing_key is not None:
        return settings.upload_signing_key.get_secret_value().encode()
    log.info("upload_signing_key_generated", scope="this process only")
    return secrets.token_bytes(32)


def http_app(container: Container, runtime: Runtime) -> FastAPI:
    """Origination's HTTP app over the parts ``build`` made, with the workers ``runtime`` brings."""
    api = OriginationApi(
        app=container.app,
        read_models=container.read_models,
        projection=container.projection,
        parking=container.parking,
        photos=container.photos,
        read_import_file=read_rows,
        links=container.links,
    )
    return create_app(api, runtime, max_import_bytes=container.settings.max_import_bytes)
