"""The ledger under test: a real PostgreSQL database per test, tokens signed by a test key,
a clock the test moves, and helpers that speak the other services' contract events."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.events.origination import (
    ClientOnboarded,
    GroupCreated,
    LoanApproved,
    LoanTerms,
)
from hazina_contracts.events.payments import DisbursementCompleted, PaymentReceived
from hazina_ledger.bootstrap import Container, build
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit import testing
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.ownership import record_ownership

ISSUER = "hazina-identity"
KID = "ledger-test-key"


@dataclass
class MovableClock:
    """Starts at a fixed business day; the test moves it."""

    current: dt.datetime = field(
        default_factory=lambda: dt.datetime(2025, 1, 1, 7, 0, tzinfo=dt.UTC)
    )

    def now(self) -> dt.datetime:
        return self.current

    def set_date(self, day: dt.date) -> None:
        self.current = dt.datetime(day.year, day.month, day.day, 7, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def verifier(signing_key: Ed25519PrivateKey) -> TokenVerifier:
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(signing_key.public_key(), as_dict=True)
    jwks = {"keys": [{**jwk, "kid": KID, "alg": "EdDSA", "use": "sig"}]}
    return TokenVerifier(lambda: jwks, issuer=ISSUER)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def settings(database_url: str, nats_url: str) -> LedgerSettings:
    # NATS even without workers: every app follows identity's token revocations from it.
    return LedgerSettings(database_url=database_url, nats_url=nats_url, run_workers=False)


@pytest.fixture
def container(
    settings: LedgerSettings, clock: MovableClock, verifier: TokenVerifier
) -> Iterator[Container]:
    with closing(build(settings, clock=clock, verifier=verifier)) as built:
        yield built


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(
        container.service.http_app(run_workers=False), raise_server_exceptions=False
    ) as test_client:
        yield test_client


class Staff:
    """Mints access tokens the way identity does, for any role."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.ids: dict[str, uuid.UUID] = {}

    def token(self, role: str, user_id: uuid.UUID | None = None) -> str:
        user_id = user_id or self.ids.setdefault(role, uuid.uuid4())
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims = {
            "sub": str(user_id),
            "role": role,
            "regions": [],
            "branch_id": None,
            "username": role,
            "typ": "access",
            "iss": ISSUER,
            "iat": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": KID})

    def headers(self, role: str, user_id: uuid.UUID | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, user_id)}"}


@pytest.fixture
def staff(signing_key: Ed25519PrivateKey) -> Staff:
    return Staff(signing_key)


def envelope(
    event: ContractEvent, producer: str = "test", event_id: uuid.UUID | None = None
) -> EventEnvelope:
    return testing.envelope(
        event, event_id=event_id, producer=producer, correlation_id=str(uuid.uuid4())
    )


FLAT_10_MONTHLY = {
    "interest_method": "flat",
    "interest_rate_percent": "10",
    "interest_rate_period": "month",
    "repayment_frequency": "monthly",
    "term": 6,
}


def loan_approved(
    loan_id: uuid.UUID,
    client_id: uuid.UUID,
    principal_cents: int = 2_000_000,
    *,
    officer_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    allocation: str | None = None,
    **terms: Any,
) -> LoanApproved:
    spec = {**FLAT_10_MONTHLY, **terms}
    return LoanApproved(
        occurred_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        actor_id=uuid.uuid4(),
        loan_id=loan_id,
        account_number=f"L{loan_id.hex[:6].upper()}",
        client_id=client_id,
        group_id=group_id,
        loan_officer_id=officer_id,
        principal_cents=principal_cents,
        terms=LoanTerms(
            product_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
            product_name="business",
            interest_method=spec["interest_method"],
            interest_rate_percent=spec["interest_rate_percent"],
            interest_rate_period=spec["interest_rate_period"],
            repayment_frequency=spec["repayment_frequency"],
            term=spec["term"],
            **({"allocation": allocation} if allocation else {}),
        ),
    )


