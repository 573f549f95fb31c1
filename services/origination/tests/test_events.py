"""Events across the broker: the outbox relay publishes origination's contract events to a real
JetStream, and the PAYMENTS and LEDGER consumers apply what they receive exactly once, however
often and in whatever order it arrives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.js import JetStreamContext

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import identity, ledger, payments
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.subjects import Stream
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.messaging import ensure_stream
from hazina_servicekit.testing import drain, envelope, handle_each, published, with_jetstream


def make_envelope(event: ContractEvent, event_id: uuid.UUID | None = None) -> EventEnvelope:
    return envelope(event, event_id=event_id, correlation_id="corr-test")


async def deliver(
    js: JetStreamContext, consumer: DurableConsumer, stream: Stream, envelopes: list[EventEnvelope]
) -> None:
    """Publish each envelope as its own message (repeats included) and let the consumer handle them all."""
    await ensure_stream(js, stream)
    await handle_each(js, consumer, envelopes)


async def deliver_all(
    js: JetStreamContext, consumer: DurableConsumer, stream: Stream, envelopes: list[EventEnvelope]
) -> None:
    """Publish each envelope (repeats included), then let the consumer handle everything pending
    on its subjects, including copies other consumers' deliveries left on the stream."""
    await ensure_stream(js, stream)
    for env in envelopes:
        await js.publish(env.subject, env.to_bytes())
    await drain(js, consumer)


def stored_event_names(world: Any, loan_id: str) -> list[str]:
    return [type(e).__name__ for e in world.container.app.events.get(uuid.UUID(loan_id))]


def test_the_relay_publishes_the_lifecycle_once_with_the_actor_on_each_event(
    world: Any, nats_url: str
) -> None:
    officer = world.staff("loan_officer")
    loan = world.approved_loan(officer)
    for _ in range(3):
        world.ok(
            world.http.post(f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers),
            202,
        )
    detail = world.loan(loan["_id"])

    async def body(js: JetStreamContext) -> list[EventEnvelope]:
        await ensure_stream(js, Stream.ORIGINATION)
        relay = world.container.service.outbox_relay(js, name=f"test-{uuid.uuid4().hex[:8]}")
        while await relay.publish_once():
            pass
        again = world.container.service.outbox_relay(js, name=relay.name)
        assert await again.publish_once() == 0  # its position is recorded
        return await published(js, "ORIGINATION", "origination.>")

    sent = with_jetstream(nats_url, body)
    mine = [e for e in sent if e.data.get("loan_id") == loan["_id"]]
    types = [e.type for e in mine]
    assert types.count("LoanDisbursementRequested") == 1
    assert types[:1] == ["LoanInitiated"] and "LoanApproved" in types and "CreditAssessed" in types
    assert {"GuarantorAdded", "GuarantorAccepted"} <= set(types)
    requested = next(e for e in mine if e.type == "LoanDisbursementRequested")
    assert requested.subject == "origination.loan.disbursement_requested"
    assert requested.data["disbursement_id"] == detail["transactionId"]
    assert requested.data["amount_cents"] == 2_000_000
    assert requested.data["phone"].startswith("2547") and len(requested.data["phone"]) == 12
    assert requested.data["account_number"] == loan["accountNumber"]
    assert all(e.data["actor_id"] for e in mine)
    approved = next(e for e in mine if e.type == "LoanApproved")
    assert approved.data["actor_id"] == str(world.approver.user_id)
    assert approved.data["terms"]["term"] == 6
    group_events = [e.type for e in sent if e.data.get("group_id") == detail["groupId"]["_id"]]
    assert {"GroupCreated", "GroupApproved", "SignatoriesAssigned"} <= set(group_events)
    assert "ClientOnboarded" in {e.type for e in sent} and "ClientApproved" in {
        e.type for e in sent
    }
    onboarded = next(e for e in sent if e.type == "ClientOnboarded")
    assert "photo" not in onboarded.data  # private details stay private


def _disbursing(world: Any) -> tuple[dict[str, Any], str]:
    officer = world.staff("loan_officer")
    loan = world.approved_loan(officer)
    started = world.ok(
        world.http.post(f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers), 202
    )
    return loan, started["transactionId"]


