"""One way to declare a service: what it publishes, what it consumes, what it follows, what it
runs on a timer, and its HTTP app, as data. servicekit turns the declaration into the running
process (NATS link, relay, durable consumers, projection followers, singleton jobs, readiness,
token revocations), so every service is wired the same way and a new one is a copy of identity
plus its domain.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from eventsourcing.application import Application
from fastapi import FastAPI
from nats.js import JetStreamContext
from psycopg_pool import ConnectionPool

from hazina_contracts.subjects import Stream
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.consumer import (
    BatchHandler,
    DurableConsumer,
    Handler,
    replay_parked_messages,
)
from hazina_servicekit.database import ensure_schema, open_pool, ping
from hazina_servicekit.errors import add_error_handlers
from hazina_servicekit.eventstore import postgres_env
from hazina_servicekit.health import ReadinessCheck, health_router
from hazina_servicekit.http import add_http_middleware
from hazina_servicekit.openapi import document_urls
from hazina_servicekit.outbox import (
    ContractMapping,
    OutboxRelay,
    advisory_key,
    queue_retried_events,
)
from hazina_servicekit.parking import ParkingLot
from hazina_servicekit.revocation import follow_revocations
from hazina_servicekit.runtime import (
    NatsLink,
    Worker,
    consumer_worker,
    running_workers,
    stream_worker,
)
from hazina_servicekit.settings import ServiceSettings

log = structlog.get_logger(__name__)


class StoredSettings(Protocol):
    """Settings naming where a service keeps its events and tables."""

    @property
    def database_url(self) -> str: ...

    @property
    def db_schema(self) -> str: ...


def open_store(settings: StoredSettings, *, pool_size: int = 8) -> ConnectionPool:
    """The service's schema (made on first start) and a pool of connections into it."""
    ensure_schema(settings.database_url, settings.db_schema)
    return open_pool(settings.database_url, settings.db_schema, max_size=pool_size)


def event_store(settings: StoredSettings, *, pool_size: int = 5) -> dict[str, str]:
    """The ``env`` of the service's ``eventsourcing`` application, in its own schema."""
    return postgres_env(settings.database_url, settings.db_schema, pool_size=pool_size)


@dataclass(frozen=True)
class Relay:
    """The service's stored events, mapped to contract events, published on ``stream``."""

    stream: Stream
    to_contract: ContractMapping


@dataclass(frozen=True)
class Consumer:
    """A durable consumer ``<service>-<durable>`` of ``subjects`` on another service's stream.

    With a ``batch_handler`` it runs in batch mode: up to ``batch_size`` waiting messages (a
    linger of ``linger_seconds`` at most for more) in one transaction, acknowledged after its
    commit; ``handler`` still applies one message alone (a batch taken apart, a parked retry).
    """

    stream: Stream
    durable: str
    subjects: Sequence[str]
    handler: Handler
    batch_handler: BatchHandler | None = None
    batch_size: int = 100
    linger_seconds: float = 0.005
    # How long a message taken by a process that died waits before it is delivered again.
    ack_wait_seconds: float = 30.0


@dataclass(frozen=True)
class Job:
    """Blocking ``work`` run every ``every_seconds`` by one process of the service at a time."""

    name: str
    every_seconds: float
    work: Callable[[], object]


class Followed(Protocol):
    """A read model kept from the service's own events (``Projection`` and its kin)."""

    def start(self) -> None: ...

    async def follow(self, stop: asyncio.Event) -> None: ...


@dataclass
class Runtime:
    """What the HTTP app factory is handed: readiness checks, background workers, closers."""

    link: NatsLink
    readiness: dict[str, ReadinessCheck]
    workers: list[Worker]
    on_shutdown: list[Callable[[], Awaitable[None]]]
    settings: ServiceSettings
    verifier: TokenVerifier | None = None