def disbursement_completed(
    loan_id: uuid.UUID,
    amount_cents: int = 2_000_000,
    *,
    on: dt.date = dt.date(2025, 1, 1),
    charge_cents: int = 1_300,
    disbursement_id: uuid.UUID | None = None,
) -> DisbursementCompleted:
    at = dt.datetime(on.year, on.month, on.day, 9, 0, tzinfo=dt.UTC)
    return DisbursementCompleted(
        occurred_at=at,
        disbursement_id=disbursement_id or uuid.uuid5(loan_id, "disbursement"),
        loan_id=loan_id,
        amount_cents=amount_cents,
        charge_cents=charge_cents,
        mpesa_receipt=f"B2C{loan_id.hex[:7].upper()}",
        completed_at=at,
    )


def payment_received(
    receipt: str,
    amount_cents: int,
    *,
    loan_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    target: str = "loan",
    on: dt.date = dt.date(2025, 2, 1),
    reference: str = "REF",
) -> PaymentReceived:
    at = dt.datetime(on.year, on.month, on.day, 9, 0, tzinfo=dt.UTC)
    return PaymentReceived(
        occurred_at=at,
        receipt=receipt,
        amount_cents=amount_cents,
        msisdn=None,
        account_reference=reference,
        loan_id=loan_id,
        client_id=client_id,
        target=target,
        paid_at=at,
        channel="c2b",  # type: ignore[arg-type]
    )


def client_onboarded(
    client_id: uuid.UUID, group_id: uuid.UUID | None = None, national_id: str = "12345678"
) -> ClientOnboarded:
    return ClientOnboarded(
        occurred_at=dt.datetime(2024, 12, 1, tzinfo=dt.UTC),
        actor_id=None,
        client_id=client_id,
        group_id=group_id,
        name="Wanjiku Kamau",
        national_id=national_id,
        phone="254712345678",
        status="active",
    )


def deliver(container: Container, event: ContractEvent | EventEnvelope) -> EventEnvelope:
    """Deliver one event as servicekit's DurableConsumer would: handler inside a transaction."""
    env = event if isinstance(event, EventEnvelope) else envelope(event)
    with container.pool.connection() as conn, conn.transaction():
        container.inbox.handle(env, conn)
    return env


def group_created(group_id: uuid.UUID, officer_id: uuid.UUID | None) -> GroupCreated:
    return GroupCreated(
        occurred_at=dt.datetime(2024, 11, 1, tzinfo=dt.UTC),
        actor_id=officer_id,
        group_id=group_id,
        name=f"Umoja {group_id.hex[:6]}",
        status="active",
        loan_officer_id=officer_id,
    )


def own(
    container: Container,
    officer_id: uuid.UUID,
    *,
    client_id: uuid.UUID,
    loan_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Deliver origination's events saying ``officer_id``'s group holds the client (and the loan)
    to the ownership handler, as the ``ledger-ownership`` consumer does; returns the group id."""
    group_id = uuid.uuid4()
    events: list[ContractEvent] = [
        group_created(group_id, officer_id),
        client_onboarded(client_id, group_id),
    ]
    if loan_id is not None:
        events.append(loan_approved(loan_id, client_id, officer_id=officer_id, group_id=group_id))
    for event in events:
        with container.pool.connection() as conn, conn.transaction():
            record_ownership(envelope(event), conn)
    return group_id


def open_loan(
    container: Container,
    principal_cents: int = 2_000_000,
    *,
    client_id: uuid.UUID | None = None,
    on: dt.date = dt.date(2025, 1, 1),
    **terms: Any,
) -> tuple[uuid.UUID, uuid.UUID]:
    loan_id, client_id = uuid.uuid4(), client_id or uuid.uuid4()
    deliver(
        container,
        client_onboarded(client_id, national_id=str(10_000_000 + hash(client_id) % 89_999_999)),
    )
    deliver(container, loan_approved(loan_id, client_id, principal_cents, **terms))
    deliver(container, disbursement_completed(loan_id, principal_cents, on=on))
    return loan_id, client_id


@pytest.fixture
def h() -> Any:
    """Helpers as a fixture (test modules cannot import conftest in importlib mode)."""
    return SimpleNamespace(
        envelope=envelope,
        loan_approved=loan_approved,
        disbursement_completed=disbursement_completed,
        payment_received=payment_received,
        client_onboarded=client_onboarded,
        group_created=group_created,
        own=own,
        deliver=deliver,
        open_loan=open_loan,
    )