def completed(loan: dict[str, Any], disbursement_id: str) -> payments.DisbursementCompleted:
    now = datetime.now(UTC)
    return payments.DisbursementCompleted(
        occurred_at=now,
        disbursement_id=uuid.UUID(disbursement_id),
        loan_id=uuid.UUID(loan["_id"]),
        amount_cents=2_000_000,
        charge_cents=1300,
        mpesa_receipt="QWE123ABC",
        completed_at=now,
    )


def failed(loan: dict[str, Any], disbursement_id: str) -> payments.DisbursementFailed:
    return payments.DisbursementFailed(
        occurred_at=datetime.now(UTC),
        disbursement_id=uuid.UUID(disbursement_id),
        loan_id=uuid.UUID(loan["_id"]),
        amount_cents=2_000_000,
        result_code="2001",
        result_description="The initiator information is invalid.",
        retryable=False,
    )


def test_a_completed_disbursement_delivered_twice_disburses_once(world: Any, nats_url: str) -> None:
    loan, transaction_id = _disbursing(world)
    success = make_envelope(completed(loan, transaction_id))
    republished = make_envelope(
        completed(loan, transaction_id)
    )  # same fact, new event id (a producer retry)
    late_failure = make_envelope(failed(loan, transaction_id))  # out of order: after the success

    async def body(js: JetStreamContext) -> DurableConsumer:
        consumer = world.container.service.durable_consumer(js, "payments")
        await deliver(js, consumer, Stream.PAYMENTS, [success, success, republished, late_failure])
        return consumer

    consumer = with_jetstream(nats_url, body)
    assert consumer.duplicates == 1 and consumer.processed == 3 and consumer.dead_lettered == 0
    detail = world.loan(loan["_id"])
    assert detail["status"] == "disbursed" and detail["mpesaReceipt"] == "QWE123ABC"
    assert stored_event_names(world, loan["_id"]).count("Disbursed") == 1
    assert "DisbursementFailed" not in stored_event_names(world, loan["_id"])


def test_a_failed_disbursement_goes_back_to_approved_with_the_reason_and_can_be_retried(
    world: Any, nats_url: str
) -> None:
    loan, first_attempt = _disbursing(world)
    failure = make_envelope(failed(loan, first_attempt))

    async def first(js: JetStreamContext) -> None:
        await deliver(
            js,
            world.container.service.durable_consumer(js, "payments"),
            Stream.PAYMENTS,
            [failure, failure],
        )

    with_jetstream(nats_url, first)
    detail = world.loan(loan["_id"])
    assert detail["status"] == "approved" and detail["canDisburse"] is True
    assert "The initiator information is invalid." in detail["lastDisbursementFailure"]
    assert detail["history"][-1]["event"] == "disbursement_failed"
    assert stored_event_names(world, loan["_id"]).count("DisbursementFailed") == 1

    retried = world.ok(
        world.http.post(f"/api/loans/{loan['_id']}/disburse", headers=world.disburser.headers), 202
    )
    assert retried["transactionId"] != first_attempt
    stale = make_envelope(failed(loan, first_attempt))  # the old attempt reported again, late
    success = make_envelope(completed(loan, retried["transactionId"]))

    async def second(js: JetStreamContext) -> None:
        await deliver(
            js,
            world.container.service.durable_consumer(js, "payments"),
            Stream.PAYMENTS,
            [stale, success],
        )

    with_jetstream(nats_url, second)
    detail = world.loan(loan["_id"])
    assert detail["status"] == "disbursed" and detail["disbursementAttempts"] == 2


def test_savings_balances_apply_once_and_the_newest_wins(world: Any, nats_url: str) -> None:
    officer = world.staff("loan_officer")
    _, people = world.ready_group(officer)
    client_id = uuid.UUID(people[0]["_id"])
    t0 = datetime.now(UTC)

    def change(balance: int, delta: int, at: datetime, tx: str) -> EventEnvelope:
        return make_envelope(
            ledger.SavingsBalanceChanged(
                occurred_at=at,
                client_id=client_id,
                balance_cents=balance,
                change_cents=delta,
                reason="deposit",
                transaction_id=tx,
            )
        )

    newest = change(500_000, 200_000, t0 + timedelta(minutes=5), "TX2")
    older = change(300_000, 300_000, t0, "TX1")

    async def body(js: JetStreamContext) -> DurableConsumer:
        consumer = world.container.service.durable_consumer(js, "ledger")
        await deliver(js, consumer, Stream.LEDGER, [newest, newest, older, older])
        return consumer

    consumer = with_jetstream(nats_url, body)
    assert consumer.processed == 2 and consumer.duplicates == 2
    client = world.ok(
        world.http.get(f"/api/clients/{client_id}", headers=world.super_admin.headers)
    )
    assert client["savings_balance_cents"] == 500_000 and client["savingsBalance"] == 5000
    assert sorted(m["_id"] for m in client["savingsHistory"]) == ["TX1", "TX2"]


