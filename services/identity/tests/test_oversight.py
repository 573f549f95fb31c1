"""Oversight: the audit log is read off the contract streams (who did what, when), staff are told
of events addressed to them, and admins read the system log; all through identity's routes.

Events reach identity's consumers through a real JetStream, twice where it matters: a redelivery
changes nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from nats.js import JetStreamContext

from hazina_contracts.envelope import EventEnvelope
from hazina_contracts.events import ledger, origination, payments
from hazina_contracts.events.base import ContractEvent
from hazina_contracts.subjects import Stream
from hazina_identity.adapters.contract_mapping import to_contract
from hazina_identity.adapters.system_log import parse_line
from hazina_identity.bootstrap import Container
from hazina_identity.domain.oversight import audit_entry
from hazina_identity.settings import IdentitySettings
from hazina_servicekit.consumer import DurableConsumer
from hazina_servicekit.messaging import ensure_stream
from hazina_servicekit.outbox import OutboxRelay
from hazina_servicekit.testing import drain, envelope, with_jetstream

PASSWORD = "Officer-Pass-1"  # pragma: allowlist secret
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(database_url: str, nats_url: str, tmp_path: Path) -> IdentitySettings:
    """Identity as the conftest makes it, reading the system log from a file of the test's."""
    return IdentitySettings(
        database_url=database_url,
        nats_url=nats_url,
        run_workers=False,
        seed_superadmin_password="Seed-Admin-Pass-1",  # pragma: allowlist secret
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        log_file=str(tmp_path / "hazina.log"),
    )


def _envelope(event: ContractEvent, at: datetime = T0) -> EventEnvelope:
    return envelope(
        event, producer=event.STREAM.subject_prefix, correlation_id="corr-test", occurred_at=at
    )


def _deliver(
    container: Container, nats_url: str, stream: Stream, envelopes: list[EventEnvelope]
) -> DurableConsumer:
    """Publish each envelope as its own message (repeats too) and let identity's consumer run."""

    async def body(js: JetStreamContext) -> DurableConsumer:
        await ensure_stream(js, stream)
        for env in envelopes:
            await js.publish(env.subject, env.to_bytes())  # no Nats-Msg-Id: every copy is kept
        consumer = container.service.durable_consumer(js, f"oversight-{stream.value.lower()}")
        await drain(js, consumer)
        return consumer

    return with_jetstream(nats_url, body)


def _terms() -> origination.LoanTerms:
    return origination.LoanTerms(
        product_id=uuid.uuid4(),
        product_name="Biashara",
        interest_method="flat",
        interest_rate_percent="10",
        interest_rate_period="month",
        repayment_frequency="monthly",
        term=6,
    )


class Staff:
    def __init__(self, client: TestClient, admin: dict[str, str], h: Any) -> None:
        self.client, self.h = client, h
        self.ids: dict[str, uuid.UUID] = {}
        self.headers: dict[str, dict[str, str]] = {"superadmin": admin}
        for username, role in [
            ("wanjiru", "loan_officer"),
            ("otieno", "approver_admin"),
            ("akinyi", "initiator_admin"),
        ]:
            user = h.create_user(client, admin, username, role, PASSWORD)
            self.ids[username] = uuid.UUID(user["_id"])
            self.headers[username] = h.bearer(h.login(client, username, PASSWORD))

    def get(self, who: str, path: str, status: int = 200) -> Any:
        response = self.client.get(path, headers=self.headers[who])
        assert response.status_code == status, response.text
        return response

    def inbox(self, who: str, query: str = "") -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get(who, f"/api/logs/notifications{query}").json()[
            "items"
        ]
        return items


@pytest.fixture
def staff(client: TestClient, admin: dict[str, str], h: Any) -> Staff:
    return Staff(client, admin, h)


