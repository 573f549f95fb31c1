"""Records the loan pages' tests share, made through the front door as staff would: a loan
officer with an active group of approved members, an approver, an initiator, and loans at each
step (initiated, approvable, approved, disbursed)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from hazina_servicekit.testing import eventually

Page = Any  # the conftest's Frontend: a signed-in browser session


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (120, 80, 40)).save(out, format="JPEG")
    return out.getvalue()


JPEG = _jpeg()


@dataclass
class LoanBook:
    admin: Page
    officer: Page
    approver: Page
    initiator: Page
    product: dict[str, Any]
    group: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)

    def member(self) -> dict[str, Any]:
        """A new approved client of the book's group."""
        suffix = uuid.uuid4().int
        onboarded = self.officer.ok(
            "POST",
            "/api/clients/onboard",
            201,
            data={
                "name": f"Member {suffix % 10_000}",
                "nationalId": str(20_000_000 + suffix % 9_000_000),
                "phone": f"07{10_000_000 + suffix % 89_999_999}",
                "residence": "owned",
                "businessType": "retail",
                "businessLocation": "Githurai",
                "nextOfKinName": "Kin",
                "nextOfKinPhone": "0722000000",
                "nextOfKinRelationship": "sister",
                "groupId": self.group["_id"],
            },
            files={"photo": ("me.jpg", JPEG, "image/jpeg")},
        )
        client = self.approver.ok("PUT", f"/api/clients/{onboarded['client']['_id']}/approve")
        return dict(client)

    def initiated_loan(self, by: Page | None = None, **extra: Any) -> dict[str, Any]:
        """A business loan as the initiate page sends it, with three member guarantors."""
        borrower, *backers = (self.member() for _ in range(4))
        body = {
            "clientNationalId": borrower["nationalId"],
            "productId": self.product["_id"],
            "product": "business",
            "amountKES": 20000,
            "term": 6,
            "purpose": "Stock for the shop",
            "guarantors": [
                {
                    "name": b["name"],
                    "clientNationalId": b["nationalId"],
                    "phone": b["phone"],
                    "isMember": True,
                    "relationship": "Friend",
                    "clientId": b["_id"],
                }
                for b in backers
            ],
            **extra,
        }
        answer = (by or self.officer).ok("POST", "/api/loans/initiate", 201, json=body)
        assert answer["guarantorErrors"] == []
        return dict(answer["loan"])

    def approvable_loan(self) -> dict[str, Any]:
        """Initiated, its guarantors accepted and a passing assessment."""
        loan = self.initiated_loan()
        for g in self.officer.ok("GET", f"/api/guarantors?loanId={loan['_id']}"):
            self.officer.ok("PUT", f"/api/guarantors/{g['_id']}/accept", json={})
        self.officer.ok(
            "POST",
            "/api/credit-assessments",
            201,
            json={
                "loanId": loan["_id"],
                "officerId": self.officer.user["_id"],
                **dict.fromkeys(
                    ("character", "capacity", "capital", "collateral", "conditions"), 4
                ),
                "officerNotes": "Visited the shop",
            },
        )
        return loan

    def approved_loan(self) -> dict[str, Any]:
        loan = self.approvable_loan()
        self.approver.ok("PUT", f"/api/loans/{loan['_id']}/approve", json={})
        return loan

    def disbursed_loan(self) -> dict[str, Any]:
        """Paid out by the simulated M-Pesa rail and opened in the ledger."""
        loan = self.approved_loan()
        self.initiator.ok("PUT", f"/api/loans/{loan['_id']}/disburse", 202, json={})

        def opened() -> dict[str, Any] | None:
            detail = self.admin.ok("GET", f"/api/loans/{loan['_id']}")
            return detail if detail["schedules"] else None

        return dict(eventually(opened, "the ledger to open the loan's account"))


def open_book(
    super_admin: Page, new_staff: Callable[..., Page], product: dict[str, Any]
) -> LoanBook:
    officer = new_staff("loan_officer")
    approver = new_staff("approver_admin")
    initiator = new_staff("initiator_admin")
    group = officer.ok(
        "POST",
        "/api/groups",
        201,
        json={
            "name": f"Githurai {uuid.uuid4().hex[:6]}",
            "meetingDay": "Wednesday",
            "meetingTime": "10:00",
            "loanOfficerId": officer.user["_id"],
        },
    )
    approver.ok("PUT", f"/api/groups/{group['_id']}/approve", json={})
    book = LoanBook(super_admin, officer, approver, initiator, product, group)
    book.members = [book.member() for _ in range(3)]
    book.group = officer.ok(
        "PUT",
        f"/api/groups/{group['_id']}/assign-signatories",
        json={
            "signatoryAssignments": [
                {"role": role, "memberNationalId": m["nationalId"]}
                for role, m in zip(
                    ("chairperson", "secretary", "treasurer"), book.members, strict=True
                )
            ]
        },
    )
    return book


def business_product(super_admin: Page) -> dict[str, Any]:
    """The one business product of the pages' system. The initiate page names a product by its
    type only, and Hazina refuses to guess between several of one type, so there is exactly one."""
    return super_admin.ok(
        "POST",
        "/api/loan-products",
        201,
        json={
            "name": "Biashara",
            "type": "business",
            "interestMethod": "flat",
            "interestRate": "10",
            "interestRatePeriod": "month",
            "repaymentFrequency": "monthly",
            "minAmount": 1000,
            "maxAmount": 100000,
            "minTerm": 1,
            "maxTerm": 12,
            "minSavingsRatio": "0",
            "requirePriorRepaidLoan": False,
            "fees": [{"name": "application", "kind": "percent", "value": "1.5"}],
        },
    )