def test_ledger_loan_states_apply_once_and_an_older_state_never_overwrites_a_newer(
    world: Any, nats_url: str
) -> None:
    loan, transaction_id = _disbursing(world)
    loan_id, client_id = uuid.UUID(loan["_id"]), uuid.UUID(loan["clientId"]["_id"])
    t0 = datetime.now(UTC)

    def status(value: str, at: datetime) -> EventEnvelope:
        return make_envelope(
            ledger.LoanStatusChanged(
                occurred_at=at,
                loan_id=loan_id,
                client_id=client_id,
                status=value,
                days_past_due=0 if value == "current" else 40,
                outstanding_cents=1_000_000,
            )
        )  # type: ignore[arg-type]

    arrears = status("in_arrears", t0 + timedelta(days=10))
    stale_current = status("current", t0 + timedelta(days=1))
    defaulted = status("defaulted", t0 + timedelta(days=90))
    repaid = make_envelope(
        ledger.LoanRepaid(
            occurred_at=t0 + timedelta(days=120),
            loan_id=loan_id,
            client_id=client_id,
            total_paid_cents=2_600_000,
        )
    )
    success = make_envelope(completed(loan, transaction_id))

    async def body(js: JetStreamContext) -> None:
        await deliver(
            js,
            world.container.service.durable_consumer(js, "ledger"),
            Stream.LEDGER,
            [arrears, arrears, stale_current],
        )

    with_jetstream(nats_url, body)
    assert (
        world.loan(loan["_id"])["status"] == "in_arrears"
    )  # the ledger saw the payout before we did

    async def later(js: JetStreamContext) -> None:
        await deliver(
            js, world.container.service.durable_consumer(js, "payments"), Stream.PAYMENTS, [success]
        )
        await deliver(
            js,
            world.container.service.durable_consumer(js, "ledger"),
            Stream.LEDGER,
            [repaid, defaulted, repaid],
        )

    with_jetstream(nats_url, later)
    detail = world.loan(loan["_id"])
    assert detail["status"] == "repaid" and detail["mpesaReceipt"] == "QWE123ABC"
    names = stored_event_names(world, loan["_id"])
    assert names.count("Repaid") == 1 and names.count("LedgerStatusChanged") == 1
    # The repaid loan counts for the repaid-loan rule and no longer blocks a new loan.
    product = world.product(requirePriorRepaidLoan=True)
    world.savings(loan["clientId"]["_id"], 1_000_000)
    borrower = {"nationalId": loan["clientId"]["nationalId"]}
    world.ok(world.initiate(world.initiator, borrower, product), 201)


def _disbursed(world: Any, nats_url: str) -> dict[str, Any]:
    loan, transaction_id = _disbursing(world)

    async def body(js: JetStreamContext) -> None:
        await deliver(
            js,
            world.container.service.durable_consumer(js, "payments"),
            Stream.PAYMENTS,
            [make_envelope(completed(loan, transaction_id))],
        )

    with_jetstream(nats_url, body)
    return loan


def account_opened(loan: dict[str, Any], at: datetime) -> ledger.LoanAccountOpened:
    return ledger.LoanAccountOpened(
        occurred_at=at,
        loan_id=uuid.UUID(loan["_id"]),
        client_id=uuid.UUID(loan["clientId"]["_id"]),
        principal_cents=2_000_000,
        total_interest_cents=1_200_000,
        total_fees_cents=30_000,
        instalments=6,
        disbursed_on=at.date(),
        maturity_on=(at + timedelta(days=182)).date(),
    )


def repayment(
    loan: dict[str, Any], receipt: str, amount: int, outstanding: int, at: datetime
) -> ledger.RepaymentPosted:
    return ledger.RepaymentPosted(
        occurred_at=at,
        loan_id=uuid.UUID(loan["_id"]),
        client_id=uuid.UUID(loan["clientId"]["_id"]),
        receipt=receipt,
        amount_cents=amount,
        interest_cents=amount // 2,
        principal_cents=amount - amount // 2,
        suspense_cents=0,
        outstanding_cents=outstanding,
        payment_method="mpesa",
    )