@dataclass
class Service:
    """A service, declared. ``build`` in each ``bootstrap.py`` makes its parts and lists them here."""

    name: str
    settings: ServiceSettings
    app: Application[uuid.UUID]
    pool: ConnectionPool
    parking: ParkingLot
    http: Callable[[Runtime], FastAPI]
    relay: Relay | None = None
    consumers: Sequence[Consumer] = ()
    projections: Sequence[Followed] = ()
    jobs: Sequence[Job] = ()
    # Long-running loops of the service's own (a dispatcher, an inbox processor).
    workers: Sequence[Worker] = ()
    # How its API judges staff tokens (identity's own keys, or identity's JWKS for the others).
    verifier: TokenVerifier | None = None
    # What the service closes on the way out, after its workers stopped (an HTTP client).
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()
    # Identity judges tokens from its own tables; every other service follows its revocations.
    follows_revocations: bool = True
    # Close NATS without draining (a drain waits on pull subscriptions longer than a shutdown).
    drain_nats: bool = True
    started: bool = field(default=False, init=False)

    def start(self) -> None:
        """Let staff retry parked events and messages even without NATS; bring read models up.

        An event a projection cannot apply is parked: start-up never fails on one.
        """
        if self.started:
            return
        self.started = True
        if self.relay is not None:
            queue_retried_events(self.parking, self.app, self.name, self.relay.to_contract)
        for consumer in self.consumers:
            replay_parked_messages(self.parking, self.durable_name(consumer), consumer.handler)
        for projection in self.projections:
            projection.start()

    def durable_name(self, consumer: Consumer) -> str:
        return f"{self.name}-{consumer.durable}"

    def outbox_relay(self, js: JetStreamContext, *, name: str = "nats") -> OutboxRelay:
        """The relay of this process (one per service holds its advisory lock at a time)."""
        if self.relay is None:
            raise LookupError(f"{self.name} publishes no events")
        return OutboxRelay(
            app=self.app,
            js=js,
            pool=self.pool,
            producer=self.name,
            to_contract=self.relay.to_contract,
            name=name,
            parking=self.parking,
        )

    def durable_consumer(self, js: JetStreamContext, durable: str) -> DurableConsumer:
        """The declared consumer ``durable``, bound to a JetStream context."""
        consumer = next(c for c in self.consumers if c.durable == durable)
        return DurableConsumer(
            js=js,
            pool=self.pool,
            service=self.name,
            name=consumer.durable,
            stream=consumer.stream.value,
            subjects=list(consumer.subjects),
            handler=consumer.handler,
            parking=self.parking,
            batch_handler=consumer.batch_handler,
            batch_size=consumer.batch_size,
            linger_seconds=consumer.linger_seconds,
            ack_wait_seconds=consumer.ack_wait_seconds,
        )

    def link(self, name: str | None = None) -> NatsLink:
        return NatsLink(self.settings.nats_url, name=name or self.name)

    def relay_worker(self, link: NatsLink) -> Worker:
        relay = self.relay
        if relay is None:
            raise LookupError(f"{self.name} publishes no events")

        async def run(js: JetStreamContext, stop: asyncio.Event) -> None:
            await self.outbox_relay(js).run(stop)

        return stream_worker(link, relay.stream, run, duplicate_window_seconds=self._window)

    def consumer_workers(self, link: NatsLink) -> list[Worker]:
        return [
            consumer_worker(
                link, self._consumer_maker(c.durable), duplicate_window_seconds=self._window
            )
            for c in self.consumers
        ]

    def _consumer_maker(self, durable: str) -> Callable[[JetStreamContext], DurableConsumer]:
        def make(js: JetStreamContext) -> DurableConsumer:
            return self.durable_consumer(js, durable)

        return make

    def background(self, link: NatsLink) -> list[Worker]:
        """Every worker the declaration implies: relay, consumers, followers, jobs, its own loops."""
        return [
            *([self.relay_worker(link)] if self.relay is not None else []),
            *self.consumer_workers(link),
            *(projection.follow for projection in self.projections),
            *(singleton_job(self.pool, self.name, job) for job in self.jobs),
            *self.workers,
        ]

    def runtime(self, *, link: NatsLink | None = None, run_workers: bool | None = None) -> Runtime:
        link = link or self.link()
        pool = self.pool

        async def database_ready() -> bool:
            return await asyncio.to_thread(ping, pool)

        run = self.settings.run_workers if run_workers is None else run_workers
        return Runtime(
            link=link,
            readiness={"postgres": database_ready, "nats": link.ready},
            workers=self.background(link) if run else [],
            on_shutdown=[*self.on_stop, link.close if self.drain_nats else _closer(link)],
            settings=self.settings,
            verifier=self.verifier,
        )

    def http_app(
        self,
        *,
        link: NatsLink | None = None,
        run_workers: bool | None = None,
        nats_name: str | None = None,
    ) -> FastAPI:
        """The service's HTTP app with its workers for the app's lifetime."""
        runtime = self.runtime(link=link or self.link(nats_name), run_workers=run_workers)
        app = self.http(runtime)
        if self.follows_revocations:
            follow_revocations(app, runtime.link, self.settings)
        return app

    def run_without_http(self, pick: Callable[[NatsLink], Sequence[Worker]] | None = None) -> None:
        """Run the background workers (or those ``pick`` chooses) in this process until a signal,
        then stop them and close what the service closes on the way out."""
        link = self.link(f"{self.name}-workers")
        workers = pick(link) if pick is not None else self.background(link)
        closers = [*self.on_stop, link.close if self.drain_nats else _closer(link)]

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            async with running_workers(workers, on_shutdown=closers):
                await stop.wait()

        asyncio.run(main())

    @property
    def _window(self) -> int:
        return self.settings.stream_duplicate_window_seconds


