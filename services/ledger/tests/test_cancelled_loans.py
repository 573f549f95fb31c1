"""A loan origination cancels before any money moved (``LoanCancelled``): the ledger lists it as
cancelled, keeps money paid against it as unallocated for staff, holds a payout of it for
recovery, and keeps all of that however often and in whatever order the events arrive."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient

from hazina_contracts.events.origination import LoanCancelled
from hazina_ledger.cli import verify

MISMATCHES = "/api/ledger/disbursement-mismatches"


def cancelled(loan_id: uuid.UUID) -> LoanCancelled:
    return LoanCancelled(
        occurred_at=dt.datetime(2025, 1, 5, 10, tzinfo=dt.UTC),
        actor_id=uuid.uuid4(),
        loan_id=loan_id,
        reason="the borrower withdrew",
    )


def loan_statuses(client: TestClient, staff: Any, client_id: uuid.UUID) -> list[str]:
    answer = client.get(
        f"/api/clients/{client_id}/accounts", headers=staff.headers("initiator_admin")
    )
    assert answer.status_code == 200, answer.text
    return [loan["status"] for loan in answer.json()["loans"]]


def unallocated(client: TestClient, staff: Any) -> list[tuple[str, int, str]]:
    rows = client.get("/api/repayments/unallocated", headers=staff.headers("initiator_admin"))
    return [(r["receipt"], r["amount_cents"], r["accountReference"]) for r in rows.json()]


def approved_loan(container: Any, h: Any) -> tuple[uuid.UUID, uuid.UUID]:
    loan_id, client_id = uuid.uuid4(), uuid.uuid4()
    h.deliver(container, h.client_onboarded(client_id))
    h.deliver(container, h.loan_approved(loan_id, client_id))
    return loan_id, client_id


class TestCancelledBeforeDisbursement:
    def test_the_loan_is_listed_cancelled_and_money_paid_to_it_waits_unallocated(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, client_id = approved_loan(container, h)
        # Paid before any payout: it waits for the disbursement (parked) ...
        early = h.payment_received("CNL1AAA", 300_000, loan_id=loan_id, reference="LCNL1")
        h.deliver(container, early)
        assert [p["waitingFor"] for p in container.inbox.parked()] == [f"disbursement:{loan_id}"]

        # ... until the loan is cancelled (delivered twice, and again under a new envelope):
        # then it is money in the paybill that belongs to no loan, for staff to assign or refund.
        once = h.envelope(cancelled(loan_id))
        for event in (once, once, cancelled(loan_id)):
            h.deliver(container, event)
        assert container.inbox.parked() == []
        assert loan_statuses(client, staff, client_id) == ["cancelled"]
        stored = container.ledger.loan(loan_id)
        assert (stored.status, stored.version) == ("cancelled", 2)  # terms, then one cancellation

        # Paid after the cancellation, and delivered again: unallocated once, no conflict flagged.
        late = h.envelope(h.payment_received("CNL2BBB", 120_000, loan_id=loan_id, reference=""))
        h.deliver(container, late)
        h.deliver(container, late)
        h.deliver(container, early)  # the early one redelivered after it was kept
        assert sorted(unallocated(client, staff)) == [
            ("CNL1AAA", 300_000, "LCNL1"),
            ("CNL2BBB", 120_000, f"L{loan_id.hex[:6].upper()}"),  # none typed: the loan's number
        ]
        reader = staff.headers("initiator_admin")
        assert client.get("/api/repayments/conflicts", headers=reader).json() == []
        assert (
            client.get("/api/ledger/accounts/2010", headers=reader).json()["balance_cents"]
            == 420_000
        )

        # Staff cannot post to it, nor assign a receipt to it; a late approval changes nothing.
        posted = client.post(
            "/api/repayments",
            json={
                "loanId": str(loan_id),
                "amount": "500.00",
                "paymentMethod": "cash",
                "transactionId": "CASH-CNL-1",
            },
            headers=staff.headers("initiator_admin"),
        )
        assert posted.status_code == 409, posted.text
        assert "cancelled" in posted.json()["message"]
        assigned = client.post(
            "/api/repayments/unallocated/CNL1AAA/assign",
            json={"loanId": str(loan_id)},
            headers=staff.headers("initiator_admin"),
        )
        assert assigned.status_code == 409, assigned.text
        h.deliver(container, h.loan_approved(loan_id, client_id, 2_500_000))
        assert container.ledger.loan(loan_id).version == 2
        assert loan_statuses(client, staff, client_id) == ["cancelled"]

        report = verify(container)
        assert report.ok, report.details

    def test_a_cancellation_heard_before_the_approval_still_cancels_the_loan(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, client_id = uuid.uuid4(), uuid.uuid4()
        h.deliver(container, h.client_onboarded(client_id))
        h.deliver(container, cancelled(loan_id))  # origination cancels loans it never approved too
        assert container.inbox.parked() == []  # nothing waits for an approval that may never come
        assert loan_statuses(client, staff, client_id) == []  # no loan account without terms

        h.deliver(container, h.loan_approved(loan_id, client_id))
        h.deliver(container, h.loan_approved(loan_id, client_id))
        assert container.ledger.loan(loan_id).status == "cancelled"
        assert loan_statuses(client, staff, client_id) == ["cancelled"]


class TestMoneyMoved:
    def test_a_payout_of_a_cancelled_loan_is_booked_and_held_for_recovery_only(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _ = approved_loan(container, h)
        h.deliver(container, cancelled(loan_id))
        payout = h.disbursement_completed(loan_id, 2_000_000, charge_cents=1_300)
        h.deliver(container, payout)
        h.deliver(container, payout)

        stored = container.ledger.loan(loan_id)
        assert (stored.status, stored.schedule) == ("cancelled", [])
        admin = staff.headers("approver_admin")
        [row] = client.get(MISMATCHES, headers=admin).json()
        assert (row["approved_principal_cents"], row["disbursed_cents"]) == (0, 2_000_000)
        trial = client.get("/api/ledger/trial-balance", headers=admin).json()
        assert trial["balanced"]
        assert {a["code"]: a["balance_cents"] for a in trial["accounts"]}["1035"] == 2_000_000

        reason = {"reason": "paid out after the borrower withdrew"}
        url = f"{MISMATCHES}/{payout.disbursement_id}"
        refused = client.post(f"{url}/accept", json=reason, headers=admin)
        assert refused.status_code == 409, refused.text
        assert client.post(f"{url}/recover", json=reason, headers=admin).status_code == 200
        assert container.ledger.loan(loan_id).status == "cancelled"
        assert verify(container).ok

    def test_a_cancellation_after_the_payout_waits_for_staff_and_changes_nothing(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, client_id = h.open_loan(container)
        h.deliver(container, cancelled(loan_id))
        assert [p["waitingFor"] for p in container.inbox.parked()] == ["staff-review"]
        assert loan_statuses(client, staff, client_id) == ["current"]