def test_an_opened_loan_account_shows_what_is_due_and_owed_at_once(
    world: Any, nats_url: str
) -> None:
    loan = _disbursed(world, nats_url)
    before = world.loan(loan["_id"])
    assert before["status"] == "disbursed" and before["outstanding_cents"] is None
    opened = make_envelope(account_opened(loan, datetime.now(UTC)))

    async def body(js: JetStreamContext) -> DurableConsumer:
        consumer = world.container.service.durable_consumer(js, "loan-balances")
        await deliver(js, consumer, Stream.LEDGER, [opened, opened])
        return consumer

    consumer = with_jetstream(nats_url, body)
    assert consumer.processed == 1 and consumer.duplicates == 1
    detail = world.loan(loan["_id"])
    assert detail["total_due_cents"] == 3_230_000
    assert detail["outstanding_cents"] == 3_230_000
    assert detail["total_interest_cents"] == 1_200_000 and detail["total_fees_cents"] == 30_000
    assert detail["totals"]["totalDue"] == 32_300 and detail["totals"]["outstanding"] == 32_300
    assert detail["instalments"] == 6 and detail["maturityOn"]
    # The Repayments page lists loans whose outstanding is positive.
    listed = world.ok(
        world.http.get(
            f"/api/loans?clientId={loan['clientId']['_id']}", headers=world.super_admin.headers
        )
    )
    assert [x["outstanding_cents"] for x in listed] == [3_230_000]


def test_repayments_track_the_ledger_once_per_receipt_and_newest_first(
    world: Any, nats_url: str
) -> None:
    loan = _disbursed(world, nats_url)
    t0 = datetime.now(UTC)
    opened = make_envelope(account_opened(loan, t0))
    first = repayment(loan, "RCP1AAA", 600_000, 2_630_000, t0 + timedelta(days=30))
    second = repayment(loan, "RCP2BBB", 700_000, 1_930_000, t0 + timedelta(days=60))
    first_envelope = make_envelope(first)
    resent_first = make_envelope(first)  # the same receipt under a new event id
    stale_status = make_envelope(
        ledger.LoanStatusChanged(
            occurred_at=t0 + timedelta(days=45),
            loan_id=uuid.UUID(loan["_id"]),
            client_id=uuid.UUID(loan["clientId"]["_id"]),
            status="in_arrears",
            days_past_due=15,
            outstanding_cents=2_630_000,
        )
    )

    async def body(js: JetStreamContext) -> DurableConsumer:
        consumer = world.container.service.durable_consumer(js, "loan-balances")
        # Newest first, then older facts, each more than once: none may undo the newest.
        await deliver(
            js,
            consumer,
            Stream.LEDGER,
            [
                make_envelope(second),
                first_envelope,
                first_envelope,
                resent_first,
                stale_status,
                opened,
            ],
        )
        return consumer

    consumer = with_jetstream(nats_url, body)
    assert consumer.duplicates == 1 and consumer.processed == 5
    detail = world.loan(loan["_id"])
    assert detail["outstanding_cents"] == 1_930_000
    assert detail["total_paid_cents"] == 1_300_000
    assert detail["total_due_cents"] == 3_230_000
    assert detail["repaymentsCount"] == 2
    assert detail["totals"] == {
        "totalDue": 32_300,
        "totalPaid": 13_000,
        "outstanding": 19_300,
        "total_due_cents": 3_230_000,
        "total_paid_cents": 1_300_000,
        "outstanding_cents": 1_930_000,
    }

    final = repayment(loan, "RCP3CCC", 1_930_000, 0, t0 + timedelta(days=90))
    repaid = ledger.LoanRepaid(
        occurred_at=t0 + timedelta(days=90),
        loan_id=uuid.UUID(loan["_id"]),
        client_id=uuid.UUID(loan["clientId"]["_id"]),
        total_paid_cents=3_230_000,
    )
    repaid_envelope = make_envelope(repaid)

    async def payoff(js: JetStreamContext) -> None:
        # The ledger's LoanRepaid may overtake the last RepaymentPosted.
        await deliver(
            js,
            world.container.service.durable_consumer(js, "loan-balances"),
            Stream.LEDGER,
            [repaid_envelope],
        )
        middle = world.loan(loan["_id"])
        assert middle["outstanding_cents"] == 0 and middle["total_paid_cents"] == 3_230_000
        await deliver(
            js,
            world.container.service.durable_consumer(js, "loan-balances"),
            Stream.LEDGER,
            [make_envelope(final), first_envelope],
        )

    with_jetstream(nats_url, payoff)
    detail = world.loan(loan["_id"])
    assert detail["outstanding_cents"] == 0 and detail["total_paid_cents"] == 3_230_000
    assert detail["repaymentsCount"] == 3


