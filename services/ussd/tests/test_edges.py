"""Edge rules every service keeps, texts that fit a screen and an SMS, and pinned event topics."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from ussd_harness import World

from hazina_contracts.events import origination
from hazina_servicekit.inputs import unchecked_inputs
from hazina_servicekit.stored_events import unpinned_topics
from hazina_ussd.bootstrap import Container
from hazina_ussd.domain import texts
from hazina_ussd.domain.limit import History, LimitPolicy, borrower_limit
from hazina_ussd.domain.schedule import equal_shares, instalments

LONG = {
    "name": "W" * texts.NAME_LIMIT,
    "limit": "50,000",
    "minimum": "500",
    "unit": "months",
    "maximum": 520,
    "amount": "250,000.50",
    "term": 520,
    "purpose": "an emergency",
    "reference": "UABCDEFGH",
    "lines": "\n".join(f"{i}. 4810000017 KES 250,000.50" for i in range(1, 5)),
    "account": "4810000017",
    "status": "being paid out",
    "principal": "250,000.50",
    "interest": "250,000.50",
    "next_amount": "250,000.50",
    "due": "31/12/2026",
    "arrears": 999,
    "footer": "\n0. Rudi 00. Menyu",
    "owed": "250,000.50",
    "paybill": "6009840",
    "balance": "250,000.50",
    "receipt": "TAF1XY2ZQ9",
    "code": "*384*12345#",
    "fees": "1,000",
    "excess": "1,000",
    "extra": "",
    "left": 2,
    "multiple": "1,000",
}


@pytest.mark.parametrize("language", texts.LANGUAGES)
def test_every_screen_fits_one_ussd_page_in_both_languages(language: texts.Language) -> None:
    for name, by_language in texts.SCREENS.items():
        shown = by_language[language].format(**LONG)
        assert len(shown) <= texts.SCREEN_LIMIT, (name, len(shown))
        # a reason line sits above a screen that asks again
        for reason in texts.REASONS.values():
            if name in ("apply_amount", "apply_term", "main", "repay_amount", "login"):
                total = len(reason[language].format(**LONG)) + 1 + len(shown)
                assert total <= texts.SCREEN_LIMIT, (name, total)


@pytest.mark.parametrize("language", texts.LANGUAGES)
def test_every_sms_is_one_gsm7_part_in_both_languages(language: texts.Language) -> None:
    for name, by_language in texts.SMS.items():
        values = dict(LONG, amount="25,000", balance="25,000", principal="2,000", interest="500")
        text = by_language[language].format(**values)
        assert texts.gsm7_length(text) is not None, name
        assert (texts.gsm7_length(text) or 0) <= texts.SMS_LIMIT, (name, len(text))


def test_the_limit_formula_and_its_breakdown() -> None:
    policy = LimitPolicy()
    first = borrower_limit(History(2_000_00, 0, 0, 0, 0, 0), policy)
    assert first.limit_cents == 6_000_00 and first.capped_by is None
    proven = borrower_limit(History(2_000_00, 2, 1, 0, 0, 3), policy)
    assert proven.limit_cents == 10_000_00 and proven.capped_by == "savings_multiple"
    assert borrower_limit(History(2_000_00, 2, 0, 0, 5, 2), policy).limit_cents == 0
    assert borrower_limit(History(2_000_00, 1, 0, 1, 0, 1), policy).limit_cents == 0
    assert borrower_limit(History(100_000_00, 9, 0, 0, 0, 9), policy).capped_by == "maximum"


def test_instalments_add_up_to_the_total_to_the_cent() -> None:
    rows = instalments(equal_shares(10_001_00, 3, date(2026, 1, 31), "monthly"), 0)
    assert sum(r.amount_cents for r in rows) == 10_001_00
    assert [r.due_on for r in rows] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_every_route_takes_only_checked_text_and_dates(client: TestClient) -> None:
    assert unchecked_inputs(client.app) == []  # type: ignore[arg-type]


def test_every_stored_class_pins_a_stable_topic() -> None:
    assert unpinned_topics("hazina_ussd", "hazina.ussd") == []


def test_delivery_reports_count_once_and_only_move_forward(
    client: TestClient, world: World, container: Container, mint: object
) -> None:
    from hazina_ussd.application.ports import Notice

    client_id = world.client("254711000020")
    container.sms.enqueue(
        Notice("test:1", client_id, "254711000020", "application", "en", "Hazina: hello")
    )
    with container.sms.claim_due(datetime.now(UTC)) as message:
        assert message is not None
        container.sms.mark_sent(message.message_id, "ATXid_1", datetime.now(UTC))
    report = {"id": "ATXid_1", "status": "Success", "phoneNumber": "+254711000020"}
    assert client.post("/api/sms/delivery-reports", data=report).json() == {"recorded": True}
    assert client.post("/api/sms/delivery-reports", data=report).json() == {"recorded": False}
    late = {"id": "ATXid_1", "status": "Buffered"}
    assert client.post("/api/sms/delivery-reports", data=late).json() == {"recorded": True}
    assert client.post("/api/sms/delivery-reports", data={"id": "x"}).status_code == 400

    url = f"/api/sms/notifications?clientId={client_id}&status=delivered"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=mint.headers("loan_officer")).status_code == 403  # type: ignore[attr-defined]
    response = client.get(url, headers=mint.headers("approver_admin"))  # type: ignore[attr-defined]
    [row] = response.json()
    assert response.headers["X-Total-Count"] == "1"
    assert (row["status"], row["deliveryStatus"]) == ("delivered", "Success")


def test_the_limit_route_shows_the_breakdown_to_the_clients_officer(
    client: TestClient, world: World, mint: object
) -> None:
    client_id = world.client("254711000021")
    world.savings(client_id, 1_000_00)
    url = f"/api/ussd/borrowers/{client_id}/limit"
    body = client.get(url, headers=mint.headers("super_admin")).json()  # type: ignore[attr-defined]
    assert body["limitCents"] == 3_000_00
    assert {t["name"] for t in body["terms"]} >= {"savings", "repaid_on_time"}
    stranger = mint.headers("loan_officer", uuid.uuid4())  # type: ignore[attr-defined]
    assert client.get(url, headers=stranger).status_code == 404


def test_a_group_handed_to_another_officer_takes_its_borrowers_limits_along(
    client: TestClient, world: World, mint: object
) -> None:
    """Origination's rule, as the ledger and the gateway apply it: the officer of the client's
    group sees the limit; once the group is handed over, the new officer does and the old one
    does not (the client's own onboarding record still names the old one)."""
    before, after = uuid.uuid4(), uuid.uuid4()
    client_id = world.client("254711000022", loan_officer_id=before)
    url = f"/api/ussd/borrowers/{client_id}/limit"

    def seen_by(officer: uuid.UUID) -> int:
        headers = mint.headers("loan_officer", officer)  # type: ignore[attr-defined]
        return client.get(url, headers=headers).status_code

    assert (seen_by(before), seen_by(after)) == (200, 404)
    world.deliver(
        "ownership",
        origination.GroupDetailsChanged(
            occurred_at=datetime.now(UTC),
            actor_id=None,
            group_id=world.group_of[client_id],
            name="Umoja",
            loan_officer_id=after,
            changed_fields=["loan_officer_id"],
        ),
    )
    assert (seen_by(before), seen_by(after)) == (404, 200)
