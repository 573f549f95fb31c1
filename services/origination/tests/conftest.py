"""Origination under test: real PostgreSQL, real NATS, tokens signed by a key the tests hold.

One database and one app per test module (a fresh database per test costs time on a 2-core
machine); tests stay independent by creating their own staff, groups, clients and products.
"""

from __future__ import annotations

import io
import itertools
import random
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events.base import ContractEvent
from hazina_origination.bootstrap import Container, build
from hazina_origination.settings import OriginationSettings
from hazina_servicekit.database import database_url_with_name, drop_database, ensure_database
from hazina_servicekit.testing import TokenMint, envelope


def image(kind: str = "JPEG", size: tuple[int, int] = (32, 24), **save: Any) -> bytes:
    """A real, small image (uploads are decoded whole, so a header alone is not enough)."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format=kind, **save)
    return out.getvalue()


JPEG = image("JPEG")
PNG = image("PNG")


@pytest.fixture(scope="session")
def mint() -> TokenMint:
    return TokenMint()


@pytest.fixture(scope="module")
def module_database_url(pg_server_url: str) -> Iterator[str]:
    name = f"t_orig_{uuid.uuid4().hex[:12]}"
    ensure_database(pg_server_url, name)
    try:
        yield database_url_with_name(pg_server_url, name)
    finally:
        drop_database(pg_server_url, name)


def make_settings(database_url: str, nats_url: str, uploads: Path) -> OriginationSettings:
    return OriginationSettings(
        database_url=database_url,
        nats_url=nats_url,
        run_workers=False,
        uploads_dir=str(uploads),
        max_photo_bytes=64 * 1024,
        max_photo_pixels=1_000_000,
        max_guarantees_per_client=2,
    )


@pytest.fixture(scope="module")
def container(
    module_database_url: str,
    nats_server_url: str,
    mint: TokenMint,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Container]:
    settings = make_settings(
        module_database_url, nats_server_url, tmp_path_factory.mktemp("uploads")
    )
    with closing(build(settings, verifier=mint.verifier())) as built:
        yield built


@pytest.fixture(scope="module")
def http(container: Container) -> Iterator[TestClient]:
    with TestClient(container.service.http_app(), raise_server_exceptions=False) as client:
        yield client


_national_ids = itertools.count(random.randint(10_000_000, 80_000_000))


@dataclass(frozen=True)
class Staff:
    user_id: uuid.UUID
    role: str
    headers: dict[str, str]


class World:
    """Builds the records a test needs through the real HTTP API, as staff would."""

    def __init__(self, http: TestClient, container: Container, mint: TokenMint) -> None:
        self.http = http
        self.container = container
        self.mint = mint
        self.super_admin = self.staff("super_admin")
        self.approver = self.staff("approver_admin")
        # Maker-checker by person: whoever approved a loan may not disburse it.
        self.disburser = self.staff("approver_admin")
        self.initiator = self.staff("initiator_admin")
        self._document_url: str | None = None

    def document_url(self) -> str:
        """A signed link to an uploaded ID copy, as the frontend gets from POST /api/upload."""
        if self._document_url is None:
            uploaded = self.http.post(
                "/api/upload",
                files={"file": ("id.png", PNG, "image/png")},
                headers=self.super_admin.headers,
            )
            self._document_url = str(self.ok(uploaded, 201)["url"])
        return self._document_url

    def staff(self, role: str) -> Staff:
        user_id = uuid.uuid4()
        return Staff(user_id, role, {"Authorization": f"Bearer {self.mint.token(user_id, role)}"})

    @staticmethod
    def national_id() -> str:
        return str(next(_national_ids))

    @staticmethod
    def phone() -> str:
        return f"07{random.randint(10_000_000, 99_999_999)}"

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, f"{response.status_code}: {response.text}"
        return response.json()

    def product(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "name": f"Biashara {uuid.uuid4().hex[:6]}",
            "type": f"business-{uuid.uuid4().hex[:6]}",
            "interestMethod": "flat",
            "interestRate": "10",
            "interestRatePeriod": "month",
            "repaymentFrequency": "monthly",
            "minAmount": 1000,
            "maxAmount": "50000.00",
            "minTerm": 1,
            "maxTerm": 12,
            "requirePriorRepaidLoan": False,
            "minSavingsRatio": "0.20",
            "fees": [{"name": "application", "kind": "percent", "value": "1.5"}],
        }
        body.update(overrides)
        return self.ok(
            self.http.post("/api/loan-products", json=body, headers=self.super_admin.headers), 201
        )

    def group(self, officer: Staff, *, approve: bool = True, **extra: Any) -> dict[str, Any]:
        body = {
            "name": f"Umoja {uuid.uuid4().hex[:6]}",
            "meetingDay": "Wednesday",
            "meetingTime": "10:00",
            **extra,
        }
        group = self.ok(self.http.post("/api/groups", json=body, headers=officer.headers), 201)
        if approve and group["status"] != "active":
            group = self.ok(
                self.http.put(f"/api/groups/{group['_id']}/approve", headers=self.approver.headers)
            )
        return group

    def onboard(
        self, officer: Staff, group_id: str, *, approve: bool = True, **fields: Any
    ) -> dict[str, Any]:
        photo = fields.pop("photo", ("face.jpg", JPEG, "image/jpeg"))
        data = {
            "name": "Wanjiku Kamau",
            "nationalId": self.national_id(),
            "phone": self.phone(),
            "residence": "owned",
            "businessType": "retail",
            "businessLocation": "Githurai",
            "nextOfKinName": "Njeri",
            "nextOfKinPhone": self.phone(),
            "nextOfKinRelationship": "sister",
            "groupId": group_id,
            **fields,
        }
        files = {"photo": photo} if photo is not None else None
        body = self.ok(
            self.http.post("/api/clients/onboard", data=data, files=files, headers=officer.headers),
            201,
        )
        client = body["client"]
        if approve:
            client = self.ok(
                self.http.put(
                    f"/api/clients/{client['_id']}/approve", headers=self.approver.headers
                )
            )
        return dict(client)

    def ready_group(
        self, officer: Staff, members: int = 3
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """An active group with a chairperson, secretary and treasurer among its active members."""
        group = self.group(officer)
        people = [self.onboard(officer, group["_id"]) for _ in range(members)]
        body = {
            "signatoryAssignments": [
                {"role": role, "memberNationalId": person["nationalId"]}
                for role, person in zip(
                    ("chairperson", "secretary", "treasurer"), people, strict=False
                )
            ]
        }
        group = self.ok(
            self.http.put(
                f"/api/groups/{group['_id']}/signatories", json=body, headers=officer.headers
            )
        )
        return group, people

    def savings(self, client_id: str, cents: int, *, at: datetime | None = None) -> None:
        """Deliver a SavingsBalanceChanged to the ledger handler, as the LEDGER consumer does."""
        from hazina_contracts.events.ledger import SavingsBalanceChanged

        event = SavingsBalanceChanged(
            occurred_at=at or datetime.now(UTC),
            client_id=uuid.UUID(client_id),
            balance_cents=cents,
            change_cents=cents,
            reason="deposit",
            transaction_id=uuid.uuid4().hex,
        )
        self.deliver_ledger(event)

    def deliver_ledger(self, event: ContractEvent) -> None:
        consumer_handler = _ledger_handler(self.container)
        with self.container.pool.connection() as conn, conn.transaction():
            consumer_handler(envelope(event), conn)

    @staticmethod
    def envelope(event: ContractEvent) -> EventEnvelope:
        return envelope(event)

    def announce(
        self, who: Staff, *, username: str | None = None, name: str | None = None
    ) -> dict[str, str]:
        """Deliver identity's UserCreated for ``who`` to the staff handler, as the IDENTITY consumer does."""
        from hazina_contracts.events.identity import UserCreatedV2
        from hazina_origination.adapters.consumers import staff_handler

        username = username or f"{who.role.split('_')[0]}{uuid.uuid4().hex[:6]}"
        name = name or f"Staff {username}"
        event = UserCreatedV2(
            occurred_at=datetime.now(UTC),
            user_id=who.user_id,
            username=username,
            name=name,
            role=who.role,  # type: ignore[arg-type]
            regions=["Nairobi"],
        )
        with self.container.pool.connection() as conn, conn.transaction():
            staff_handler()(envelope(event), conn)
        return {"username": username, "name": name}

    def initiate(
        self,
        actor: Staff,
        client: dict[str, Any],
        product: dict[str, Any],
        amount: Any = 20000,
        term: int = 6,
    ) -> Any:
        return self.http.post(
            "/api/loans/initiate",
            json={
                "clientNationalId": client["nationalId"],
                "productId": product["_id"],
                "amount": amount,
                "term": term,
            },
            headers=actor.headers,
        )

    def approvable_loan(
        self, officer: Staff, product: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A loan initiated by ``officer`` with a passing assessment and an accepted guarantor."""
        product = product or self.product()
        _, people = self.ready_group(officer)
        borrower, guarantor = people[0], people[1]
        self.savings(borrower["_id"], 400_000)
        loan = self.ok(self.initiate(officer, borrower, product), 201)["loan"]
        added = self.ok(
            self.http.post(
                "/api/guarantors",
                json={
                    "loanId": loan["_id"],
                    "clientId": guarantor["_id"],
                    "relationship": "Brother",
                    "idCopyUrl": self.document_url(),
                    "photoUrl": self.document_url(),
                },
                headers=officer.headers,
            ),
            201,
        )
        self.ok(self.http.put(f"/api/guarantors/{added['_id']}/accept", headers=officer.headers))
        self.ok(
            self.http.post(
                "/api/credit-assessments",
                json={
                    "loanId": loan["_id"],
                    "character": 4,
                    "capacity": 4,
                    "capital": 4,
                    "collateral": 3,
                    "conditions": 4,
                    "officerNotes": "Stable business",
                },
                headers=officer.headers,
            ),
            201,
        )
        return dict(loan)

    def approved_loan(self, officer: Staff) -> dict[str, Any]:
        loan = self.approvable_loan(officer)
        self.ok(self.http.put(f"/api/loans/{loan['_id']}/approve", headers=self.approver.headers))
        return loan

    def loan(self, loan_id: str, who: Staff | None = None) -> dict[str, Any]:
        return dict(
            self.ok(
                self.http.get(f"/api/loans/{loan_id}", headers=(who or self.super_admin).headers)
            )
        )


def _ledger_handler(container: Container) -> Any:
    from hazina_origination.adapters.consumers import ledger_handler

    return ledger_handler(container.app)


@pytest.fixture(scope="module")
def world(http: TestClient, container: Container, mint: TokenMint) -> World:
    return World(http, container, mint)


@pytest.fixture
def fresh_world(
    database_url: str, nats_server_url: str, mint: TokenMint, tmp_path: Path
) -> Iterator[World]:
    """A system of its own (a fresh database) whose staff projection has heard of no one yet."""
    settings = make_settings(database_url, nats_server_url, tmp_path)
    built = build(settings, verifier=mint.verifier())
    try:
        with TestClient(built.service.http_app(), raise_server_exceptions=False) as http:
            yield World(http, built, mint)
    finally:
        built.close()


@pytest.fixture
def officer(world: World) -> Staff:
    return world.staff("loan_officer")