def service_app(
    name: str,
    runtime: Runtime,
    *,
    title: str | None = None,
    settings: ServiceSettings | None = None,
    verifier: TokenVerifier | None = None,
    state: Mapping[str, object],
    errors: Mapping[type[Exception], int],
    opening: Sequence[Callable[[], Awaitable[None]]] = (),
    closing: Sequence[Callable[[], Awaitable[None]]] = (),
    **middleware: Any,
) -> FastAPI:
    """A service's FastAPI app before its routes: the workers for its lifetime, the middleware
    and error model every service shares, ``app.state`` for its dependencies, its health routes.

    ``opening`` runs before the workers start, ``closing`` after they stopped (with the runtime's).
    The settings and token verifier are the runtime's unless given; the title is "Hazina <name>".
    """
    settings = settings or runtime.settings
    verifier = verifier or runtime.verifier
    if verifier is None:
        raise ValueError(f"{name} has no token verifier: declare Service(verifier=...)")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for open_ in opening:
            await open_()
        async with running_workers(runtime.workers, on_shutdown=[*closing, *runtime.on_shutdown]):
            yield

    app = FastAPI(
        title=title or f"Hazina {name}", version="0.1.0", lifespan=lifespan, **document_urls(name)
    )
    for key, value in state.items():
        setattr(app.state, key, value)
    app.state.token_verifier = verifier
    add_http_middleware(
        app,
        cors_origins=settings.cors_origins,
        max_body_bytes=settings.max_body_bytes,
        **middleware,
    )
    add_error_handlers(app, errors)
    app.include_router(health_router(name, runtime.readiness))
    return app


def _closer(link: NatsLink) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        nc = link.nc
        link.nc = None
        if nc is not None and not nc.is_closed:
            await nc.close()

    return close


def job_lock_key(service: str, job: str) -> int:
    """The PostgreSQL advisory lock one job of one service runs under."""
    return advisory_key(f"job:{service}:{job}")


def run_job_once(pool: ConnectionPool, service: str, job: Job) -> bool:
    """Run ``job`` now unless another process runs it at this moment (then say so: False)."""
    with pool.connection() as conn, conn.transaction():
        row = conn.execute(
            "SELECT pg_try_advisory_xact_lock(%s)", (job_lock_key(service, job.name),)
        ).fetchone()
        if not (row and row[0]):
            return False
        job.work()  # the lock is the transaction's: it goes when the work ends, however it ends
    return True


def singleton_job(pool: ConnectionPool, service: str, job: Job) -> Worker:
    """A worker running ``job`` in a thread every ``job.every_seconds`` until stopped."""

    async def worker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(run_job_once, pool, service, job)
            except Exception as exc:  # the next round retries
                log.warning("periodic_work_failed", work=job.name, error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=job.every_seconds)

    return worker
