"""Events from origination and the payments gateway: applied once however often they arrive,
and waiting (parked, retried) when they arrive before what they depend on."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi.testclient import TestClient

from hazina_contracts.events.origination import (
    ClientApproved,
    ClientDetailsChanged,
    ClientRejected,
)


def repayments(client: TestClient, staff: Any, loan_id: uuid.UUID) -> dict[str, Any]:
    return dict(
        client.get(f"/api/repayments/{loan_id}", headers=staff.headers("initiator_admin")).json()
    )


class TestDuplicateDelivery:
    def test_every_event_delivered_three_times_takes_effect_once(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, client_id = uuid.uuid4(), uuid.uuid4()
        events = [
            h.client_onboarded(client_id),
            h.loan_approved(loan_id, client_id),
            h.disbursement_completed(loan_id),
            h.payment_received("NLJ7RT61SV", 500_000, loan_id=loan_id, client_id=client_id),
        ]
        for event in events:
            env = h.envelope(event)
            for _ in range(3):
                h.deliver(container, env)
            h.deliver(container, event)  # the same fact again under a new envelope id (a republish)
        paid = repayments(client, staff, loan_id)
        assert paid["total_paid_cents"] == 500_000
        assert len(paid["repayments"]) == 1
        trial = client.get(
            "/api/ledger/trial-balance", headers=staff.headers("initiator_admin")
        ).json()
        assert {a["code"]: a["debit_cents"] for a in trial["accounts"]}[
            "1100"
        ] == 2_000_000  # opened once
        stored = container.ledger.loan(loan_id)
        assert stored.version == 3  # terms, disbursed, one repayment

    def test_a_c2b_receipt_reused_for_another_amount_is_flagged_not_posted(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _ = h.open_loan(container)
        h.deliver(container, h.payment_received("DUP1", 500_000, loan_id=loan_id))
        h.deliver(container, h.payment_received("DUP1", 900_000, loan_id=loan_id))
        assert repayments(client, staff, loan_id)["total_paid_cents"] == 500_000
        flagged = client.get(
            "/api/repayments/conflicts", headers=staff.headers("initiator_admin")
        ).json()
        assert [(f["receipt"], f["amount_cents"], f["source"]) for f in flagged] == [
            ("DUP1", 900_000, "c2b")
        ]

    def test_a_receipt_is_read_once_where_the_event_comes_in(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        # A producer writing the receipt in lower case, padded, means the receipt staff type in
        # upper case: the contract reads it (ReceiptNumber) as the event is read, and nothing
        # further in the ledger normalises it again.
        loan_id, _ = h.open_loan(container)
        env = h.envelope(h.payment_received("SKW7LOWER1", 500_000, loan_id=loan_id))
        h.deliver(
            container, env.model_copy(update={"data": {**env.data, "receipt": " skw7lower1 "}})
        )
        paid = repayments(client, staff, loan_id)
        assert [r["mpesaReceipt"] for r in paid["repayments"]] == ["SKW7LOWER1"]
        again = client.post(
            "/api/repayments",
            json={
                "loanId": str(loan_id),
                "amount": 5000,
                "paymentMethod": "mpesa",
                "transactionId": "SKW7LOWER1",
            },
            headers=staff.headers("initiator_admin"),
        )
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "duplicate"
        assert repayments(client, staff, loan_id)["total_paid_cents"] == 500_000


class TestOutOfOrder:
    def test_a_repayment_before_the_disbursement_waits_and_then_posts(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, client_id = uuid.uuid4(), uuid.uuid4()
        h.deliver(container, h.loan_approved(loan_id, client_id))
        h.deliver(container, h.payment_received("EARLY1", 500_000, loan_id=loan_id))
        h.deliver(container, h.payment_received("EARLY2", 100_000, loan_id=loan_id))
        admin = staff.headers("initiator_admin")
        parked = client.get("/api/ledger/parked?status=parked", headers=admin).json()
        assert [p["waitingFor"] for p in parked] == [f"disbursement:{loan_id}"] * 2
        assert [p["source"] for p in parked] == ["ledger-inbox"] * 2
        assert (
            client.get("/api/ledger/parked", headers=staff.headers("loan_officer")).status_code
            == 403
        )
        h.deliver(container, h.disbursement_completed(loan_id))
        paid = repayments(client, staff, loan_id)
        assert [r["_id"] for r in paid["repayments"]] == ["EARLY1", "EARLY2"]  # in arrival order
        assert paid["total_paid_cents"] == 600_000
        assert client.get("/api/ledger/parked?status=parked", headers=admin).json() == []
        resolved = client.get("/api/ledger/parked?status=retried", headers=admin).json()
        assert len(resolved) == 2  # applied by themselves once the disbursement came

    def test_a_disbursement_before_the_approval_waits_and_so_do_its_repayments(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, client_id = uuid.uuid4(), uuid.uuid4()
        h.deliver(container, h.payment_received("ORPHAN1", 250_000, loan_id=loan_id))
        h.deliver(container, h.disbursement_completed(loan_id))
        assert len(container.inbox.parked()) == 2
        h.deliver(container, h.loan_approved(loan_id, client_id))
        assert container.inbox.parked() == []
        assert repayments(client, staff, loan_id)["total_paid_cents"] == 250_000

    def test_parked_events_are_retried_by_the_timer_too(self, container: Any, h: Any) -> None:
        loan_id = uuid.uuid4()
        h.deliver(container, h.payment_received("TIMER1", 1_000, loan_id=loan_id))
        assert container.inbox.retry_parked() == 0  # still waiting; kept, attempts counted
        assert container.inbox.parked()[0]["attempts"] == 2  # the delivery, and one retry
        h.deliver(container, h.loan_approved(loan_id, uuid.uuid4()))
        container.ledger.open_loan_account(
            __import__(
                "hazina_ledger.application.policies", fromlist=["x"]
            ).on_disbursement_completed(h.disbursement_completed(loan_id))
        )
        assert container.inbox.retry_parked() == 1
        assert container.inbox.parked() == []

    def test_a_second_different_disbursement_is_held_for_staff(
        self, container: Any, h: Any
    ) -> None:
        loan_id, _ = h.open_loan(container)
        h.deliver(container, h.disbursement_completed(loan_id, disbursement_id=uuid.uuid4()))
        assert [p["waitingFor"] for p in container.inbox.parked()] == ["staff-review"]


class TestUnallocatedAndSavings:
    def test_an_unknown_reference_waits_in_unallocated_until_staff_assign_it(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        loan_id, _client_id = h.open_loan(container)
        h.deliver(
            container,
            h.payment_received("UNK1", 300_000, target="unallocated", reference="typo-123"),
        )
        h.deliver(
            container,
            h.payment_received("UNK1", 300_000, target="unallocated", reference="typo-123"),
        )
        reader = staff.headers("initiator_admin")
        waiting = client.get("/api/repayments/unallocated", headers=reader).json()
        assert [(w["receipt"], w["amount_cents"], w["accountReference"]) for w in waiting] == [
            ("UNK1", 300_000, "typo-123")
        ]
        assert (
            client.get("/api/ledger/accounts/2010", headers=reader).json()["balance_cents"]
            == 300_000
        )
        url = "/api/repayments/unallocated/UNK1/assign"
        officer = staff.headers("loan_officer")
        assert client.post(url, json={"loanId": str(loan_id)}, headers=officer).status_code == 403
        assert (
            client.post(url, json={}, headers=staff.headers("initiator_admin")).status_code == 400
        )
        done = client.post(
            url, json={"loanId": str(loan_id)}, headers=staff.headers("initiator_admin")
        )
        assert done.status_code == 200, done.text
        assert (
            client.post(
                url, json={"loanId": str(loan_id)}, headers=staff.headers("initiator_admin")
            ).status_code
            == 409
        )
        assert client.get("/api/ledger/accounts/2010", headers=reader).json()["balance_cents"] == 0
        assert repayments(client, staff, loan_id)["total_paid_cents"] == 300_000
        assert client.get("/api/repayments/unallocated", headers=reader).json() == []

    def test_a_payment_referencing_a_national_id_is_a_savings_deposit(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        client_id = uuid.uuid4()
        h.deliver(container, h.client_onboarded(client_id))
        event = h.payment_received(
            "SAV1", 150_000, client_id=client_id, target="savings", reference="12345678"
        )
        h.deliver(container, event)
        h.deliver(container, event)
        accounts = client.get(
            f"/api/clients/{client_id}/accounts", headers=staff.headers("initiator_admin")
        ).json()
        assert accounts["savings_cents"] == 150_000
        rows = client.get(
            f"/api/savings?clientId={client_id}", headers=staff.headers("initiator_admin")
        ).json()
        assert [(r["amount_cents"], r["balanceAfter"], r["clientName"]) for r in rows] == [
            (150_000, 150_000, "Wanjiku Kamau")
        ]


def test_published_ledger_events_follow_the_contract(container: Any, h: Any, clock: Any) -> None:
    from hazina_ledger.adapters.contract_mapping import to_contract

    loan_id, client_id = h.open_loan(container)
    h.deliver(container, h.payment_received("PUB1", 3_250_000, loan_id=loan_id))
    clock.set_date(dt.date(2025, 3, 1))
    events = container.ledger.recorder.select_notifications(start=1, limit=100)
    published = [to_contract(container.ledger.mapper.to_domain_event(n)) for n in events]
    types = [c.TYPE for c in published if c is not None]
    assert types == ["LoanAccountOpened", "RepaymentPosted", "LoanRepaid"]
    opened, posted, repaid = (c for c in published if c is not None)
    assert opened.total_interest_cents == 1_200_000 and opened.instalments == 6  # type: ignore[attr-defined]
    assert posted.suspense_cents == 50_000 and posted.outstanding_cents == 0  # type: ignore[attr-defined]
    assert repaid.total_paid_cents == 3_250_000  # type: ignore[attr-defined]
    assert all(c.client_id == client_id for c in published if c is not None)  # type: ignore[attr-defined]


def test_a_reversal_is_published_with_its_split_and_the_loans_new_figures(
    container: Any, h: Any, clock: Any
) -> None:
    from hazina_contracts.events.ledger import LoanStatusChanged, RepaymentReversed
    from hazina_ledger.adapters.contract_mapping import to_contract
    from hazina_ledger.application.commands import ReverseReceipt

    loan_id, client_id = h.open_loan(container)  # 20,000 + 12,000 flat interest over 6 months
    h.deliver(container, h.payment_received("REVA", 500_000, loan_id=loan_id))
    h.deliver(
        container, h.payment_received("REVB", 2_700_000, loan_id=loan_id, on=dt.date(2025, 3, 1))
    )
    clock.set_date(dt.date(2025, 3, 5))
    container.ledger.reverse_receipt(
        ReverseReceipt(receipt="REVA", reason="M-Pesa reversal", reversed_by=uuid.uuid4())
    )
    stored = list(container.ledger.events.get(loan_id))
    reversed_event = stored[-1]
    published = to_contract(reversed_event)
    assert isinstance(published, RepaymentReversed)
    assert published.loan_id == loan_id and published.client_id == client_id
    assert (published.receipt, published.amount_cents, published.payment_method) == (
        "REVA",
        500_000,
        "mpesa",
    )
    # REVA paid the first instalment's interest (2,000) then 3,000 of its principal.
    assert (published.interest_cents, published.principal_cents) == (200_000, 300_000)
    assert published.fee_cents == 0 and published.suspense_cents == 0
    assert published.reason == "M-Pesa reversal" and published.reversed_on == dt.date(2025, 3, 5)
    assert published.outstanding_cents == 500_000 and published.total_paid_cents == 2_700_000
    assert published.reopened is True  # REVA and REVB had paid the loan off
    [moved] = published.reallocations
    assert moved.receipt == "REVB" and moved.suspense_cents == 0
    assert moved.interest_cents + moved.principal_cents == 2_700_000
    assert published.subject() == "ledger.loan_account.repayment_reversed"

    # An event stored before RepaymentReversed was published keeps its old meaning: only a
    # reversal that reopened a repaid loan was published, as the loan being current again.
    import json

    from eventsourcing.persistence import StoredEvent

    mapper = container.ledger.mapper
    stored_form = mapper.to_stored_event(reversed_event)
    state = json.loads(stored_form.state)
    for name in ("amount_cents", "method", "lines", "suspense_cents", "total_paid_cents"):
        del state[name]
    legacy = mapper.to_domain_event(
        StoredEvent(
            stored_form.originator_id,
            stored_form.originator_version,
            stored_form.topic,
            json.dumps(state).encode(),
        )
    )
    old_mapping = to_contract(legacy)
    assert isinstance(old_mapping, LoanStatusChanged) and old_mapping.status == "current"
    assert old_mapping.outstanding_cents == 500_000
    # ... and the loan still folds from it: the fields it lacks are optional.
    folded = None
    for domain_event in [*stored[:-1], legacy]:
        folded = domain_event.mutate(folded)
    assert folded is not None and folded.status == "current"
    assert folded.outstanding.total_cents == 500_000


class TestClientChanges:
    """Origination's later word on a client (an edit, a move to another group, its decision)
    reaches the ledger's lists, once, and never undone by an older or repeated message."""

    @staticmethod
    def changed(
        client_id: uuid.UUID, group_id: uuid.UUID, name: str, day: int
    ) -> ClientDetailsChanged:
        return ClientDetailsChanged(
            occurred_at=dt.datetime(2025, 1, day, tzinfo=dt.UTC),
            actor_id=None,
            client_id=client_id,
            group_id=group_id,
            name=name,
            national_id="12345678",
            phone="254712345678",
            changed_fields=["name", "group"],
        )

    @staticmethod
    def group_savings(client: TestClient, staff: Any, group_id: uuid.UUID) -> list[Any]:
        rows = client.get(
            f"/api/savings?groupId={group_id}", headers=staff.headers("initiator_admin")
        )
        assert rows.status_code == 200, rows.text
        return [(r["clientName"], r["amountKES"]) for r in rows.json()]

    def test_a_client_renamed_and_moved_to_another_group_is_listed_there_under_the_new_name(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        client_id, old_group, new_group = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        onboarded = h.deliver(container, h.client_onboarded(client_id, group_id=old_group))
        h.deliver(
            container,
            h.payment_received("SAV1AAA", 250_000, client_id=client_id, target="savings"),
        )
        moved = h.envelope(self.changed(client_id, new_group, "Wanjiku Otieno", 10))
        for _ in range(2):
            h.deliver(container, moved)
        assert self.group_savings(client, staff, new_group) == [("Wanjiku Otieno", 2500)]
        assert self.group_savings(client, staff, old_group) == []

        # Late and repeated messages change nothing: the onboarding again (under a new envelope
        # too), and an older edit that arrives after the newer one.
        h.deliver(container, onboarded)
        h.deliver(container, h.client_onboarded(client_id, group_id=old_group))
        h.deliver(container, self.changed(client_id, old_group, "Wanjiku Kamau", 5))
        assert self.group_savings(client, staff, new_group) == [("Wanjiku Otieno", 2500)]

    def test_a_decision_on_the_client_is_kept_and_an_older_one_does_not_undo_it(
        self, container: Any, h: Any
    ) -> None:
        client_id = uuid.uuid4()
        h.deliver(
            container,
            h.client_onboarded(client_id).model_copy(update={"status": "pending"}),
        )
        approved = ClientApproved(
            occurred_at=dt.datetime(2025, 1, 3, tzinfo=dt.UTC), actor_id=None, client_id=client_id
        )
        h.deliver(container, approved)
        h.deliver(container, approved)
        older = ClientRejected(
            occurred_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC), actor_id=None, client_id=client_id
        )
        h.deliver(container, older)
        assert container.views.client(client_id)["status"] == "active"

    def test_an_edit_that_arrives_before_the_onboarding_waits_for_it(
        self, client: TestClient, container: Any, staff: Any, h: Any
    ) -> None:
        client_id, group_id = uuid.uuid4(), uuid.uuid4()
        h.deliver(container, self.changed(client_id, group_id, "Achieng Odhiambo", 10))
        parked = client.get(
            "/api/ledger/parked?status=parked", headers=staff.headers("approver_admin")
        ).json()
        assert [p["topic"] for p in parked] == ["ClientDetailsChanged v1"]
        assert container.views.client(client_id) is None

        h.deliver(container, h.client_onboarded(client_id))
        assert container.inbox.retry_parked() == 1  # the retry timer's round
        shown = container.views.client(client_id)
        assert (shown["name"], shown["group_id"]) == ("Achieng Odhiambo", group_id)
