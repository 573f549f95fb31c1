# ruff: noqa: ARG005 - every setup takes (books, officer), whether it needs both or not
"""The role x route x ownership matrix of the ledger, checked against every route the app serves.

Each row says who may call a route and whether a loan officer is scoped there; each setup makes
fresh records owned by the given loan officer (ownership learned as the ``ledger-ownership``
consumer learns it, from origination's events) and returns the request about them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hazina_servicekit.matrix_rows import open_rows, parking_rows
from hazina_servicekit.promises import MatrixCaller, RoleMatrixPromise
from hazina_servicekit.testing import (
    Access,
    Call,
)

READERS = frozenset(
    {"super_admin", "admin", "initiator_admin", "approver_admin", "loan_officer", "accountant"}
)
RECORDERS = frozenset({"super_admin", "initiator_admin", "approver_admin"})
REPAYMENT_RECORDERS = frozenset({"initiator_admin", "approver_admin", "accountant"})
SAVINGS_KEEPERS = frozenset(
    {"super_admin", "admin", "initiator_admin", "approver_admin", "accountant"}
)
ANALYSTS = Access(frozenset({"super_admin", "admin", "initiator_admin", "approver_admin"}))
APPROVERS = frozenset({"super_admin", "approver_admin"})
ANYONE_SIGNED_IN = Access(READERS)
RECORD = Access(READERS, scope="record")
LIST = Access(READERS, scope="list")

_receipts = itertools.count(1)


def receipt() -> str:
    return f"MX{next(_receipts):06d}{uuid.uuid4().hex[:4].upper()}"


class Books:
    """Records owned by a loan officer, delivered as origination and the gateway would."""

    def __init__(self, container: Any, client: TestClient, staff: Any, h: Any) -> None:
        self.container, self.client, self.staff, self.h = container, client, staff, h
        self.requester = uuid.uuid4()  # asks for withdrawals; approvals come from other people

    def client_of(self, officer: uuid.UUID) -> uuid.UUID:
        client_id = uuid.uuid4()
        self.h.own(self.container, officer, client_id=client_id)
        self.h.deliver(self.container, self.h.client_onboarded(client_id))
        return client_id

    def loan_of(self, officer: uuid.UUID) -> uuid.UUID:
        loan_id, client_id = uuid.uuid4(), uuid.uuid4()
        group_id = self.h.own(self.container, officer, client_id=client_id, loan_id=loan_id)
        h = self.h
        h.deliver(self.container, h.client_onboarded(client_id, group_id))
        h.deliver(
            self.container,
            h.loan_approved(loan_id, client_id, officer_id=officer, group_id=group_id),
        )
        h.deliver(self.container, h.disbursement_completed(loan_id))
        return loan_id

    def repaid(self, officer: uuid.UUID) -> tuple[uuid.UUID, str]:
        loan_id, paid = self.loan_of(officer), receipt()
        self.h.deliver(self.container, self.h.payment_received(paid, 100_000, loan_id=loan_id))
        return loan_id, paid

    def conflict(self, officer: uuid.UUID) -> str:
        loan_id, paid = self.repaid(officer)
        self.h.deliver(self.container, self.h.payment_received(paid, 900_000, loan_id=loan_id))
        return paid

    def unallocated(self) -> str:
        paid = receipt()
        self.h.deliver(self.container, self.h.payment_received(paid, 50_000, target="unallocated"))
        return paid

    def saver(self, officer: uuid.UUID) -> tuple[uuid.UUID, str]:
        client_id, paid = self.client_of(officer), receipt()
        body = {"clientId": str(client_id), "amount": 5000, "paymentMethod": "cash"}
        response = self.client.post(
            "/api/savings/deposits",
            json={**body, "transactionId": paid},
            headers=self.staff.headers("super_admin"),
        )
        assert response.status_code == 201, response.text
        return client_id, paid

    def held_payout(self, officer: uuid.UUID) -> uuid.UUID:
        """A payout of more than the approved principal, held for staff; returns its id."""
        loan_id, client_id = uuid.uuid4(), uuid.uuid4()
        group_id = self.h.own(self.container, officer, client_id=client_id, loan_id=loan_id)
        h = self.h
        h.deliver(self.container, h.client_onboarded(client_id, group_id))
        h.deliver(
            self.container, h.loan_approved(loan_id, client_id, 2_000_000, officer_id=officer)
        )
        payout = h.disbursement_completed(loan_id, 2_500_000)
        h.deliver(self.container, payout)
        return payout.disbursement_id

    def withdrawal(self, officer: uuid.UUID) -> tuple[uuid.UUID, str]:
        client_id, _ = self.saver(officer)
        response = self.client.post(
            "/api/savings/withdrawals",
            json={"clientId": str(client_id), "amount": 1000, "paymentMethod": "cash"},
            headers=self.staff.headers("initiator_admin", self.requester),
        )
        assert response.status_code == 201, response.text
        return client_id, response.json()["withdrawal"]["_id"]


Setup = Callable[[Books, uuid.UUID], Call]


def _json(method: str, url: str, body: dict[str, Any]) -> Call:
    return Call(method, url, {"json": body})


def _withdrawal_list(b: Books, o: uuid.UUID) -> Call:
    client_id, _ = b.withdrawal(o)
    return Call("GET", "/api/savings/withdrawals", shows=str(client_id))


MATRIX: dict[str, tuple[Access, Setup]] = {
    "POST /api/repayments": (
        Access(REPAYMENT_RECORDERS),
        lambda b, o: _json(
            "POST",
            "/api/repayments",
            {
                "loanId": str(b.loan_of(o)),
                "amount": 1000,
                "paymentMethod": "cash",
                "transactionId": receipt(),
            },
        ),
    ),
    "GET /api/repayments/unallocated": (
        LIST,
        lambda b, o: Call("GET", "/api/repayments/unallocated?status=all", shows=b.repaid(o)[1]),
    ),
    "POST /api/repayments/unallocated/{receipt}/assign": (
        Access(RECORDERS),
        lambda b, o: _json(
            "POST",
            f"/api/repayments/unallocated/{b.unallocated()}/assign",
            {"loanId": str(b.loan_of(o))},
        ),
    ),
    "GET /api/repayments/conflicts": (
        LIST,
        lambda b, o: Call("GET", "/api/repayments/conflicts", shows=b.conflict(o)),
    ),
    "POST /api/repayments/{receipt}/reverse": (
        Access(APPROVERS),
        lambda b, o: _json(
            "POST", f"/api/repayments/{b.repaid(o)[1]}/reverse", {"reason": "paid in error"}
        ),
    ),
    "GET /api/repayments/loan/{loan_id}": (
        RECORD,
        lambda b, o: Call("GET", f"/api/repayments/loan/{b.loan_of(o)}"),
    ),
    "GET /api/repayments/{loan_id}": (
        RECORD,
        lambda b, o: Call("GET", f"/api/repayments/{b.loan_of(o)}"),
    ),
    "POST /api/schedules/preview": (
        ANYONE_SIGNED_IN,
        lambda b, o: _json(
            "POST",
            "/api/schedules/preview",
            {
                "amount": 20000,
                "term": 6,
                "product": {"interestMethod": "flat", "interestRate": "10"},
            },
        ),
    ),
    "GET /api/loans/{loan_id}/schedule": (
        RECORD,
        lambda b, o: Call("GET", f"/api/loans/{b.loan_of(o)}/schedule"),
    ),
    "GET /api/loans/{loan_id}/statement": (
        RECORD,
        lambda b, o: Call("GET", f"/api/loans/{b.loan_of(o)}/statement"),
    ),
    "GET /api/clients/{client_id}/accounts": (
        RECORD,
        lambda b, o: Call("GET", f"/api/clients/{b.saver(o)[0]}/accounts"),
    ),
    # The institution's books by account class: totals only, no client or loan in them.
    "GET /api/ledger/accounts": (
        ANYONE_SIGNED_IN,
        lambda b, o: Call("GET", "/api/ledger/accounts"),
    ),
    "GET /api/ledger/accounts/{account_id}": (
        RECORD,
        lambda b, o: Call("GET", f"/api/ledger/accounts/1100:{b.loan_of(o)}"),
    ),
    "GET /api/ledger/trial-balance": (
        ANYONE_SIGNED_IN,
        lambda b, o: Call("GET", "/api/ledger/trial-balance"),
    ),
    "POST /api/ledger/loans/{loan_id}/write-off": (
        Access(APPROVERS),
        lambda b, o: _json(
            "POST", f"/api/ledger/loans/{b.loan_of(o)}/write-off", {"reason": "absconded"}
        ),
    ),
    "POST /api/ledger/arrears/assess": (
        Access(APPROVERS),
        lambda b, o: _json("POST", "/api/ledger/arrears/assess", {}),
    ),
    **parking_rows(
        "ledger", read=Access(RECORDERS), act=Access(APPROVERS), lot=lambda b: b.container.parking
    ),
    # Payouts that were not the approved principal: a queue for the back office.
    "GET /api/ledger/disbursement-mismatches": (
        Access(RECORDERS),
        lambda b, o: (b.held_payout(o), Call("GET", "/api/ledger/disbursement-mismatches"))[1],
    ),
    "POST /api/ledger/disbursement-mismatches/{disbursement_id}/accept": (
        Access(APPROVERS),
        lambda b, o: _json(
            "POST",
            f"/api/ledger/disbursement-mismatches/{b.held_payout(o)}/accept",
            {"reason": "confirmed with the borrower"},
        ),
    ),
    "POST /api/ledger/disbursement-mismatches/{disbursement_id}/recover": (
        Access(APPROVERS),
        lambda b, o: _json(
            "POST",
            f"/api/ledger/disbursement-mismatches/{b.held_payout(o)}/recover",
            {"reason": "paid too much"},
        ),
    ),
    "GET /api/reports/portfolio": (
        LIST,
        lambda b, o: (b.loan_of(o), Call("GET", "/api/reports/portfolio", shows=str(o)))[1],
    ),
    "POST /api/savings/deposits": (
        Access(SAVINGS_KEEPERS),
        lambda b, o: _json(
            "POST",
            "/api/savings/deposits",
            {
                "clientId": str(b.client_of(o)),
                "amount": 100,
                "paymentMethod": "cash",
                "transactionId": receipt(),
            },
        ),
    ),
    "POST /api/savings/deposits/{receipt}/reverse": (
        Access(APPROVERS),
        lambda b, o: _json(
            "POST", f"/api/savings/deposits/{b.saver(o)[1]}/reverse", {"reason": "bounced"}
        ),
    ),
    "POST /api/savings": (
        Access(SAVINGS_KEEPERS),
        lambda b, o: _json(
            "POST", "/api/savings", {"clientId": str(b.client_of(o)), "amountCents": 5000}
        ),
    ),
    "GET /api/savings": (
        LIST,
        lambda b, o: Call("GET", "/api/savings", shows=str(b.saver(o)[0])),
    ),
    "POST /api/savings/withdrawals": (
        Access(SAVINGS_KEEPERS),
        lambda b, o: _json(
            "POST",
            "/api/savings/withdrawals",
            {"clientId": str(b.saver(o)[0]), "amount": 100, "paymentMethod": "cash"},
        ),
    ),
    "GET /api/savings/withdrawals": (LIST, _withdrawal_list),
    "POST /api/savings/withdrawals/{withdrawal_id}/approve": (
        Access(APPROVERS),
        lambda b, o: Call("POST", f"/api/savings/withdrawals/{b.withdrawal(o)[1]}/approve"),
    ),
    "POST /api/savings/withdrawals/{withdrawal_id}/reject": (
        Access(APPROVERS),
        lambda b, o: _json(
            "POST", f"/api/savings/withdrawals/{b.withdrawal(o)[1]}/reject", {"reason": "no"}
        ),
    ),
    "POST /api/clients/{client_id}/savings": (
        Access(SAVINGS_KEEPERS),
        lambda b, o: _json("POST", f"/api/clients/{b.client_of(o)}/savings", {"amountKES": 50}),
    ),
    "GET /api/analytics/overview": (ANALYSTS, lambda b, o: Call("GET", "/api/analytics/overview")),
    "GET /api/analytics/portfolio": (
        ANALYSTS,
        lambda b, o: Call("GET", "/api/analytics/portfolio"),
    ),
    "GET /api/analytics/demographics": (
        ANALYSTS,
        lambda b, o: Call("GET", "/api/analytics/demographics?range=365"),
    ),
    "GET /api/analytics/repayments": (
        ANALYSTS,
        lambda b, o: Call("GET", "/api/analytics/repayments?range=30"),
    ),
    "GET /api/analytics/loan-performance": (
        ANALYSTS,
        lambda b, o: Call("GET", "/api/analytics/loan-performance?vintageMonths=12"),
    ),
    "GET /api/analytics/officers": (
        ANALYSTS,
        lambda b, o: Call("GET", "/api/analytics/officers?range=30"),
    ),
    "GET /api/analytics/risk": (
        ANALYSTS,
        lambda b, o: Call("GET", "/api/analytics/risk?range=365"),
    ),
    **open_rows("ledger"),
}


class TestRoleMatrix(RoleMatrixPromise):
    matrix = MATRIX

    @pytest.fixture
    def matrix_caller(
        self, container: Any, client: TestClient, staff: Any, h: Any, clock: Any
    ) -> MatrixCaller:
        clock.set_date(dt.date(2025, 3, 1))
        books = Books(container, client, staff, h)
        return MatrixCaller(
            books.client,
            books,
            officers=(uuid.uuid4(), uuid.uuid4()),
            headers=lambda role, officer: staff.headers(role, officer),
        )
