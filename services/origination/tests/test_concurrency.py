"""Requests racing each other: many disburse clicks at once ask for money once; many loans asked
for one client at once open only as many as the product allows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from hazina_origination.application.commands import Actor, InitiateLoan


def race(count: int, work: Callable[[], Any]) -> list[Any]:
    """Run ``work`` on ``count`` threads released together; returns results and exceptions."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_simultaneous_disburse_requests_ask_for_money_once(world: Any) -> None:
    loan = world.approved_loan(world.staff("loan_officer"))
    app = world.container.app
    actor = Actor(user_id=world.approver.user_id, role="approver_admin")
    results = race(6, lambda: app.request_disbursement(uuid.UUID(loan["_id"]), actor))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.transaction_id for r in results}) == 1
    assert sum(not r.repeated for r in results) == 1
    names = [type(e).__name__ for e in app.events.get(uuid.UUID(loan["_id"]))]
    assert names.count("DisbursementRequested") == 1


def test_simultaneous_loans_for_one_client_open_only_one(world: Any) -> None:
    officer = world.staff("loan_officer")
    product = world.product()
    _, people = world.ready_group(officer)
    world.savings(people[0]["_id"], 1_000_000)
    app = world.container.app
    actor = Actor(user_id=officer.user_id, role="loan_officer")
    command = InitiateLoan(
        client_national_id=people[0]["nationalId"],
        product_type=None,
        product_id=uuid.UUID(product["_id"]),
        principal_cents=2_000_000,
        term=6,
    )
    results = race(5, lambda: app.initiate_loan(command, actor))
    opened = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(opened) == 1, results
    assert all("max_open_loans" in {f.rule for f in r.failures} for r in refused)
    loans = world.ok(
        world.http.get(f"/api/loans?clientId={people[0]['_id']}", headers=officer.headers)
    )
    assert len(loans) == 1