def _loan_lifecycle(staff: Staff) -> tuple[uuid.UUID, list[EventEnvelope]]:
    """Wanjiru initiates a loan, Otieno approves it: the two ORIGINATION events."""
    loan_id, officer = uuid.uuid4(), staff.ids["wanjiru"]
    common = {
        "loan_id": loan_id,
        "account_number": "LN7K2Q",
        "client_id": uuid.uuid4(),
        "group_id": None,
        "loan_officer_id": officer,
        "principal_cents": 5_000_000,
        "terms": _terms(),
    }
    initiated = origination.LoanInitiated(occurred_at=T0, actor_id=officer, **common)
    approved = origination.LoanApproved(
        occurred_at=T0 + timedelta(hours=1), actor_id=staff.ids["otieno"], **common
    )
    return loan_id, [
        _envelope(initiated, T0),
        _envelope(approved, T0 + timedelta(hours=1)),
    ]


def test_a_loan_is_audited_and_announced_once_however_often_its_events_arrive(
    container: Container, staff: Staff, nats_url: str
) -> None:
    loan_id, (initiated, approved) = _loan_lifecycle(staff)
    consumer = _deliver(
        container, nats_url, Stream.ORIGINATION, [initiated, initiated, approved, approved]
    )
    assert consumer.processed == 2 and consumer.duplicates == 2

    response = staff.get("superadmin", "/api/audit-logs?entityType=loan")
    assert response.headers["X-Total-Count"] == "2"
    newest, oldest = response.json()
    assert newest["id"] == str(approved.event_id)
    assert newest["action"] == "LoanApproved" and newest["user"] == "otieno"
    assert newest["userId"] == str(staff.ids["otieno"])
    assert (newest["entityType"], newest["entityId"]) == ("loan", str(loan_id))
    assert newest["status"] == "success"
    assert newest["timestamp"] == "2026-03-02T10:00:00Z"
    assert newest["details"] == "Loan approved · account number LN7K2Q · principal KES 50,000.00"
    assert newest["data"]["loan_id"] == str(loan_id)
    assert oldest["action"] == "LoanInitiated" and oldest["user"] == "wanjiru"

    # The officer hears of the approval; both approvers heard the loan was waiting; nobody is
    # told of their own act.
    (mine,) = staff.inbox("wanjiru")
    assert mine["title"] == "Loan approved" and mine["type"] == "loan"
    assert mine["body"] == "Loan LN7K2Q for KES 50,000.00 was approved."
    assert mine["read"] is False and mine["createdAt"] == "2026-03-02T10:00:00Z"
    assert [n["title"] for n in staff.inbox("otieno")] == ["Loan awaiting approval"]
    assert [n["title"] for n in staff.inbox("akinyi")] == ["Loan awaiting approval"]


def _raw(event_type: str, subject: str, data: dict[str, Any]) -> EventEnvelope:
    """An event as a newer origination publishes it (its class may not be in this build yet)."""
    return EventEnvelope(
        event_id=uuid.uuid4(),
        type=event_type,
        version=1,
        occurred_at=T0,
        producer="origination",
        correlation_id="corr-test",
        subject=subject,
        data={"occurred_at": T0.isoformat(), **data},
    )


def test_a_group_handed_to_another_officer_tells_the_new_one_it_was_rejected(
    container: Container,
    staff: Staff,
    client: TestClient,
    admin: dict[str, str],
    h: Any,
    nats_url: str,
) -> None:
    other = uuid.UUID(h.create_user(client, admin, "kamau", "loan_officer", PASSWORD)["_id"])
    group_id, admin_id = uuid.uuid4(), staff.ids["otieno"]
    created = origination.GroupCreated(
        occurred_at=T0,
        actor_id=staff.ids["wanjiru"],
        group_id=group_id,
        name="Umoja Wa Mama",
        status="provisional",
        loan_officer_id=staff.ids["wanjiru"],
    )
    moved = _raw(
        "GroupDetailsChanged",
        "origination.group.details_changed",
        {
            "actor_id": str(admin_id),
            "group_id": str(group_id),
            "name": "Umoja Wa Mama",
            "loan_officer_id": str(other),
        },
    )
    rejected = _raw(
        "GroupStatusChanged",
        "origination.group.status_changed",
        {"actor_id": str(admin_id), "group_id": str(group_id), "status": "rejected"},
    )
    _deliver(
        container, nats_url, Stream.ORIGINATION, [_envelope(created), moved, rejected, rejected]
    )
    kamau = h.bearer(h.login(client, "kamau", PASSWORD))
    (notice,) = client.get("/api/logs/notifications", headers=kamau).json()["items"]
    assert (notice["title"], notice["body"]) == ("Group rejected", "Umoja Wa Mama was rejected.")
    assert staff.inbox("wanjiru") == []  # its officer before: no longer theirs


