"""A payout whose amount is not the approved principal: the cash really left, so it is booked (to
suspense, with its charge), but no schedule opens on it until staff decide: accept the amount as
the principal, or mark it for recovery. Every step is an event, and the books balance throughout."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient

from hazina_ledger.adapters.contract_mapping import to_contract
from hazina_ledger.cli import verify

APPROVED, PAID_OUT, CHARGE = 2_000_000, 2_500_000, 1_300
MISMATCHES = "/api/ledger/disbursement-mismatches"


def balances(client: TestClient, staff: Any) -> dict[str, int]:
    trial = client.get("/api/ledger/trial-balance", headers=staff.headers("approver_admin")).json()
    assert trial["balanced"], trial
    return {a["code"]: a["balance_cents"] for a in trial["accounts"]}


def published_types(container: Any) -> list[str]:
    notifications = container.ledger.recorder.select_notifications(start=1, limit=1000)
    mapped = [to_contract(container.ledger.mapper.to_domain_event(n)) for n in notifications]
    return [c.TYPE for c in mapped if c is not None]


def held_loan(container: Any, h: Any) -> tuple[uuid.UUID, Any]:
    """A loan approved for 20,000 to which M-Pesa paid 25,000, delivered three times."""
    loan_id, client_id = uuid.uuid4(), uuid.uuid4()
    h.deliver(container, h.client_onboarded(client_id))
    h.deliver(container, h.loan_approved(loan_id, client_id, APPROVED))
    payout = h.disbursement_completed(loan_id, PAID_OUT, charge_cents=CHARGE)
    once = h.envelope(payout)
    h.deliver(container, once)
    h.deliver(container, once)  # a redelivery
    h.deliver(container, payout)  # the same fact republished under a new envelope id
    return loan_id, payout


def decide(
    client: TestClient,
    staff: Any,
    disbursement_id: Any,
    decision: str,
    role: str = "approver_admin",
) -> Any:
    return client.post(
        f"{MISMATCHES}/{disbursement_id}/{decision}",
        json={"reason": "confirmed with the borrower and M-Pesa statement"},
        headers=staff.headers(role),
    )


class TestHeld:
    def test_the_payout_is_booked_to_suspense_and_no_schedule_opens(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, payout = held_loan(container, h)
        stored = container.ledger.loan(loan_id)
        assert stored.status == "approved" and stored.schedule == []
        assert stored.version == 2  # terms, then one hold: the redeliveries changed nothing

        books = balances(client, staff)
        assert books["1035"] == PAID_OUT  # held for review, per loan
        assert books["1010"] == -PAID_OUT  # the float really paid it out
        assert books["5000"] == CHARGE and books["1011"] == -CHARGE
        assert "1100" not in books  # no principal receivable: nothing is owed on a schedule
        assert (
            client.get(
                f"/api/ledger/accounts/1035:{loan_id}", headers=staff.headers("approver_admin")
            ).json()["balance_cents"]
            == PAID_OUT
        )

        schedule = client.get(
            f"/api/loans/{loan_id}/schedule", headers=staff.headers("approver_admin")
        ).json()
        assert schedule["status"] == "approved" and schedule["instalments"] == []
        assert "LoanAccountOpened" not in published_types(container)

        listed = client.get(MISMATCHES, headers=staff.headers("initiator_admin"))
        assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "1"
        [row] = listed.json()
        assert row["disbursementId"] == str(payout.disbursement_id)
        assert row["loanId"] == str(loan_id) and row["status"] == "held"
        assert (row["approved_principal_cents"], row["disbursed_cents"]) == (APPROVED, PAID_OUT)
        assert row["difference_cents"] == 500_000 and row["clientName"] == "Wanjiku Kamau"
        assert row["mpesaReceipt"] == payout.mpesa_receipt and row["disbursedOn"] == "2025-01-01"
        assert (
            client.get(f"{MISMATCHES}?status=recovery", headers=staff.headers("super_admin")).json()
            == []
        )

        report = verify(container)
        assert report.ok, report.details
        assert any("1 disbursements (2500000 cents) held for staff" in d for d in report.details)

    def test_only_admins_see_the_list_and_only_approvers_decide(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        _, payout = held_loan(container, h)
        assert client.get(MISMATCHES, headers=staff.headers("loan_officer")).status_code == 403
        assert client.get(MISMATCHES).status_code == 401
        for decision in ("accept", "recover"):
            for role in ("loan_officer", "initiator_admin"):
                response = decide(client, staff, payout.disbursement_id, decision, role)
                assert response.status_code == 403
        response = client.post(
            f"{MISMATCHES}/{payout.disbursement_id}/accept",
            json={},
            headers=staff.headers("approver_admin"),
        )
        assert response.status_code == 400 and response.json()["message"]
        missing = decide(client, staff, uuid.uuid4(), "accept")
        assert missing.status_code == 404 and missing.json()["message"]
        assert (
            client.get(
                f"{MISMATCHES}?status=lost", headers=staff.headers("super_admin")
            ).status_code
            == 400
        )
        [row] = client.get(MISMATCHES, headers=staff.headers("super_admin")).json()
        assert row["status"] == "held"  # nothing was decided

    def test_a_payout_of_the_approved_principal_opens_the_loan_as_before(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _ = h.open_loan(container, APPROVED)
        assert container.ledger.loan(loan_id).status == "current"
        assert client.get(MISMATCHES, headers=staff.headers("super_admin")).json() == []


class TestAccepted:
    def test_the_schedule_opens_on_the_amount_paid_and_waiting_repayments_post(
        self, client: TestClient, container: Any, staff: Any, h: Any, clock: Any
    ) -> None:
        loan_id, payout = held_loan(container, h)
        h.deliver(container, h.payment_received("EARLYM1", 600_000, loan_id=loan_id))
        assert [p["waitingFor"] for p in container.inbox.parked()] == [f"disbursement:{loan_id}"]
        clock.set_date(dt.date(2025, 2, 3))

        done = decide(client, staff, payout.disbursement_id, "accept")
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["status"] == "accepted" and body["loanStatus"] == "current"
        assert body["resolvedOn"] == "2025-02-03" and body["reason"]
        assert body["resolvedBy"] == str(staff.ids["approver_admin"])

        stored = container.ledger.loan(loan_id)
        assert stored.principal_cents == PAID_OUT and stored.disbursed_on == dt.date(2025, 1, 1)
        # 10 % a month flat on 25,000 over 6 months, first due a month after the payout.
        assert stored.due.interest_cents == 1_500_000
        assert stored.schedule[0].due_on == dt.date(2025, 2, 1)
        assert container.inbox.parked() == []  # the early repayment posted
        assert stored.total_paid_cents == 600_000

        books = balances(client, staff)
        assert books.get("1035", 0) == 0  # the suspense is cleared
        receivable = books["1100"] + books["1110"] + books.get("1120", 0)
        assert receivable == stored.outstanding.total_cents
        assert books["5000"] == CHARGE  # booked once, when it was paid out
        entries = client.get(
            f"/api/ledger/accounts/1035:{loan_id}", headers=staff.headers("approver_admin")
        ).json()["entries"]
        in_order = sorted((e["position"], e["kind"], e["date"]) for e in entries)
        assert [(kind, date) for _, kind, date in in_order] == [
            ("DisbursementMismatchHeld", "2025-01-01"),
            ("DisbursementMismatchAccepted", "2025-02-03"),  # decided that day, not back-dated
        ]

        types = published_types(container)
        assert types.count("LoanAccountOpened") == 1
        opened = next(
            c
            for n in container.ledger.recorder.select_notifications(start=1, limit=1000)
            if (c := to_contract(container.ledger.mapper.to_domain_event(n))) is not None
            and c.TYPE == "LoanAccountOpened"
        )
        assert opened.principal_cents == PAID_OUT  # type: ignore[attr-defined]

        # Decided once: a second decision is refused, and the payout again changes nothing.
        assert decide(client, staff, payout.disbursement_id, "accept").status_code == 409
        assert decide(client, staff, payout.disbursement_id, "recover").status_code == 409
        version = container.ledger.loan(loan_id).version
        h.deliver(container, payout)
        assert container.ledger.loan(loan_id).version == version
        report = verify(container)
        assert report.ok, report.details


class TestMarkedForRecovery:
    def test_the_money_becomes_an_amount_to_recover_and_the_loan_waits_for_its_principal(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, payout = held_loan(container, h)
        done = decide(client, staff, payout.disbursement_id, "recover")
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "recovery" and done.json()["loanStatus"] == "approved"
        books = balances(client, staff)
        assert books.get("1035", 0) == 0 and books["1036"] == PAID_OUT
        assert container.ledger.loan(loan_id).status == "approved"
        assert "LoanAccountOpened" not in published_types(container)
        assert decide(client, staff, payout.disbursement_id, "accept").status_code == 409

        # The approved principal is then paid out properly: the loan opens on it.
        right = h.disbursement_completed(loan_id, APPROVED, disbursement_id=uuid.uuid4())
        h.deliver(container, right)
        h.deliver(container, payout)  # the wrong payout reported again: still nothing
        stored = container.ledger.loan(loan_id)
        assert stored.status == "current" and stored.principal_cents == APPROVED
        books = balances(client, staff)
        assert books["1036"] == PAID_OUT and books["1100"] == APPROVED
        assert books["1010"] == -(PAID_OUT + APPROVED)
        assert [
            r["status"] for r in client.get(MISMATCHES, headers=staff.headers("super_admin")).json()
        ] == ["recovery"]
        report = verify(container)
        assert report.ok, report.details

    def test_a_held_payout_on_a_loan_opened_since_can_only_be_recovered(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, payout = held_loan(container, h)
        h.deliver(
            container, h.disbursement_completed(loan_id, APPROVED, disbursement_id=uuid.uuid4())
        )
        assert container.ledger.loan(loan_id).principal_cents == APPROVED
        refused = decide(client, staff, payout.disbursement_id, "accept")
        assert refused.status_code == 409 and "marked for recovery" in refused.json()["message"]
        assert decide(client, staff, payout.disbursement_id, "recover").status_code == 200
        assert verify(container).ok
