"""The USSD service under test: real PostgreSQL (a database per test), tokens the tests sign, a
clock the test moves, clients and loans delivered as the other services' events would be."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hazina_contracts.events import ledger, origination
from hazina_contracts.events.base import ContractEvent
from hazina_servicekit.testing import MovableClock, TokenMint, envelope
from hazina_ussd.bootstrap import Container, build
from hazina_ussd.settings import UssdSettings


@pytest.fixture(scope="session")
def mint() -> TokenMint:
    return TokenMint()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def make_settings(database_url: str, nats_url: str, **extra: Any) -> UssdSettings:
    return UssdSettings(
        database_url=database_url,
        nats_url=nats_url,
        run_workers=False,
        pin_argon2_time_cost=1,
        pin_argon2_memory_kib=64,
        **extra,
    )


@pytest.fixture
def settings(database_url: str, nats_url: str) -> UssdSettings:
    return make_settings(database_url, nats_url)


@pytest.fixture
def container(settings: UssdSettings, clock: MovableClock, mint: TokenMint) -> Iterator[Container]:
    with closing(build(settings, clock=clock, verifier=mint.verifier())) as built:
        yield built


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(container.service.http_app(), raise_server_exceptions=False) as test_client:
        yield test_client


class World:
    """Deliver other services' events through the service's own durable consumers' path."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.consumers = {
            c.durable: container.service.durable_consumer(None, c.durable)  # type: ignore[arg-type]
            for c in container.service.consumers
        }
        self.group_of: dict[uuid.UUID, uuid.UUID] = {}  # each client's group, by client id

    def deliver(
        self, durable: str, event: ContractEvent, event_id: uuid.UUID | None = None
    ) -> bool:
        return self.consumers[durable]._apply(envelope(event, event_id=event_id))

    def client(
        self,
        phone: str,
        *,
        national_id: str = "29001234",
        name: str = "Achieng Otieno",
        approved: bool = True,
        loan_officer_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        client_id, group_id = uuid.uuid4(), uuid.uuid4()
        now = datetime.now(UTC)
        officer = loan_officer_id or uuid.uuid4()
        # The client sits in their officer's group, as origination tells every service.
        self.deliver(
            "ownership",
            origination.GroupCreated(
                occurred_at=now,
                actor_id=None,
                group_id=group_id,
                name=f"Umoja {group_id.hex[:6]}",
                status="active",
                loan_officer_id=officer,
            ),
        )
        onboarded = origination.ClientOnboarded(
            occurred_at=now,
            actor_id=None,
            client_id=client_id,
            group_id=group_id,
            name=name,
            national_id=national_id,
            phone=phone,
            status="pending",
            loan_officer_id=officer,
        )
        for durable in ("origination", "ownership"):
            self.deliver(durable, onboarded)
        self.group_of[client_id] = group_id
        if approved:
            self.deliver(
                "origination",
                origination.ClientApproved(occurred_at=now, actor_id=None, client_id=client_id),
            )
        return client_id

    def savings(self, client_id: uuid.UUID, cents: int) -> None:
        self.deliver(
            "ledger",
            ledger.SavingsBalanceChanged(
                occurred_at=datetime.now(UTC),
                client_id=client_id,
                balance_cents=cents,
                change_cents=cents,
                reason="deposit",
                transaction_id=f"SAV{uuid.uuid4().hex[:7].upper()}",
            ),
        )

    @staticmethod
    def application(
        client_id: uuid.UUID,
        loan_id: uuid.UUID,
        *,
        account: str = "4810000017",
        principal_cents: int = 10_000_00,
        term: int = 4,
    ) -> origination.LoanInitiated:
        """Origination's record of a loan application (a monthly flat-rate product)."""
        return origination.LoanInitiated(
            occurred_at=datetime.now(UTC),
            actor_id=None,
            loan_id=loan_id,
            account_number=account,
            client_id=client_id,
            group_id=None,
            loan_officer_id=None,
            principal_cents=principal_cents,
            terms=origination.LoanTerms(
                product_id=uuid.uuid4(),
                product_name="Binafsi",
                interest_method="flat",
                interest_rate_percent="5",
                interest_rate_period="month",
                repayment_frequency="monthly",
                term=term,
            ),
        )

    def disbursed_loan(
        self, client_id: uuid.UUID, principal_cents: int = 10_000_00, account: str = "4810000017"
    ) -> uuid.UUID:
        loan_id = uuid.uuid4()
        now = datetime.now(UTC)
        self.deliver(
            "origination",
            self.application(client_id, loan_id, account=account, principal_cents=principal_cents),
        )
        self.deliver(
            "ledger",
            ledger.LoanAccountOpened(
                occurred_at=now,
                loan_id=loan_id,
                client_id=client_id,
                principal_cents=principal_cents,
                total_interest_cents=2_000_00,
                total_fees_cents=0,
                instalments=4,
                disbursed_on=datetime.now(UTC).date(),
                maturity_on=datetime.now(UTC).date() + timedelta(days=120),
            ),
        )
        return loan_id


@pytest.fixture
def world(container: Container) -> World:
    return World(container)


class Phone:
    """A feature phone dialling the service as Africa's Talking drives it: cumulative ``text``."""

    def __init__(self, client: TestClient, number: str, path: str = "/api/ussd") -> None:
        self.client = client
        self.number = number
        self.path = path
        self.session_id = f"ATUid_{uuid.uuid4().hex}"
        self.answers: list[str] = []

    def dial(self) -> str:
        self.session_id = f"ATUid_{uuid.uuid4().hex}"
        self.answers = []
        return self.hop()

    def send(self, answer: str) -> str:
        self.answers.append(answer)
        return self.hop()

    def hop(self) -> str:
        response = self.client.post(
            self.path,
            data={
                "sessionId": self.session_id,
                "serviceCode": "*384*1234#",
                "phoneNumber": self.number,
                "networkCode": "63902",
                "text": "*".join(self.answers),
            },
        )
        assert response.status_code == 200, response.text
        reply = response.text
        assert reply.startswith(("CON ", "END ")), reply
        assert len(reply) - 4 <= 182, (len(reply), reply)
        return reply