def test_each_staff_member_reads_and_deletes_only_their_own_notifications(
    container: Container, staff: Staff, client: TestClient, nats_url: str
) -> None:
    _, events = _loan_lifecycle(staff)
    _deliver(container, nats_url, Stream.ORIGINATION, events[:1])
    (waiting,) = staff.inbox("otieno", "?unread=true&limit=5")
    assert [n["_id"] for n in staff.inbox("akinyi")] == [waiting["_id"]]  # one notice, two inboxes
    path = f"/api/logs/notifications/{waiting['_id']}"

    # Someone it was not addressed to can neither read it nor delete it.
    officer = staff.headers["wanjiru"]
    assert client.put(f"{path}/read", json={}, headers=officer).status_code == 404
    assert client.delete(path, headers=officer).status_code == 404

    marked = client.put(f"{path}/read", json={}, headers=staff.headers["otieno"])
    assert marked.status_code == 200 and marked.json()["read"] is True
    assert staff.inbox("otieno", "?unread=true") == []
    assert staff.inbox("otieno")[0]["read"] is True
    assert staff.inbox("akinyi", "?unread=true")[0]["read"] is False  # theirs is their own

    deleted = client.delete(path, headers=staff.headers["otieno"])
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert client.delete(path, headers=staff.headers["otieno"]).status_code == 404
    assert staff.inbox("otieno") == []
    assert len(staff.inbox("akinyi")) == 1
    assert client.get("/api/logs/notifications").status_code == 401


def test_identity_own_facts_are_audited_and_a_locked_account_is_told(
    container: Container, staff: Staff, client: TestClient, nats_url: str
) -> None:
    for _ in range(container.settings.login_max_failures):
        wrong = {"username": "wanjiru", "password": "wrong-one-1"}  # pragma: allowlist secret
        client.post("/api/auth/login", json=wrong)

    async def relay(js: JetStreamContext) -> None:
        relay = OutboxRelay(
            app=container.identity,
            js=js,
            pool=container.pool,
            producer="identity",
            to_contract=to_contract,
        )
        await ensure_stream(js, Stream.IDENTITY)
        while await relay.publish_once():
            pass

    with_jetstream(nats_url, relay)
    _deliver(container, nats_url, Stream.IDENTITY, [])

    (locked,) = staff.inbox("wanjiru")
    assert locked["title"] == "Sign-in locked" and locked["type"] == "account"

    failed = staff.get("otieno", "/api/audit-logs?user=wanjiru&status=failed").json()
    assert [row["action"] for row in failed] == ["LoginFailed"] * 5
    account = str(staff.ids["wanjiru"])
    (lock,) = staff.get("otieno", f"/api/audit-logs?entityId={account}&action=LockedOut").json()
    assert (lock["user"], lock["status"], lock["entityType"]) == ("system", "failed", "user")
    made = staff.get("akinyi", "/api/audit-logs?action=UserCreated&entityType=user").json()
    by_whom = {row["entityId"]: row["user"] for row in made}
    assert by_whom[account] == "superadmin"  # the staff the super admin made
    assert set(by_whom.values()) == {"superadmin", "system"}  # the super admin: seeded

    # Whole days, both ends included; the page's limit and the total beside it.
    today = datetime.now(UTC).date()
    one = staff.get("superadmin", f"/api/audit-logs?from={today}&to={today}&limit=1")
    assert len(one.json()) == 1 and int(one.headers["X-Total-Count"]) > 1
    assert staff.get("superadmin", "/api/audit-logs?to=2000-01-01").json() == []


