"""The savings page and the client modal's "adjust savings" (doc §3, §6.11): deposits and
deductions as the dialogs send them (``POST /api/savings`` with signed ``amountCents``, the
initiator's ``POST /api/clients/:id/savings {amountKES}``), and the transaction list the page
reads (``GET /api/savings`` with ``clientId`` / ``groupId``: ``_id, clientId, clientName,
amountKES`` signed, ``notes, createdAt, balanceAfter`` in cents)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def rows_of(page: Any, **filters: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.ok("GET", "/api/savings", params=filters)
    for row in rows:
        assert isinstance(row["_id"], str) and row["_id"]
        assert isinstance(row["clientId"], str)
        assert isinstance(row["amountKES"], int | float)
        assert isinstance(row["balanceAfter"], int)
        datetime.fromisoformat(row["createdAt"])
    return rows


def balance(page: Any, client_id: str) -> int:
    rows = rows_of(page, clientId=client_id)
    return rows[0]["balanceAfter"] if rows else 0


def test_a_deposit_from_the_dialog_shows_with_the_client_name(money_desk: Any) -> None:
    saver = money_desk.members[2]
    note = f"monthly contribution {uuid.uuid4().hex[:6]}"
    before = balance(money_desk.approver, saver["_id"])
    money_desk.approver.ok(
        "POST",
        "/api/savings",
        201,
        json={"clientId": saver["_id"], "amountCents": 150_000, "notes": note},
    )
    row = next(r for r in rows_of(money_desk.approver, clientId=saver["_id"]) if r["notes"] == note)
    assert row["clientId"] == saver["_id"]
    assert row["clientName"] == saver["name"]
    assert row["amountKES"] == 1500
    assert row["balanceAfter"] == before + 150_000


def test_the_initiators_dialog_deposits_in_kes(money_desk: Any) -> None:
    borrower = money_desk.borrower  # the fixture's 4,000 KES came this way
    rows = rows_of(money_desk.initiator, clientId=borrower["_id"])
    assert [r["amountKES"] for r in rows] == [4000]
    assert rows[0]["clientName"] == borrower["name"]


def test_the_same_transaction_id_twice_posts_once(money_desk: Any) -> None:
    saver = money_desk.members[3]
    receipt = f"SAV-{uuid.uuid4().hex[:10].upper()}"
    body = {"clientId": saver["_id"], "amountCents": 50_000, "transactionId": receipt}
    money_desk.approver.ok("POST", "/api/savings", 201, json=body)
    money_desk.approver.ok("POST", "/api/savings", 200, json=body)
    money_desk.approver.ok(
        "POST",
        f"/api/clients/{saver['_id']}/savings",
        200,
        json={"amountKES": 500, "transactionId": receipt},
    )
    rows = rows_of(money_desk.approver, clientId=saver["_id"])
    assert [r["transactionId"] for r in rows].count(receipt) == 1


def test_a_deduction_never_takes_the_balance_below_zero(money_desk: Any) -> None:
    saver = money_desk.members[1]
    money_desk.approver.ok(
        "POST", "/api/savings", 201, json={"clientId": saver["_id"], "amountCents": 10_000}
    )
    held = balance(money_desk.approver, saver["_id"])
    refused = money_desk.approver.call(
        "POST",
        "/api/savings",
        json={"clientId": saver["_id"], "amountCents": -(held + 1), "notes": "too much"},
    )
    assert refused.status_code == 400 and "savings" in refused.json()["message"].lower()
    refused = money_desk.initiator.call(
        "POST", f"/api/clients/{saver['_id']}/savings", json={"amountKES": -(held // 100 + 1)}
    )
    assert refused.status_code == 400
    assert balance(money_desk.approver, saver["_id"]) == held


def test_a_deduction_within_the_balance_waits_for_a_second_person(money_desk: Any) -> None:
    """Money out of savings stays maker-checker: the deduction is requested, another approver pays it."""
    saver = money_desk.members[1]
    money_desk.approver.ok(
        "POST", "/api/savings", 201, json={"clientId": saver["_id"], "amountCents": 10_000}
    )
    asked = money_desk.initiator.ok(
        "POST",
        "/api/savings",
        201,
        json={"clientId": saver["_id"], "amountCents": -5_000, "notes": "fee refund"},
    )
    assert asked["withdrawal"]["status"] == "pending"
    held = balance(money_desk.approver, saver["_id"])
    money_desk.approver.ok("POST", f"/api/savings/withdrawals/{asked['withdrawal']['_id']}/approve")
    rows = rows_of(money_desk.approver, clientId=saver["_id"])
    assert rows[0]["amountKES"] == -50 and rows[0]["balanceAfter"] == held - 5_000


def test_the_group_filter_shows_only_that_groups_members(money_desk: Any) -> None:
    members = {m["_id"] for m in money_desk.members}
    rows = rows_of(money_desk.approver, groupId=money_desk.group["_id"])
    assert rows and {r["clientId"] for r in rows} <= members
    assert money_desk.borrower["_id"] in {r["clientId"] for r in rows}
    assert rows_of(money_desk.approver, groupId=str(uuid.uuid4())) == []


def test_who_may_adjust_and_read(money_desk: Any, super_admin: Any) -> None:
    saver = money_desk.members[2]
    refused = money_desk.officer.call(
        "POST", "/api/savings", json={"clientId": saver["_id"], "amountCents": 100}
    )
    assert refused.status_code == 403
    super_admin.ok("POST", "/api/savings", 201, json={"clientId": saver["_id"], "amountCents": 100})
    assert rows_of(money_desk.officer, clientId=saver["_id"])  # their own client


@pytest.mark.parametrize("role", ["accountant", "admin"])
def test_accountants_and_admins_adjust_savings(money_desk: Any, new_staff: Any, role: str) -> None:
    page = new_staff(role)
    saver = money_desk.members[2]
    page.ok("POST", f"/api/clients/{saver['_id']}/savings", 201, json={"amountKES": 25})
    assert rows_of(page, clientId=saver["_id"])
