"""The gateway under test: real PostgreSQL, real NATS, the Daraja simulator over real HTTP.

Each test gets a fresh database and JetStream; the simulator runs once per session and is reset
before each test. The gateway is served by uvicorn on a real port so the simulator's callbacks
reach it over HTTP, exactly as Daraja's would.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.subjects import Stream
from hazina_payments_gateway.bootstrap import Container, build, build_app
from hazina_payments_gateway.settings import PaymentsSettings
from hazina_servicekit import testing
from hazina_servicekit.messaging import ensure_stream
from hazina_servicekit.testing import TokenMint
from hazina_simulators import certs
from hazina_simulators.common import RunningServer, reserve_socket, socket_url, start_in_thread
from hazina_simulators.daraja import DarajaConfig, DarajaSimulator, create_app

CALLBACK_TOKEN = "cb7f3e9a1d204c6b8e5f0a2d4c6b8e5f"
INITIATOR = "apiop_hazina"
INITIATOR_PASSWORD = "Test#Initiator&2025"
CONSUMER_KEY = "test-consumer-key"
CONSUMER_SECRET = "test-consumer-secret"
STK_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


@dataclass(frozen=True)
class DarajaSim:
    server: RunningServer
    sim: DarajaSimulator
    certificate_path: Path
    private_key_pem: str

    @property
    def url(self) -> str:
        return self.server.url

    def control(self, kind: str, outcome: str, count: int = 1, **extra: Any) -> None:
        body: dict[str, Any] = {"outcome": outcome, "count": count}
        if "delay_seconds" in extra:
            body["delay_seconds"] = extra.pop("delay_seconds")
        body["extra"] = extra
        response = httpx.post(f"{self.url}/_control/{kind}", json=body, timeout=5)
        assert response.status_code == 200, response.text

    def state(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/_control/state", timeout=5).json())

    def token(self) -> str:
        response = httpx.get(
            f"{self.url}/oauth/v1/generate",
            params={"grant_type": "client_credentials"},
            auth=(CONSUMER_KEY, CONSUMER_SECRET),
            timeout=5,
        )
        return str(response.json()["access_token"])

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=5,
        )


@pytest.fixture(scope="session")
def daraja_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    pair = certs.generate()
    path = tmp_path_factory.mktemp("certs") / "sandbox.cer"
    path.write_text(pair.certificate_pem)
    return path, pair.private_key_pem


@pytest.fixture(scope="session")
def daraja_session(daraja_keys: tuple[Path, str]) -> Iterator[DarajaSim]:
    cert_path, key_pem = daraja_keys
    config = DarajaConfig(
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        initiator_name=INITIATOR,
        initiator_password=INITIATOR_PASSWORD,
        private_key_pem=key_pem,
        stk_passkey=STK_PASSKEY,
        callback_delay_seconds=0.05,
        stk_pending_seconds=0.1,
        validation_timeout_seconds=2.0,
    )
    app = create_app(config)
    server = start_in_thread(app)
    try:
        yield DarajaSim(
            server=server, sim=app.state.sim, certificate_path=cert_path, private_key_pem=key_pem
        )
    finally:
        server.stop()


@pytest.fixture
def daraja(daraja_session: DarajaSim) -> DarajaSim:
    daraja_session.sim.reset()
    daraja_session.sim.config.utility_balance_cents = 5_000_000_00
    return daraja_session


@pytest.fixture(scope="session")
def staff() -> TokenMint:
    return TokenMint()


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what() if callable(what) else what or predicate}"
            )
        time.sleep(interval)


async def _publish(url: str, events: list[tuple[ContractEvent, uuid.UUID | None]]) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for stream in {type(e).STREAM for e, _ in events}:
            await ensure_stream(js, stream)
        await asyncio.gather(
            *(
                js.publish(env.subject, env.to_bytes(), headers={"Nats-Msg-Id": str(env.event_id)})
                for env in (envelope(e, i) for e, i in events)
            )
        )
    finally:
        await nc.close()


def envelope(event: ContractEvent, event_id: uuid.UUID | None = None) -> EventEnvelope:
    return testing.envelope(event, event_id=event_id, correlation_id=str(uuid.uuid4()))


async def _fetch(url: str, stream: Stream) -> list[EventEnvelope]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream.value)
        except Exception:
            return []
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(stream.value, seq)
            except Exception:  # noqa: S112 - a message deleted under us is simply not there
                continue
            out.append(EventEnvelope.from_bytes(msg.data))
        return out
    finally:
        await nc.close()


@dataclass
class Gateway:
    url: str
    container: Container
    server: RunningServer
    nats_url: str
    daraja: DarajaSim
    staff: TokenMint
    http: httpx.Client = field(init=False)
    stopped: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def publish(self, *events: ContractEvent, event_id: uuid.UUID | None = None) -> None:
        asyncio.run(_publish(self.nats_url, [(e, event_id) for e in events]))

    def events(
        self, stream: Stream = Stream.PAYMENTS, type_: str | None = None
    ) -> list[EventEnvelope]:
        found = asyncio.run(_fetch(self.nats_url, stream))
        return [e for e in found if type_ is None or e.type == type_]

    def wait_events(
        self, type_: str, count: int = 1, *, timeout: float = 10.0
    ) -> list[EventEnvelope]:
        return wait_until(
            lambda: (found := self.events(type_=type_)) and len(found) >= count and found,
            timeout=timeout,
            interval=0.1,
            what=f"{count} {type_}",
        )

    def callback(
        self, path: str, body: Any, *, token: str = CALLBACK_TOKEN, prefix: str = "/api/pay"
    ) -> httpx.Response:
        if isinstance(body, bytes | str):
            return self.http.post(
                f"{prefix}/{path}/{token}",
                content=body,
                headers={"Content-Type": "application/json"},
            )
        return self.http.post(f"{prefix}/{path}/{token}", json=body)

    def get(self, path: str, role: str = "super_admin", **kwargs: Any) -> httpx.Response:
        headers = {**self.staff.headers(role), **kwargs.pop("headers", {})}
        return self.http.get(path, headers=headers, **kwargs)

    def post(self, path: str, role: str = "super_admin", **kwargs: Any) -> httpx.Response:
        headers = {**self.staff.headers(role), **kwargs.pop("headers", {})}
        return self.http.post(path, headers=headers, **kwargs)

    def disbursement(self, disbursement_id: uuid.UUID) -> dict[str, Any]:
        response = self.get(f"/api/payments/disbursements/{disbursement_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_status(
        self, disbursement_id: uuid.UUID, status: str, *, timeout: float = 10.0
    ) -> dict[str, Any]:
        return wait_until(
            lambda: (d := self.disbursement(disbursement_id))["status"] == status and d,
            timeout=timeout,
            what=f"disbursement {status}",
        )

    def inbox(self) -> list[dict[str, Any]]:
        with self.container.pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, kind, status, outcome, error, processed_at, attempts, detail "
                "FROM callback_inbox ORDER BY id"
            ).fetchall()
        return [
            {
                "id": r[0],
                "kind": r[1],
                "status": r[2],
                "outcome": r[3],
                "error": r[4],
                "processed_at": r[5],
                "attempts": r[6],
                "detail": r[7],
            }
            for r in rows
        ]

    def wait_inbox(self, count: int, *, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The inbox once ``count`` rows are stored and none is pending any more."""
        return wait_until(
            lambda: (
                (rows := self.inbox())
                and len(rows) >= count
                and all(r["status"] != "pending" for r in rows)
                and rows
            ),
            timeout=timeout,
            what=lambda: f"{count} settled inbox rows; now {self.inbox()}",
        )

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.http.close()
        self.server.stop()
        self.container.close()