def test_events_without_a_staff_actor_are_the_systems(
    container: Container, staff: Staff, nats_url: str
) -> None:
    loan_id = uuid.uuid4()
    posted = ledger.RepaymentPosted(
        occurred_at=T0,
        loan_id=loan_id,
        client_id=uuid.uuid4(),
        receipt="QWE123ABC",
        amount_cents=250_000,
        interest_cents=50_000,
        principal_cents=200_000,
        suspense_cents=0,
        outstanding_cents=4_800_000,
        payment_method="mpesa",
    )
    failed = payments.DisbursementFailed(
        occurred_at=T0,
        disbursement_id=uuid.uuid4(),
        loan_id=loan_id,
        amount_cents=5_000_000,
        result_code="2001",
        result_description="The initiator information is invalid.",
        retryable=False,
    )
    _deliver(container, nats_url, Stream.LEDGER, [_envelope(posted)])
    _deliver(container, nats_url, Stream.PAYMENTS, [_envelope(failed)])
    rows = staff.get("superadmin", "/api/audit-logs?user=system").json()
    ours = {str(loan_id), str(failed.disbursement_id)}
    by_action = {row["action"]: row for row in rows if row["entityId"] in ours}
    assert by_action["RepaymentPosted"]["entityType"] == "loan_account"
    assert by_action["RepaymentPosted"]["user"] == "system"
    assert by_action["DisbursementFailed"]["status"] == "failed"
    assert by_action["DisbursementFailed"]["entityType"] == "disbursement"
    assert by_action["DisbursementFailed"]["details"] == (
        "Disbursement failed · amount KES 50,000.00 · "
        "result description The initiator information is invalid."
    )


def test_only_overseers_read_the_audit_and_system_logs(staff: Staff) -> None:
    for path in ("/api/audit-logs", "/api/logs"):
        refused = staff.get("wanjiru", path, status=403)
        assert refused.json()["message"]
        staff.get("otieno", path)
    assert staff.client.get("/api/audit-logs").status_code == 401


def test_the_system_log_is_the_newest_lines_of_the_collected_log_masked(
    staff: Staff, settings: IdentitySettings
) -> None:
    records = [
        {"event": "consumer_started", "level": "info", "timestamp": "2026-03-02T09:00:00Z"},
        {
            "event": "message_failed",
            "level": "warning",
            "timestamp": "2026-03-02T09:00:01Z",
            "error": "no client with phone 0712345678",
        },
        {
            "event": "worker_failed",
            "level": "error",
            "timestamp": "2026-03-02T09:00:02Z",
            "national_id": "12345678",
            "phone": "254712345678",
        },
    ]
    lines = [f"09:00:0{i} origination.1 | {json.dumps(r)}" for i, r in enumerate(records)]
    lines.append("09:00:03 system         | origination.1 started (pid=4242)")
    assert settings.log_file is not None
    Path(settings.log_file).write_text("\n".join(lines) + "\n")

    everything = staff.get("otieno", "/api/logs?file=all&limit=50").json()
    assert everything["count"] == 4 and everything["source"] == "hazina.log"
    assert [e["level"] for e in everything["entries"]] == ["info", "error", "warn", "info"]
    assert everything["entries"][1]["message"].startswith("origination: worker_failed")
    assert everything["entries"][1]["timestamp"] == "2026-03-02T09:00:02Z"
    shown = json.dumps(everything)
    for secret in ("0712345678", "254712345678", "12345678"):
        assert secret not in shown

    errors = staff.get("akinyi", "/api/logs?file=error").json()
    assert [e["message"].split()[1] for e in errors["entries"]] == ["worker_failed"]
    warnings = staff.get("superadmin", "/api/logs?level=warn&limit=5").json()
    assert [e["level"] for e in warnings["entries"]] == ["warn"]
    assert staff.get("superadmin", "/api/logs?limit=1").json()["count"] == 1
    assert staff.get("superadmin", "/api/logs?level=verbose", status=400).json()["message"]


def test_the_audit_sentence_leaves_out_personal_data_and_names_the_actor() -> None:
    onboarded = origination.ClientOnboarded(
        occurred_at=T0,
        actor_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        group_id=None,
        name="Achieng Odhiambo",
        national_id="23456789",
        phone="254722000111",
        status="pending",
    )
    entry = audit_entry(onboarded.TYPE, onboarded.subject(), onboarded.model_dump(mode="json"))
    assert entry.details == "Client onboarded · name Achieng Odhiambo · status pending"
    assert entry.actor_id == onboarded.actor_id and entry.entity_type == "client"
    assert entry.entity_id == str(onboarded.client_id)
    assert parse_line("") is None
