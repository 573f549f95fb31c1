"""Savings: deposits by receipt, withdrawals only with a second person's approval, never negative."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient


def onboard(container: Any, h: Any) -> uuid.UUID:
    client_id = uuid.uuid4()
    h.deliver(container, h.client_onboarded(client_id))
    return client_id


def deposit(
    client: TestClient,
    staff: Any,
    client_id: uuid.UUID,
    amount: Any,
    receipt: str,
    role: str = "initiator_admin",
) -> Any:
    return client.post(
        "/api/savings/deposits",
        json={
            "clientId": str(client_id),
            "amount": amount,
            "paymentMethod": "cash",
            "transactionId": receipt,
        },
        headers=staff.headers(role),
    )


def balance(client: TestClient, staff: Any, client_id: uuid.UUID) -> dict[str, Any]:
    return dict(
        client.get(
            f"/api/clients/{client_id}/accounts", headers=staff.headers("initiator_admin")
        ).json()
    )


def test_deposits_are_idempotent_by_receipt_and_listed_for_the_frontend(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    client_id = onboard(container, h)
    assert deposit(client, staff, client_id, "4000", "DEP1").status_code == 201
    again = deposit(client, staff, client_id, 4000, "DEP1")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert deposit(client, staff, client_id, 4500, "DEP1").status_code == 409
    assert deposit(client, staff, client_id, 100, "DEP2", role="loan_officer").status_code == 403
    assert deposit(client, staff, uuid.uuid4(), 100, "DEP3").status_code == 404
    assert balance(client, staff, client_id)["savings_cents"] == 400_000
    rows = client.get("/api/savings", headers=staff.headers("initiator_admin"))
    assert rows.headers["X-Total-Count"] == "1"
    assert rows.json()[0]["amountKES"] == 4000 and rows.json()[0]["balanceAfter"] == 400_000
    trial = client.get("/api/ledger/trial-balance", headers=staff.headers("initiator_admin")).json()
    assert {a["code"]: a["balance_cents"] for a in trial["accounts"]}["2200"] == 400_000


def test_a_withdrawal_needs_another_staff_members_approval(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    client_id = onboard(container, h)
    deposit(client, staff, client_id, 4000, "DEPW1")
    maker = uuid.uuid4()
    requested = client.post(
        "/api/savings/withdrawals",
        json={"clientId": str(client_id), "amount": 1500, "paymentMethod": "cash"},
        headers=staff.headers("approver_admin", maker),
    )
    assert requested.status_code == 201, requested.text
    withdrawal = requested.json()["withdrawal"]
    assert withdrawal["status"] == "pending"
    assert balance(client, staff, client_id)["available_savings_cents"] == 250_000
    url = f"/api/savings/withdrawals/{withdrawal['_id']}/approve"
    assert client.post(url, headers=staff.headers("initiator_admin")).status_code == 403  # role
    same = client.post(url, headers=staff.headers("approver_admin", maker))
    assert same.status_code == 403  # maker-checker
    assert "cannot approve" in same.json()["message"]
    approved = client.post(url, headers=staff.headers("super_admin"))
    assert approved.status_code == 200, approved.text
    assert approved.json()["balance_cents"] == 250_000
    assert client.post(url, headers=staff.headers("super_admin")).status_code == 409
    assert (
        client.get("/api/ledger/accounts/1040", headers=staff.headers("initiator_admin")).json()[
            "balance_cents"
        ]
        == 250_000
    )


def test_savings_never_go_negative(client: TestClient, container: Any, staff: Any, h: Any) -> None:
    client_id = onboard(container, h)
    deposit(client, staff, client_id, 1000, "DEPN1")
    body = {"clientId": str(client_id), "amount": 800, "paymentMethod": "mpesa"}
    first = client.post(
        "/api/savings/withdrawals", json=body, headers=staff.headers("initiator_admin")
    )
    assert first.status_code == 201
    second = client.post(
        "/api/savings/withdrawals", json=body, headers=staff.headers("initiator_admin")
    )
    assert second.status_code == 409  # 800 is pending; only 200 is available
    assert "available" in second.json()["message"]
    rejected = client.post(
        f"/api/savings/withdrawals/{first.json()['withdrawal']['_id']}/reject",
        json={"reason": "not signed"},
        headers=staff.headers("approver_admin"),
    )
    assert rejected.json()["withdrawal"]["status"] == "rejected"
    assert balance(client, staff, client_id)["savings_cents"] == 100_000


def test_the_frontends_signed_adjustment_deposits_or_asks_to_withdraw(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    client_id = onboard(container, h)
    up = client.post(
        "/api/savings",
        json={"clientId": str(client_id), "amountCents": 50_000, "notes": "chama"},
        headers=staff.headers("initiator_admin"),
    )
    assert up.status_code == 201, up.text
    down = client.post(
        "/api/savings",
        json={"clientId": str(client_id), "amountCents": -20_000},
        headers=staff.headers("initiator_admin"),
    )
    assert down.json()["withdrawal"]["status"] == "pending"
    assert (
        client.post(
            "/api/savings",
            json={"clientId": str(client_id), "amountCents": 0},
            headers=staff.headers("initiator_admin"),
        ).status_code
        == 400
    )
    pending = client.get(
        "/api/savings/withdrawals?status=pending", headers=staff.headers("initiator_admin")
    ).json()
    assert [(w["amount_cents"], w["clientId"]) for w in pending] == [(20_000, str(client_id))]


def test_a_deposit_reversal_mirrors_it_and_publishes_the_new_balance(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    from hazina_ledger.adapters.contract_mapping import to_contract

    client_id = onboard(container, h)
    deposit(client, staff, client_id, 1000, "DEPR1")
    reversed_ = client.post(
        "/api/savings/deposits/DEPR1/reverse",
        json={"reason": "wrong client"},
        headers=staff.headers("approver_admin"),
    )
    assert reversed_.status_code == 200, reversed_.text
    assert balance(client, staff, client_id)["savings_cents"] == 0
    events = container.ledger.recorder.select_notifications(start=1, limit=100)
    changes = [to_contract(container.ledger.mapper.to_domain_event(n)) for n in events]
    savings = [
        (c.reason, c.change_cents, c.balance_cents)
        for c in changes
        if c and c.TYPE == "SavingsBalanceChanged"
    ]  # type: ignore[attr-defined]
    assert savings == [("deposit", 100_000, 100_000), ("reversal", -100_000, 0)]


def test_a_reversed_deposit_goes_back_where_it_came_from_once(
    client: TestClient, container: Any, staff: Any, h: Any
) -> None:
    """Cash back to the till, an M-Pesa payment back to the paybill, a receipt staff assigned
    from the unallocated ones back to those: as each receipt recorded it."""
    client_id = onboard(container, h)
    reader, approver = staff.headers("initiator_admin"), staff.headers("approver_admin")

    def account(code: str) -> int:
        found = client.get(f"/api/ledger/accounts/{code}", headers=reader).json()
        return int(found["balance_cents"])

    def reverse(receipt: str) -> Any:
        return client.post(
            f"/api/savings/deposits/{receipt}/reverse", json={"reason": "wrong"}, headers=approver
        )

    deposit(client, staff, client_id, 1000, "DEPCASH1")
    h.deliver(
        container,
        h.payment_received(
            "SAVMP1", 200_000, client_id=client_id, target="savings", reference="12345678"
        ),
    )
    h.deliver(
        container, h.payment_received("SAVUN1", 50_000, target="unallocated", reference="typo")
    )
    assign = client.post(
        "/api/repayments/unallocated/SAVUN1/assign",
        json={"clientId": str(client_id)},
        headers=reader,
    )
    assert assign.status_code == 200, assign.text
    before = {code: account(code) for code in ("1020", "1040", "2010")}
    assert balance(client, staff, client_id)["savings_cents"] == 350_000

    for receipt in ("DEPCASH1", "SAVMP1", "SAVUN1"):
        assert reverse(receipt).status_code == 200, receipt
    assert reverse("SAVMP1").status_code == 409  # once

    assert balance(client, staff, client_id)["savings_cents"] == 0
    after = {code: account(code) for code in ("1020", "1040", "2010")}
    assert after["1040"] - before["1040"] == -100_000  # the till's cash goes back out
    assert after["1020"] - before["1020"] == -200_000
    assert after["2010"] - before["2010"] == 50_000  # unallocated again


def test_an_account_restored_from_an_older_snapshot_lets_its_record_of_deposits_go() -> None:
    """Snapshots taken before the account stopped recording every deposit still hold that
    record; the account's next deposit drops it, so the state stops growing from then on."""
    from hazina_ledger.domain import accounts as acc
    from hazina_ledger.domain.savings_account import SavingsAccount

    account = SavingsAccount(client_id=str(uuid.uuid4()))
    account.deposits = {"OLD0000001": (100_00, acc.PAYBILL)}  # type: ignore[attr-defined]
    account.deposit(
        receipt="NEW0000001",
        amount_cents=250_00,
        method="mpesa",
        source_account=acc.PAYBILL,
        deposited_on="2026-12-01",
        recorded_by=None,
        notes=None,
        channel="mpesa",
    )
    assert not hasattr(account, "deposits")
    assert account.balance_cents == 250_00
