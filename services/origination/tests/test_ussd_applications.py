"""A borrower's USSD application (``LoanApplicationRequested``) becomes one initiated loan, ever,
assigned to the client's loan officer and visible in the staff API; one the rules refuse is none, and
refused once (``LoanApplicationRefused``) so the borrower can be told."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hazina_contracts.events.origination import LoanApplicationRefused
from hazina_contracts.events.ussd import LoanApplicationRequested
from hazina_contracts.phones import Msisdn
from hazina_origination.adapters.contract_mapping import to_contract
from hazina_origination.adapters.ussd_applications import USSD_CHANNEL, ussd_handler
from hazina_origination.domain.refused_application import RefusedApplication


def _apply(world: Any, client: dict[str, Any], product: dict[str, Any], **change: Any) -> uuid.UUID:
    event = LoanApplicationRequested(
        occurred_at=datetime.now(UTC),
        application_id=change.pop("application_id", uuid.uuid4()),
        reference="UABCDEFGH",
        client_id=uuid.UUID(client["_id"]),
        national_id=client["nationalId"],
        phone=Msisdn(client["phone"]),
        principal_cents=change.pop("principal_cents", 5_000_00),
        term=3,
        purpose="business",
        product_type=product["type"],
        limit_cents=6_000_00,
    )
    with world.container.pool.connection() as conn, conn.transaction():
        ussd_handler(world.container.app)(world.envelope(event), conn)
    return event.application_id


def _loans_of(world: Any, client: dict[str, Any]) -> list[dict[str, Any]]:
    listed = world.http.get(
        f"/api/loans?clientId={client['_id']}", headers=world.super_admin.headers
    ).json()
    return list(listed if isinstance(listed, list) else listed["loans"])


def test_an_application_is_one_initiated_loan_however_often_it_arrives(
    world: Any, officer: Any
) -> None:
    product = world.product(requireSignatories=False)
    group = world.group(officer)
    client = world.onboard(officer, group["_id"])
    world.savings(client["_id"], 2_000_00)
    application_id = _apply(world, client, product)
    _apply(world, client, product, application_id=application_id)  # delivered again

    [loan] = _loans_of(world, client)
    assert loan["status"] == "initiated"
    assert "UABCDEFGH" in str(loan)
    stored = world.container.app.loan(uuid.UUID(loan["_id"]))
    assert stored.initiated_by == USSD_CHANNEL
    assert stored.loan_officer_id == officer.user_id
    assert stored.principal_cents == 5_000_00


def test_an_application_the_rules_refuse_makes_no_loan(world: Any, officer: Any) -> None:
    product = world.product(requireSignatories=False)
    group = world.group(officer)
    client = world.onboard(officer, group["_id"])  # no savings: the 20 % rule refuses
    application_id = _apply(world, client, product)
    _apply(world, client, product, application_id=application_id)  # delivered again
    assert _loans_of(world, client) == []

    # Refused once, however often it arrives, and published for the USSD service to tell them.
    app = world.container.app
    refusal = app.repository.get(RefusedApplication.create_id(application_id))
    assert refusal.version == 1
    [stored] = list(app.events.get(RefusedApplication.create_id(application_id)))
    published = to_contract(stored)
    assert isinstance(published, LoanApplicationRefused)
    assert published.application_id == application_id
    assert published.client_id == uuid.UUID(client["_id"])
    assert published.reference == "UABCDEFGH"
    assert published.reason_code == "not_eligible"
    assert refusal.reason
