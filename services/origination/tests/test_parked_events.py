"""An event origination cannot apply is parked: origination starts, reads answer, admins resolve it.

The bad events are written straight into the event store (bypassing the API's validation), as
an older release or a bug could have written them; consumers get theirs from real JetStream.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from nats.js import JetStreamContext

from hazina_contracts.events import identity
from hazina_origination.bootstrap import Container, build
from hazina_origination.domain.group import Group
from hazina_origination.settings import OriginationSettings
from hazina_servicekit.auth import TokenVerifier
from hazina_servicekit.faults import read_model_bug
from hazina_servicekit.messaging import ensure_stream
from hazina_servicekit.parking import ParkedEvent
from hazina_servicekit.testing import envelope, with_jetstream

PARKED = "/api/origination/parked"


def plant_group(container: Container, name: str) -> Group:
    group = Group(
        name=name,
        status="provisional",
        meeting_day=None,
        meeting_time=None,
        loan_officer_id=None,
        branch_id=None,
        region=None,
        created_by=None,
        correlation_id="planted",
    )
    container.app.save(group)
    return group


@pytest.fixture
def system(
    database_url: str, nats_url: str, mint: Any, tmp_path: Path
) -> Iterator[tuple[Any, Any]]:
    settings = OriginationSettings(
        database_url=database_url, nats_url=nats_url, run_workers=False, uploads_dir=str(tmp_path)
    )
    verifier = TokenVerifier(mint.jwks, issuer="hazina-identity", min_refresh_seconds=0)
    opened: list[Container] = []

    def start() -> tuple[Container, TestClient]:
        container = build(settings, verifier=verifier)
        opened.append(container)
        return container, TestClient(container.service.http_app(), raise_server_exceptions=False)

    try:
        yield start, mint
    finally:
        for container in opened:
            container.close()


def headers(mint: Any, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint.token(uuid.uuid4(), role)}"}


def test_origination_starts_and_answers_with_an_unappliable_group_in_its_store(
    system: Any,
) -> None:
    start, mint = system
    first, _ = start()
    bad = plant_group(first, "Upendo\x00 Women Group")
    bad.approve(by=uuid.uuid4(), correlation_id=None)  # a later event of the same group
    first.app.save(bad)

    container, http = start()  # a restart: used to fail here, forever
    admin, officer = headers(mint, "super_admin"), headers(mint, "loan_officer")
    with http:
        assert http.get("/api/groups", headers=admin).json() == []
        rows = http.get(PARKED, headers=headers(mint, "approver_admin"))
        assert rows.status_code == 200 and rows.headers["X-Total-Count"] == "2"
        head, behind = rows.json()
        assert head["topic"].endswith("Group.Created") and head["errorType"] == "DataError"
        assert (head["originatorId"], head["originatorVersion"]) == (str(bad.id), 1)
        assert behind["behind"] == head["_id"] and behind["originatorVersion"] == 2
        assert http.get(PARKED, headers=officer).status_code == 403

        made = http.post(
            "/api/groups", json={"name": "Tumaini", "meetingDay": "Monday"}, headers=admin
        )
        assert made.status_code == 201, made.text
        assert [g["name"] for g in http.get("/api/groups", headers=admin).json()] == ["Tumaini"]

        skip = f"{PARKED}/{head['_id']}/skip"
        assert http.post(skip, json={"reason": "x"}, headers=officer).status_code == 403
        assert http.post(skip, json={}, headers=admin).status_code == 400
        done = http.post(skip, json={"reason": "junk from the old import"}, headers=admin)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "skipped"
        assert [r["status"] for r in done.json()["released"]] == ["retried"]
        again = http.post(skip, json={"reason": "again"}, headers=admin)
        assert again.status_code == 409 and again.json()["code"] == "already_skipped"
        assert http.get(f"{PARKED}?status=parked", headers=admin).json() == []
    record = container.app.repository.get(uuid.UUID(head["_id"]))
    assert isinstance(record, ParkedEvent) and record.status == "skipped" and record.version == 2


def test_a_retry_after_the_fix_applies_the_group(system: Any) -> None:
    start, mint = system
    container, http = start()
    admin = headers(mint, "initiator_admin")
    # A bug in the read model, fixed below (the deploy of a fix).
    fix = read_model_bug(container.pool, table="groups", column="name", value="Baraka")
    group = plant_group(container, "Baraka")
    with http:
        assert http.get("/api/groups", headers=admin).status_code == 200
        (row,) = http.get(PARKED, headers=admin).json()
        retry = f"{PARKED}/{row['_id']}/retry"
        still = http.post(retry, headers=admin)
        assert still.status_code == 409 and "read model bug" in still.json()["message"]
        fix()
        done = http.post(retry, headers=admin)
        assert done.status_code == 200 and done.json()["status"] == "retried"
        found = http.get(f"/api/groups/{group.id}", headers=admin)
        assert found.status_code == 200 and found.json()["name"] == "Baraka"
        twice = http.post(retry, headers=admin)
        assert twice.status_code == 409 and twice.json()["code"] == "already_retried"


def test_a_message_the_staff_consumer_cannot_apply_is_parked_and_the_rest_flow(
    system: Any, nats_url: str
) -> None:
    start, mint = system
    container, http = start()
    now = datetime.now(UTC)
    good_id = uuid.uuid4()
    events = [
        identity.UserCreated(
            occurred_at=now,
            user_id=uuid.uuid4(),
            username="nul",
            name="Nul\x00",
            role="loan_officer",
        ),
        identity.UserCreated(
            occurred_at=now, user_id=good_id, username="amina", name="Amina", role="loan_officer"
        ),
    ]

    async def run(js: JetStreamContext) -> Any:
        await ensure_stream(js, identity.UserCreated.STREAM)
        for event in events:
            sent = envelope(
                event, producer="identity", correlation_id="parking-test", occurred_at=now
            )
            await js.publish(sent.subject, sent.to_bytes())
        consumer = container.service.durable_consumer(js, "staff")
        consumer.max_deliver, consumer.backoff_seconds = 2, (0.05,)
        sub = await consumer.subscribe()
        for _ in range(200):
            if consumer.parked == 1 and consumer.processed == 1:
                break
            try:
                for msg in await sub.fetch(10, timeout=0.5):
                    await consumer.handle(msg)
            except TimeoutError:
                continue
        return consumer

    consumer = with_jetstream(nats_url, run)
    assert (consumer.parked, consumer.processed) == (1, 1)
    admin = headers(mint, "super_admin")
    with http:
        officers = http.get("/api/loan-officers", headers=admin).json()
        assert [o["_id"] for o in officers] == [str(good_id)]
        (row,) = http.get(PARKED, headers=admin).json()
        assert (row["source"], row["kind"], row["topic"]) == (
            "origination-staff",
            "message",
            "UserCreated v1",
        )
        still = http.post(f"{PARKED}/{row['_id']}/retry", headers=admin)
        assert still.status_code == 409 and still.json()["code"] == "still_failing"
        skipped = http.post(
            f"{PARKED}/{row['_id']}/skip", json={"reason": "test account"}, headers=admin
        )
        assert skipped.status_code == 200 and skipped.json()["status"] == "skipped"
