"""Complete USSD sessions driven as Africa's Talking drives them, on real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ussd_harness import MovableClock, Phone, World, make_settings

from hazina_contracts.events import ledger, origination, ussd
from hazina_servicekit.auth import TokenVerifier
from hazina_ussd.adapters.contract_mapping import to_contract
from hazina_ussd.adapters.read_models import ClientNotYetKnownError, client_phone
from hazina_ussd.bootstrap import Container, build
from hazina_ussd.domain.requests import LoanApplication, RepaymentPrompt, request_id

pytestmark = pytest.mark.integration
PIN = "4826"  # pragma: allowlist secret


def published(container: Container) -> list[Any]:
    app = container.ussd
    found = []
    for n in app.recorder.select_notifications(start=1, limit=1000):
        contract = to_contract(app.mapper.to_domain_event(n))
        if contract is not None:
            found.append(contract)
    return found


def sms_rows(container: Container, kind: str | None = None) -> list[dict[str, Any]]:
    rows, _ = container.sms.notifications(
        status=None, client_id=None, since=None, until=None, offset=0, limit=None
    )
    return [r for r in rows if kind is None or r["kind"] == kind]


def signed_up(phone: Phone, national_id: str = "29001234") -> str:
    assert "national ID" in phone.dial()
    assert "4-digit PIN" in phone.send(national_id)
    assert "again" in phone.send(PIN)
    return phone.send(PIN)


def test_an_unknown_number_is_told_how_to_register(client: TestClient) -> None:
    reply = Phone(client, "+254700000001").dial()
    assert reply.startswith("END ") and "loan officer" in reply


def test_a_client_not_yet_approved_is_told_so(client: TestClient, world: World) -> None:
    world.client("254711000002", approved=False)
    reply = Phone(client, "0711000002").dial()
    assert reply.startswith("END ") and "approval" in reply


def test_a_new_phone_number_from_origination_is_the_one_that_dials_in(
    client: TestClient, world: World, container: Container
) -> None:
    """The old number no longer reaches the borrower's menu (Safaricom gives unused numbers to
    others), the new one does with the same PIN, and a late onboarding does not undo the edit."""
    client_id = world.client("254711000031", national_id="29001234")
    signed_up(Phone(client, "254711000031"))
    onboarded = origination.ClientOnboarded(
        occurred_at=datetime.now(UTC) - timedelta(days=1),
        actor_id=None,
        client_id=client_id,
        group_id=None,
        name="Achieng Otieno",
        national_id="29001234",
        phone="254711000031",
        status="active",
    )
    edited = origination.ClientDetailsChanged(
        occurred_at=datetime.now(UTC),
        actor_id=None,
        client_id=client_id,
        group_id=None,
        name="Achieng Otieno",
        national_id="29001235",
        phone="254711000032",
        changed_fields=["phone", "national_id"],
    )
    world.deliver("origination", edited)
    world.deliver("origination", edited)
    world.deliver("origination", onboarded)  # delivered again, late

    old = Phone(client, "254711000031").dial()
    assert old.startswith("END ") and "loan officer" in old
    new = Phone(client, "0711000032")
    assert "Enter your PIN" in new.dial()
    assert "1. Apply" in new.send(PIN)
    with container.pool.connection() as conn:
        assert client_phone(conn, client_id) == "254711000032"  # where its SMS go

    # An edit that overtakes the onboarding waits for it (delivered again, then parked).
    stranger = uuid.uuid4()
    with pytest.raises(ClientNotYetKnownError):
        world.deliver("origination", edited.model_copy(update={"client_id": stranger}))


def test_first_use_sets_a_pin_then_the_pin_guards_the_menu(
    client: TestClient, world: World
) -> None:
    world.client("254711000003")
    phone = Phone(client, "+254711000003")
    phone.dial()
    assert "does not match" in phone.send("11111111")  # the wrong national ID re-asks
    assert "4-digit PIN" in phone.send("29001234")
    assert "too easy" in phone.send("1234")
    phone.send(PIN)
    assert "did not match" in phone.send("4827")  # back to choosing
    phone.send(PIN)
    menu = phone.send(PIN)
    assert menu.startswith("CON 1. Apply for a loan") and PIN not in menu
    # Next session: the PIN, and the same person in any form of the number.
    other_form = Phone(client, "0711000003")
    assert "Enter your PIN" in other_form.dial()
    assert "1. Apply" in other_form.send(PIN)


def test_three_wrong_pins_lock_until_an_admin_unlocks(
    client: TestClient, world: World, container: Container, mint: Any
) -> None:
    client_id = world.client("254711000004")
    phone = Phone(client, "254711000004")
    signed_up(phone)
    phone.dial()
    assert "2 tries left" in phone.send("1111")
    assert "1 tries left" in phone.send("2222")
    locked = phone.send("3333")
    assert locked.startswith("END ") and "locked" in locked
    assert "locked" in phone.dial()  # even the right PIN cannot get in now
    [text] = sms_rows(container, "pin_locked")
    assert "locked" in text["text"]

    url = f"/api/ussd/borrowers/{client_id}/unlock"
    assert client.post(url).status_code == 401
    assert client.post(url, headers=mint.headers("loan_officer")).status_code == 403
    assert client.post(url, headers=mint.headers("super_admin")).json()["unlocked"] is True
    assert client.post(url, headers=mint.headers("super_admin")).json()["unlocked"] is False
    phone.dial()
    assert "1. Apply" in phone.send(PIN)


def test_apply_within_the_limit_once_however_often_the_hop_repeats(
    client: TestClient, world: World, container: Container
) -> None:
    client_id = world.client("254711000005")
    world.savings(client_id, 2_000_00)  # limit: 3 x 2,000 = 6,000 (under 5 x savings)
    phone = Phone(client, "254711000005")
    signed_up(phone)
    assert "limit is KES 6,000" in phone.send("1")
    assert "Above your limit" in phone.send("7000")
    phone.answers.pop()
    assert "Enter digits only" in phone.send("abc")
    phone.answers.pop()
    assert "multiple of KES 100" in phone.send("5050")
    phone.answers.pop()
    assert "minimum is KES 500" in phone.send("100")
    phone.answers.pop()
    assert "Purpose" in phone.send("5000")
    assert "how many months" in phone.send("2")
    assert "Choose from 1 to 12" in phone.send("13")
    phone.answers.pop()
    assert "Confirm" in phone.send("3")
    done = phone.send("1")
    again = phone.hop()  # Africa's Talking sends the same hop again
    assert done == again and done.startswith("END Application received. Ref U")

    [application] = [
        e for e in published(container) if isinstance(e, ussd.LoanApplicationRequested)
    ]
    assert (application.client_id, application.principal_cents, application.term) == (
        client_id,
        5_000_00,
        3,
    )
    assert application.purpose == "business" and application.reference in done
    [text] = sms_rows(container, "application")
    assert application.reference in text["text"]


def test_a_withdrawn_application_no_longer_blocks_the_next_in_any_order(
    client: TestClient, world: World
) -> None:
    """One open loan at a time: an application origination cancelled (or rejected) is not open,
    whether its cancellation arrives after it, twice, before it, or before a late approval."""
    client_id = world.client("254711000025")
    world.savings(client_id, 2_000_00)

    def application(loan_id: uuid.UUID, account: str) -> origination.LoanInitiated:
        return world.application(client_id, loan_id, account=account, principal_cents=5_000_00)

    def cancelled(loan_id: uuid.UUID) -> origination.LoanCancelled:
        return origination.LoanCancelled(
            occurred_at=datetime.now(UTC), actor_id=None, loan_id=loan_id
        )

    phone = Phone(client, "254711000025")
    signed_up(phone)
    first, second = uuid.uuid4(), uuid.uuid4()
    world.deliver("origination", application(first, "4810000025"))
    assert "already have an open loan" in phone.send("1")

    approved = origination.LoanApproved(**application(first, "4810000025").model_dump())
    for event in (approved, cancelled(first), cancelled(first), approved, application(first, "x")):
        world.deliver("origination", event)
    world.deliver("origination", cancelled(second))  # heard before its application
    world.deliver("origination", application(second, "4810000033"))
    phone.dial()
    phone.answers = []
    phone.send(PIN)
    assert "limit is KES 6,000" in phone.send("1")


def test_the_menu_says_no_when_there_is_no_limit(client: TestClient, world: World) -> None:
    world.client("254711000006")
    phone = Phone(client, "254711000006")
    signed_up(phone)
    assert "limit is KES 0" in phone.send("1")


def test_balance_statement_and_repay_by_stk_push(
    client: TestClient, world: World, container: Container
) -> None:
    client_id = world.client("254711000007")
    loan_id = world.disbursed_loan(client_id)
    posted = ledger.RepaymentPosted(
        occurred_at=datetime.now(UTC),
        loan_id=loan_id,
        client_id=client_id,
        receipt="TAF1XY2ZQ9",
        amount_cents=3_000_00,
        interest_cents=500_00,
        principal_cents=2_500_00,
        suspense_cents=0,
        outstanding_cents=9_000_00,
        payment_method="mpesa",
    )
    event_id = uuid.uuid4()
    assert world.deliver("ledger", posted, event_id)
    assert not world.deliver("ledger", posted, event_id)  # a redelivery changes nothing
    [receipt] = sms_rows(container, "payment")
    assert "KES 3,000" in receipt["text"] and "Balance KES 9,000" in receipt["text"]

    phone = Phone(client, "254711000007")
    signed_up(phone)
    status = phone.send("2")
    assert "Principal KES 7,500" in status and "Interest KES 1,500" in status
    assert "Next KES" in status
    statement = phone.send("00")
    assert "1. Apply" in statement
    movements = phone.send("4")
    assert "Paid 3,000" in movements and "Received 10,000" in movements
    phone.send("00")
    assert "owes KES 9,000" in phone.send("3")
    assert "You owe KES 9,000 only" in phone.send("10000")
    phone.answers.pop()
    assert "Pay KES 9,000" in phone.send("1")
    prompt = phone.send("1")
    assert prompt.startswith("END You will get an M-Pesa prompt for KES 9,000")
    assert phone.hop() == prompt
    [request] = [e for e in published(container) if isinstance(e, ussd.RepaymentPromptRequested)]
    assert (request.loan_id, request.amount_cents, request.account_reference) == (
        loan_id,
        9_000_00,
        "4810000017",
    )
    assert request.phone == "254711000007"


def test_paybill_instructions_name_the_loan_account(client: TestClient, world: World) -> None:
    client_id = world.client("254711000008")
    world.disbursed_loan(client_id, account="4810000025")
    phone = Phone(client, "254711000008")
    signed_up(phone)
    phone.send("3")
    phone.send("2000")
    reply = phone.send("2")
    assert "Paybill 600984" in reply and "Account 4810000025" in reply and "2,000" in reply


def test_kiswahili_every_screen_after_the_choice(client: TestClient, world: World) -> None:
    client_id = world.client("254711000009")
    world.savings(client_id, 1_000_00)
    phone = Phone(client, "254711000009")
    signed_up(phone)
    assert "1. English\n2. Kiswahili" in phone.send("6") + phone.send("1")
    menu = phone.send("2")
    assert "Lugha imebadilishwa" in menu and "1. Omba mkopo" in menu
    assert "Salio la akiba: KES 1,000" in phone.send("5")
    assert "Karibu" in phone.dial()  # the next session too


def test_change_pin(client: TestClient, world: World) -> None:
    world.client("254711000010")
    phone = Phone(client, "254711000010")
    signed_up(phone)
    phone.send("6")
    phone.send("2")
    assert "new 4-digit PIN" in phone.send(PIN)
    phone.send("5093")
    assert "PIN is changed" in phone.send("5093")
    phone.dial()
    assert "1. Apply" in phone.send("5093")


def test_a_session_continues_on_a_second_instance(
    client: TestClient, world: World, settings: Any, clock: MovableClock, mint: Any
) -> None:
    world.client("254711000011")
    phone = Phone(client, "254711000011")
    signed_up(phone)
    second = build(
        settings, clock=clock, verifier=TokenVerifier(mint.jwks, issuer="hazina-identity")
    )
    try:
        with TestClient(second.service.http_app()) as other:
            phone.client = other
            assert "Savings balance" in phone.send("5")
    finally:
        second.close()


def test_an_abandoned_session_expires(
    client: TestClient, world: World, clock: MovableClock
) -> None:
    world.client("254711000012")
    phone = Phone(client, "254711000012")
    signed_up(phone)
    clock.advance(seconds=181)
    assert "expired" in phone.send("5")


def test_the_end_of_session_notification_closes_the_session_once(
    client: TestClient, world: World, container: Container
) -> None:
    world.client("254711000014")
    phone = Phone(client, "254711000014")
    signed_up(phone)
    ended = {
        "sessionId": phone.session_id,
        "phoneNumber": "+254711000014",
        "serviceCode": "*384*1234#",
        "networkCode": "63902",
        "status": "Incomplete",
        "durationInMillis": "41200",
        "hopsCount": "4",
        "cost": "KES 0.10",
        "input": "*".join(phone.answers),
        "lastAppResponse": "CON ...",
        "date": "2026-11-30 18:00:00",
    }
    for _ in range(2):  # the same notification twice
        response = client.post("/api/ussd/session-end", data=ended)
        assert response.status_code == 200 and response.text == "OK"
    assert "expired" in phone.send("5")  # a late hop of it is not answered
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT end_status, duration_ms, cost FROM ussd_sessions WHERE session_id = %s",
            (phone.session_id,),
        ).fetchone()
    assert row == ("Incomplete", 41200, "KES 0.10")
    unknown = {**ended, "sessionId": "ATUid_never_seen", "phoneNumber": "not a phone"}
    assert client.post("/api/ussd/session-end", data=unknown).status_code == 200


def test_one_phone_cannot_flood_the_service(
    database_url: str, nats_url: str, clock: MovableClock, mint: Any
) -> None:
    built = build(
        make_settings(database_url, nats_url, rate_per_phone=3),
        clock=clock,
        verifier=TokenVerifier(mint.jwks, issuer="hazina-identity"),
    )
    try:
        with TestClient(built.service.http_app()) as client:
            phone = Phone(client, "254711000013")
            replies = [phone.dial() for _ in range(4)]
            assert "Too many requests" in replies[-1]
            assert all("Too many" not in r for r in replies[:3])
    finally:
        built.close()


def test_the_seed_path_answers_too(client: TestClient) -> None:
    assert Phone(client, "+254700000014", path="/api/v1/ussd").dial().startswith("END ")


def test_requests_have_ids_from_the_session() -> None:
    assert LoanApplication.create_id("s1") == request_id("s1", "application")
    assert RepaymentPrompt.create_id("s1") != LoanApplication.create_id("s1")


def test_the_next_instalment_is_the_ledgers_own_when_it_sends_the_schedule(
    client: TestClient, world: World
) -> None:
    client_id = world.client("254711000015")
    loan_id = uuid.uuid4()
    today = datetime.now(UTC).date()
    world.deliver(
        "ledger",
        ledger.LoanAccountOpenedV2(
            occurred_at=datetime.now(UTC),
            loan_id=loan_id,
            client_id=client_id,
            principal_cents=3_000_00,
            total_interest_cents=300_00,
            total_fees_cents=0,
            instalments=2,
            disbursed_on=today,
            maturity_on=today + timedelta(days=60),
            schedule=[
                ledger.ScheduledInstalment(
                    number=1,
                    due_on=today + timedelta(days=30),
                    principal_cents=1_000_00,
                    interest_cents=150_00,
                    fee_cents=0,
                ),
                ledger.ScheduledInstalment(
                    number=2,
                    due_on=today + timedelta(days=60),
                    principal_cents=2_000_00,
                    interest_cents=150_00,
                    fee_cents=0,
                ),
            ],
        ),
    )
    world.deliver(
        "origination",
        world.application(
            client_id, loan_id, account="4810000033", principal_cents=3_000_00, term=2
        ),
    )  # after the ledger's event: the row is whole whichever came first
    phone = Phone(client, "254711000015")
    signed_up(phone)
    status = phone.send("2")
    due = (today + timedelta(days=30)).strftime("%d/%m/%Y")
    assert f"Next KES 1,150 on {due}" in status and "Loan 4810000033" in status
