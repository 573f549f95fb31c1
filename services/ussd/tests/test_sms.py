"""SMS: sent through the Africa's Talking simulator in its wire format, retried with backoff when
the provider can recover, given up when it cannot; reminders once per instalment and day."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from ussd_harness import MovableClock, World

from hazina_contracts.events import origination
from hazina_simulators.africastalking import SIM_API_KEY, AfricasTalkingConfig, create_app
from hazina_simulators.common import RunningServer, serving
from hazina_ussd.adapters.africastalking import AfricasTalkingSms
from hazina_ussd.application.notifications import SmsDispatcher
from hazina_ussd.application.ports import Notice
from hazina_ussd.bootstrap import Container
from hazina_ussd.domain.schedule import due_dates

pytestmark = pytest.mark.integration
APPLICATION_ID = uuid.UUID("0b7e4c1a-5d2f-4a8e-9c3b-6f1d2e3a4b5c")


@pytest.fixture
def simulator() -> Iterator[RunningServer]:
    with serving(create_app(AfricasTalkingConfig())) as running:
        yield running


@pytest.fixture
def dispatcher(
    container: Container, simulator: RunningServer, clock: MovableClock
) -> Iterator[SmsDispatcher]:
    sender = AfricasTalkingSms(base_url=simulator.url, username="sandbox", api_key=SIM_API_KEY)
    try:
        yield SmsDispatcher(container.sms, sender, clock)
    finally:
        sender.close()


def _rows(container: Container) -> dict[str, dict[str, object]]:
    rows, _ = container.sms.notifications(
        status=None, client_id=None, since=None, until=None, offset=0, limit=None
    )
    return {str(r["kind"]): r for r in rows}


def test_a_message_is_sent_in_africas_talkings_format(
    container: Container, dispatcher: SmsDispatcher, simulator: RunningServer
) -> None:
    notice = Notice("test:sent", None, "254711000030", "application", "en", "Hazina: hello")
    assert container.sms.enqueue(notice)
    assert not container.sms.enqueue(notice)  # the same fact twice: one message
    assert dispatcher.send_due() == 1
    assert dispatcher.send_due() == 0
    [sent] = httpx.get(f"{simulator.url}/_control/messages").json()
    assert (sent["number"], sent["message"]) == ("+254711000030", "Hazina: hello")
    row = _rows(container)["application"]
    assert (row["status"], row["provider_message_id"]) == ("sent", sent["messageId"])


def test_a_recoverable_failure_is_retried_with_backoff(
    container: Container,
    dispatcher: SmsDispatcher,
    simulator: RunningServer,
    clock: MovableClock,
) -> None:
    httpx.post(f"{simulator.url}/_control/sms", json={"outcome": "gateway_error"})
    container.sms.enqueue(Notice("test:retry", None, "254711000031", "payment", "en", "Hi"))
    assert dispatcher.send_due() == 1
    row = _rows(container)["payment"]
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert "501" in str(row["last_error"])
    assert dispatcher.send_due() == 0  # not before its backoff
    clock.advance(seconds=6)
    assert dispatcher.send_due() == 1
    assert _rows(container)["payment"]["status"] == "sent"


def test_an_unrecoverable_failure_is_given_up(
    container: Container, dispatcher: SmsDispatcher, simulator: RunningServer
) -> None:
    httpx.post(f"{simulator.url}/_control/sms", json={"outcome": "invalid_number"})
    container.sms.enqueue(Notice("test:bad", None, "254711000032", "overdue", "en", "Hi"))
    assert dispatcher.send_due() == 1
    row = _rows(container)["overdue"]
    assert (row["status"], row["attempts"]) == ("failed", 1)


def test_reminders_once_per_instalment_whatever_the_number_of_runs(
    container: Container, world: World, clock: MovableClock
) -> None:
    client_id = world.client("254711000033")
    world.disbursed_loan(client_id)
    first_due = due_dates(clock.now().date(), 4, "monthly")[0]
    reminders = container.reminders
    assert reminders.run(first_due - timedelta(days=3)) == 1
    assert reminders.run(first_due - timedelta(days=3)) is None  # another instance ran it
    assert reminders.run(first_due + timedelta(days=1)) == 1
    assert reminders.run(first_due + timedelta(days=2)) == 0  # that instalment was reminded
    rows = _rows(container)
    assert "is due on" in str(rows["due_soon"]["text"])
    assert "overdue" in str(rows["overdue"]["text"])


def test_a_refused_application_is_one_sms_however_often_it_arrives(
    container: Container, world: World
) -> None:
    client_id = world.client("254711000044")
    for reason_code in ("not_eligible", "not_eligible", "invalid"):  # the last: a stale copy
        world.deliver(
            "origination",
            origination.LoanApplicationRefused(
                occurred_at=datetime.now(UTC),
                actor_id=None,
                application_id=APPLICATION_ID,
                reference="UAB3K9XQ2",
                client_id=client_id,
                reason_code=reason_code,  # type: ignore[arg-type]
                reason="Savings must be at least 20% of the principal",
            ),
        )
    rows, total = container.sms.notifications(
        status=None, client_id=client_id, since=None, until=None, offset=0, limit=None
    )
    assert total == 1
    [row] = rows
    assert row["kind"] == "application_refused"
    assert "UAB3K9XQ2" in str(row["text"]) and "not accepted" in str(row["text"])
    assert "20%" not in str(row["text"])  # origination's words are for staff