def gateway_settings(
    database_url: str, nats_url: str, daraja: DarajaSim, callback_base: str, **overrides: Any
) -> PaymentsSettings:
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "MPESA_BASE_URL": daraja.url,
        "MPESA_CONSUMER_KEY": CONSUMER_KEY,
        "MPESA_CONSUMER_SECRET": CONSUMER_SECRET,
        "MPESA_INITIATOR_NAME": INITIATOR,
        "MPESA_INITIATOR_PASSWORD": INITIATOR_PASSWORD,
        "MPESA_CERTIFICATE_PATH": str(daraja.certificate_path),
        "MPESA_STK_PASSKEY": STK_PASSKEY,
        "MPESA_CALLBACK_BASE_URL": callback_base,
        "MPESA_CALLBACK_TOKEN": CALLBACK_TOKEN,
        "PAYMENTS_HTTP_READ_TIMEOUT_SECONDS": 2.0,
        "PAYMENTS_B2C_RESULT_TIMEOUT_SECONDS": 1.0,
        "PAYMENTS_B2C_SEND_LEASE_SECONDS": 1.0,
        "PAYMENTS_STATUS_RESULT_TIMEOUT_SECONDS": 1.0,
        "PAYMENTS_STATUS_RETRY_SECONDS": "0,0.2,0.5",
        "PAYMENTS_NOT_SENT_RETRY_SECONDS": 0.2,
        "PAYMENTS_DISPATCH_INTERVAL_SECONDS": 0.05,
        "PAYMENTS_INBOX_INTERVAL_SECONDS": 0.05,
        "PAYMENTS_INBOX_RETRY_SECONDS": 0.1,
        "LOG_JSON": False,
        "LOG_LEVEL": "WARNING",
    }
    values.update(overrides)
    return PaymentsSettings(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]


@pytest.fixture
def start_gateway(
    database_url: str, nats_url: str, daraja: DarajaSim, staff: TokenMint
) -> Iterator[Callable[..., Gateway]]:
    """Start a gateway (several may run in one test against the same database: replicas, restarts)."""
    running: list[Gateway] = []

    def start(**overrides: Any) -> Gateway:
        sock = reserve_socket()
        url = socket_url(sock)
        settings = gateway_settings(database_url, nats_url, daraja, url, **overrides)
        container = build(settings)
        app = build_app(container, verifier=staff.verifier())
        server = start_in_thread(app, sock=sock)
        gateway = Gateway(
            url=url,
            container=container,
            server=server,
            nats_url=nats_url,
            daraja=daraja,
            staff=staff,
        )
        running.append(gateway)
        return gateway

    yield start
    for gateway in running:
        gateway.stop()


@pytest.fixture
def gateway(start_gateway: Callable[..., Gateway]) -> Gateway:
    return start_gateway()