def reversal(
    loan: dict[str, Any],
    receipt: str,
    amount: int,
    *,
    outstanding: int,
    total_paid: int,
    at: datetime,
    reopened: bool,
    reallocations: list[ledger.Reallocation] | None = None,
) -> ledger.RepaymentReversed:
    return ledger.RepaymentReversed(
        occurred_at=at,
        loan_id=uuid.UUID(loan["_id"]),
        client_id=uuid.UUID(loan["clientId"]["_id"]),
        receipt=receipt,
        amount_cents=amount,
        interest_cents=amount // 2,
        principal_cents=amount - amount // 2,
        fee_cents=0,
        suspense_cents=0,
        payment_method="mpesa",
        reason="M-Pesa reversed the C2B payment",
        reversed_on=at.date(),
        reallocations=reallocations or [],
        outstanding_cents=outstanding,
        total_paid_cents=total_paid,
        reopened=reopened,
    )


def test_a_reversal_stops_its_receipt_counting_once_and_reopens_a_repaid_loan(
    world: Any, nats_url: str
) -> None:
    loan = _disbursed(world, nats_url)
    t0 = datetime.now(UTC)
    first_posted = repayment(loan, "RVS1AAA", 1_000_000, 2_230_000, t0 + timedelta(days=30))
    first = make_envelope(first_posted)
    second = repayment(loan, "RVS2BBB", 2_230_000, 0, t0 + timedelta(days=60))
    paid_off = ledger.LoanRepaid(
        occurred_at=t0 + timedelta(days=60),
        loan_id=uuid.UUID(loan["_id"]),
        client_id=uuid.UUID(loan["clientId"]["_id"]),
        total_paid_cents=3_230_000,
    )
    repaid = make_envelope(paid_off)

    async def payoff(js: JetStreamContext) -> None:
        await deliver_all(
            js,
            world.container.service.durable_consumer(js, "loan-balances"),
            Stream.LEDGER,
            [make_envelope(account_opened(loan, t0)), first, make_envelope(second), repaid],
        )
        await deliver_all(
            js, world.container.service.durable_consumer(js, "ledger"), Stream.LEDGER, [repaid]
        )

    with_jetstream(nats_url, payoff)
    before = world.loan(loan["_id"])
    assert before["status"] == "repaid"
    assert (before["outstanding_cents"], before["total_paid_cents"]) == (0, 3_230_000)

    reversed_first = reversal(
        loan,
        "RVS1AAA",
        1_000_000,
        outstanding=1_000_000,
        total_paid=2_230_000,
        at=t0 + timedelta(days=70),
        reopened=True,
        reallocations=[
            ledger.Reallocation(
                receipt="RVS2BBB",
                interest_cents=1_200_000,
                principal_cents=1_030_000,
                fee_cents=0,
                suspense_cents=0,
            )
        ],
    )
    once, resent = make_envelope(reversed_first), make_envelope(reversed_first)

    async def reverse(js: JetStreamContext) -> tuple[DurableConsumer, DurableConsumer]:
        balances = world.container.service.durable_consumer(js, "loan-balances")
        # The reversal twice, the same fact under a new event id, then older facts republished.
        older = [make_envelope(first_posted), make_envelope(paid_off)]
        await deliver_all(js, balances, Stream.LEDGER, [once, once, resent, *older])
        states = world.container.service.durable_consumer(js, "ledger")
        await deliver_all(js, states, Stream.LEDGER, [once, resent, make_envelope(paid_off)])
        return balances, states

    balances, states = with_jetstream(nats_url, reverse)
    assert balances.duplicates >= 1 and states.duplicates >= 1
    after = world.loan(loan["_id"])
    assert after["status"] == "disbursed"  # owed again
    assert after["outstanding_cents"] == 1_000_000
    assert after["total_paid_cents"] == 2_230_000
    assert after["repaymentsCount"] == 1
    assert after["totals"]["totalPaid"] == 22_300 and after["totals"]["outstanding"] == 10_000
    names = stored_event_names(world, loan["_id"])
    assert names.count("LedgerStatusChanged") == 1 and names.count("Repaid") == 1
    with world.container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT receipt, reversed_at IS NOT NULL, interest_cents FROM loan_repayments "
            "WHERE loan_id = %s ORDER BY receipt",
            (uuid.UUID(loan["_id"]),),
        ).fetchall()
    assert rows == [("RVS1AAA", True, 500_000), ("RVS2BBB", False, 1_200_000)]

    # A later repayment counts again; a reversal that overtakes its own repayment means that
    # repayment never counts, whichever arrives first.
    third = repayment(loan, "RVS3CCC", 400_000, 600_000, t0 + timedelta(days=80))
    fourth = repayment(loan, "RVS4DDD", 250_000, 350_000, t0 + timedelta(days=85))
    fourth_reversed = reversal(
        loan,
        "RVS4DDD",
        250_000,
        outstanding=600_000,
        total_paid=2_630_000,
        at=t0 + timedelta(days=86),
        reopened=False,
    )

    async def more(js: JetStreamContext) -> None:
        await deliver_all(
            js,
            world.container.service.durable_consumer(js, "loan-balances"),
            Stream.LEDGER,
            [make_envelope(third), make_envelope(fourth_reversed), make_envelope(fourth)],
        )

    with_jetstream(nats_url, more)
    final = world.loan(loan["_id"])
    assert final["total_paid_cents"] == 2_630_000  # 2,230,000 + 400,000; the reversed 250,000 never
    assert final["outstanding_cents"] == 600_000
    assert final["repaymentsCount"] == 2


