"""Requests racing each other: many disburse clicks at once ask for money once; many loans asked
for one client at once open only as many as the product allows; one client asked to guarantee
many loans at once gives no more guarantees than the cap."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from hazina_origination.application.commands import Actor, AddGuarantor, InitiateLoan
from hazina_origination.domain.errors import NotEligibleError


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
    actor = Actor(user_id=world.disburser.user_id, role="approver_admin")
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


def test_simultaneous_guarantees_by_one_client_never_pass_the_cap(world: Any) -> None:
    """The cap is 2 here: four loans asking the same client at the same moment get two guarantees."""
    officer = world.staff("loan_officer")
    product = world.product()
    _, people = world.ready_group(officer, members=5)
    borrowers, guarantor = people[:4], people[4]
    loan_ids = []
    for borrower in borrowers:
        world.savings(borrower["_id"], 1_000_000)
        loan_ids.append(
            uuid.UUID(world.ok(world.initiate(officer, borrower, product), 201)["loan"]["_id"])
        )
    app = world.container.app
    actor = Actor(user_id=officer.user_id, role="loan_officer")
    pending = iter(loan_ids)
    lock = threading.Lock()

    def guarantee() -> Any:
        with lock:
            loan_id = next(pending)
        return app.add_guarantor(
            AddGuarantor(
                loan_id=loan_id,
                client_id=uuid.UUID(guarantor["_id"]),
                relationship="Neighbour",
                id_copy_url=None,
                photo_url=None,
            ),
            actor,
        )

    results = race(4, guarantee)
    given = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(given) == 2, results
    assert all(isinstance(r, NotEligibleError) for r in refused), refused
    assert all({f.rule for f in r.failures} == {"max_guarantees"} for r in refused)
    listed = world.ok(
        world.http.get(f"/api/guarantors?clientId={guarantor['_id']}", headers=officer.headers)
    )
    assert len(listed) == 2
