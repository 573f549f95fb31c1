"""Days past due, statuses, aging and PAR, as of any date."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hazina_ledger.domain.allocation import Components
from hazina_ledger.domain.arrears import (
    ArrearsPolicy,
    ArrearsStatus,
    aging_bucket,
    arrears_position,
    portfolio_risk,
)
from hazina_ledger.domain.schedule import Instalment


def test_par_matches_the_worked_example() -> None:
    # lending.md §3.3: A 10,000 current; B 5,000 at 5 DPD; C 8,000 at 45; D 2,000 at 100; E 5,000 at 30.
    risk = portfolio_risk(
        [(1_000_000, 0), (500_000, 5), (800_000, 45), (200_000, 100), (500_000, 30)]
    )
    assert risk.gross_outstanding_principal_cents == 3_000_000
    assert risk.par() == {
        "PAR1": Decimal("0.6667"),
        "PAR30": Decimal("0.3333"),
        "PAR90": Decimal("0.0667"),
    }
    assert risk.aging_counts == {
        "current": 1,
        "1-30": 2,
        "31-60": 1,
        "61-90": 0,
        "91-180": 1,
        "181-360": 0,
        "over_360": 0,
    }


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (90, "61-90"),
        (91, "91-180"),
        (360, "181-360"),
        (361, "over_360"),
    ],
)
def test_aging_bucket_boundaries(days: int, bucket: str) -> None:
    assert aging_bucket(days) == bucket


def test_an_instalment_is_not_overdue_on_its_due_date() -> None:
    schedule = [
        Instalment(1, dt.date(2025, 2, 1), 100, 10),
        Instalment(2, dt.date(2025, 3, 1), 100, 10),
    ]
    unpaid = [Components(), Components()]
    assert arrears_position(schedule, unpaid, dt.date(2025, 2, 1)).days_past_due == 0
    late = arrears_position(schedule, unpaid, dt.date(2025, 3, 2))
    assert (late.days_past_due, late.arrears_cents, late.overdue_instalments) == (29, 220, 2)
    part = [Components(0, 10, 95), Components()]
    assert (
        arrears_position(schedule, part, dt.date(2025, 2, 10), tolerance_cents=5).days_past_due == 0
    )
    assert (
        arrears_position(schedule, part, dt.date(2025, 2, 10), tolerance_cents=4).days_past_due == 9
    )


@pytest.mark.parametrize(
    ("days", "status"),
    [(0, "current"), (1, "in_arrears"), (89, "in_arrears"), (90, "defaulted")],
)
def test_status_thresholds(days: int, status: str) -> None:
    assert ArrearsPolicy(1, 90).status(days) is ArrearsStatus(status)


def test_assessment_records_status_changes_and_publishes_them(
    client: TestClient, container: Any, staff: Any, h: Any, clock: Any
) -> None:
    from hazina_ledger.adapters.contract_mapping import to_contract

    loan_id, _ = h.open_loan(container)
    url = "/api/ledger/arrears/assess"
    assert (
        client.post(
            url, json={"asOf": "2025-02-01"}, headers=staff.headers("approver_admin")
        ).json()["statusChanges"]
        == 0
    )
    assert (
        client.post(
            url, json={"asOf": "2025-02-02"}, headers=staff.headers("approver_admin")
        ).json()["statusChanges"]
        == 1
    )
    assert (
        client.post(
            url, json={"asOf": "2025-02-02"}, headers=staff.headers("approver_admin")
        ).json()["statusChanges"]
        == 0
    )
    client.post(url, json={"asOf": "2025-05-02"}, headers=staff.headers("approver_admin"))
    loan = client.get(f"/api/repayments/{loan_id}", headers=staff.headers("initiator_admin")).json()
    assert loan["status"] == "defaulted"
    clock.set_date(dt.date(2025, 5, 3))
    paid = client.post(
        "/api/repayments",
        json={
            "loanId": str(loan_id),
            "amount": 32000,
            "paymentMethod": "cash",
            "transactionId": "CATCHUP",
        },
        headers=staff.headers("initiator_admin"),
    )
    assert paid.json()["loan"]["status"] == "repaid"
    changes = [
        to_contract(container.ledger.mapper.to_domain_event(n))
        for n in container.ledger.recorder.select_notifications(start=1, limit=100)
    ]
    statuses = [(c.status, c.days_past_due) for c in changes if c and c.TYPE == "LoanStatusChanged"]  # type: ignore[attr-defined]
    assert statuses == [("in_arrears", 1), ("defaulted", 90)]
    assert client.post(url, json={}, headers=staff.headers("loan_officer")).status_code == 403


def test_portfolio_report_as_of_a_date_with_par_and_breakdowns(
    client: TestClient, container: Any, staff: Any, h: Any, clock: Any
) -> None:
    officer, group = uuid.uuid4(), uuid.uuid4()
    on_time, _ = open_with(container, h, officer, group)
    open_with(container, h, officer, None)  # unpaid: 42 days past due by 15 March
    written, _ = open_with(container, h, None, group)
    clock.set_date(dt.date(2025, 3, 15))
    for loan_id, receipt in ((on_time, "P-ON-1"), (on_time, "P-ON-2")):
        client.post(
            "/api/repayments",
            json={
                "loanId": str(loan_id),
                "amount": "5333.33",
                "paymentMethod": "mpesa",
                "transactionId": receipt,
            },
            headers=staff.headers("initiator_admin"),
        )
    client.post(
        f"/api/ledger/loans/{written}/write-off",
        json={"reason": "deceased"},
        headers=staff.headers("super_admin"),
    )
    report = client.get(
        "/api/reports/portfolio?asOf=2025-03-15&from=2025-01-01&to=2025-03-31",
        headers=staff.headers("initiator_admin"),
    ).json()
    # on_time: 20,000 - 2 x 3,333.33 principal; late: 20,000, 42 days past due (1 Feb unpaid).
    assert report["outstandingPrincipalCents"] == (2_000_000 - 666_666) + 2_000_000
    assert report["loansOutstanding"] == 2
    assert report["par"]["PAR1"]["atRiskCents"] == 2_000_000
    assert report["par"]["PAR30"]["atRiskCents"] == 2_000_000
    assert report["par"]["PAR90"]["atRiskCents"] == 0
    assert report["aging"]["31-60"] == {"count": 1, "principalCents": 2_000_000}
    assert report["disbursed"] == {"count": 3, "principalCents": 6_000_000}
    assert report["collected"]["amountCents"] == 1_066_666
    assert report["writtenOffCents"] == 2_000_000
    assert report["defaultRate"] == "0.3333"
    by_officer = {row["officerId"]: row for row in report["byOfficer"]}
    assert by_officer[str(officer)]["loansOutstanding"] == 2
    assert by_officer[None]["writtenOffCents"] == 2_000_000
    by_group = {row["groupId"]: row for row in report["byGroup"]}
    assert by_group[str(group)]["outstandingPrincipalCents"] == 2_000_000 - 666_666
    before = client.get(
        "/api/reports/portfolio?asOf=2025-01-15", headers=staff.headers("initiator_admin")
    ).json()
    assert before["par"]["PAR1"]["atRiskCents"] == 0
    assert before["outstandingPrincipalCents"] == 6_000_000
    assert (
        client.get(
            "/api/reports/portfolio?asOf=2025-03-15&from=2025-04-01&to=2025-03-01",
            headers=staff.headers("initiator_admin"),
        ).status_code
        == 400
    )


def open_with(
    container: Any, h: Any, officer: uuid.UUID | None, group: uuid.UUID | None
) -> tuple[uuid.UUID, uuid.UUID]:
    loan_id, client_id = uuid.uuid4(), uuid.uuid4()
    h.deliver(container, h.loan_approved(loan_id, client_id, officer_id=officer, group_id=group))
    h.deliver(container, h.disbursement_completed(loan_id))
    return loan_id, client_id