def test_staff_events_apply_once_in_any_order(world: Any, nats_url: str) -> None:
    admin = uuid.uuid4()
    officer_id, promoted_id = uuid.uuid4(), uuid.uuid4()
    t0 = datetime.now(UTC)
    created = make_envelope(
        identity.UserCreated(
            occurred_at=t0,
            user_id=officer_id,
            username="achieng.otieno",
            name="Achieng Otieno",
            role="loan_officer",
            regions=["Kisumu"],
            branch_id="KSM",
        )
    )
    deactivated = identity.UserDeactivated(
        occurred_at=t0 + timedelta(minutes=2), user_id=officer_id, deactivated_by=admin
    )
    stale_reactivation = identity.UserReactivated(
        occurred_at=t0 + timedelta(minutes=1), user_id=officer_id, reactivated_by=admin
    )
    promotion = identity.UserRoleChanged(
        occurred_at=t0 + timedelta(minutes=1),
        user_id=promoted_id,
        role="loan_officer",
        regions=["Nakuru"],
        changed_by=admin,
    )
    promoted_created = identity.UserCreated(
        occurred_at=t0,
        user_id=promoted_id,
        username="kiprono",
        name="Kiprono Langat",
        role="approver_admin",
    )

    async def body(js: JetStreamContext) -> DurableConsumer:
        consumer = world.container.service.durable_consumer(js, "staff")
        await deliver(
            js,
            consumer,
            Stream.IDENTITY,
            [
                make_envelope(deactivated),
                created,
                created,
                make_envelope(stale_reactivation),
                make_envelope(promotion),  # the role change overtakes the creation
                make_envelope(promoted_created),
                make_envelope(promoted_created),  # the same fact under a new event id
            ],
        )
        return consumer

    consumer = with_jetstream(nats_url, body)
    assert consumer.processed == 6 and consumer.duplicates == 1 and consumer.dead_lettered == 0
    headers = world.super_admin.headers
    officer = world.ok(world.http.get(f"/api/loan-officers/{officer_id}", headers=headers))
    assert datetime.fromisoformat(officer.pop("createdAt")) == t0
    assert officer == {
        "_id": str(officer_id),
        "name": "Achieng Otieno",
        "username": "achieng.otieno",
        "role": "loan_officer",
        "regions": ["Kisumu"],
        "branchId": "KSM",
        "active": False,
        "isActive": False,
    }
    promoted = world.ok(world.http.get(f"/api/loan-officers/{promoted_id}", headers=headers))
    assert promoted["username"] == "kiprono" and promoted["name"] == "Kiprono Langat"
    assert promoted["regions"] == ["Nakuru"] and promoted["active"] is True
    active = world.ok(world.http.get("/api/loan-officers?active=true", headers=headers))
    assert [o["_id"] for o in active] == [str(promoted_id)]
