"""The money loop, end to end, through the front door against the system as `make run` starts it.

Seed 000's "how frontend can test quickly" list, with real money movements on the simulated
Daraja: staff sign in, create and approve a group, onboard and approve clients with photos,
assign signatories, record savings, initiate a loan, add and accept a guarantor, assess credit,
approve and disburse; the simulator's B2C result marks the loan disbursed; borrowers pay by C2B
(partial, exact, one too many); the repayment history and balances answer in the seed's shape;
the loan is repaid with the excess in suspense. Then a B2C failure sends a loan back to
`approved`, and a retry pays it.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from .frontdoor import Desk, eventually, ok

pytestmark = pytest.mark.e2e

PAYBILL = "600984"


def _created(response: httpx.Response) -> Any:
    """The new record, or None while origination has not yet heard of the loan officer."""
    if response.status_code == 400 and "not a known loan officer" in response.text:
        return None
    return ok(response, 201)


class Daraja:
    """The simulated Safaricom sandbox, reached exactly as a tester would, through /sim/daraja."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def _bearer(self) -> dict[str, str]:
        token = ok(
            self.client.get(
                "/sim/daraja/oauth/v1/generate",
                params={"grant_type": "client_credentials"},
                auth=("sim-consumer-key", "sim-consumer-secret"),
            )
        )
        return {"Authorization": f"Bearer {token['access_token']}"}

    def next_b2c(self, outcome: str, count: int = 1) -> None:
        ok(self.client.post("/sim/daraja/_control/b2c", json={"outcome": outcome, "count": count}))

    def pay_bill(self, account: str, amount: int, msisdn: str) -> None:
        ok(
            self.client.post(
                "/sim/daraja/mpesa/c2b/v2/simulate",
                json={
                    "ShortCode": PAYBILL,
                    "CommandID": "CustomerPayBillOnline",
                    "Amount": str(amount),
                    "Msisdn": msisdn,
                    "BillRefNumber": account,
                },
                headers=self._bearer(),
            )
        )


def test_the_money_loop(system: Any) -> None:
    # The system is shared: a product type of this test's own, so initiating by type finds
    # this product alone whatever products other tests made.
    business = f"business-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=system.url, timeout=20) as client:
        staff = Desk(client, system)
        admin = staff.admin
        officer, officer_id = staff.user("loan_officer")
        approver, _ = staff.user("approver_admin")
        cashier, _ = staff.user("initiator_admin")
        daraja = Daraja(client)

        ok(
            client.post(
                "/api/loan-products",
                json={
                    "name": "Biashara",
                    "type": business,
                    "interestMethod": "flat",
                    "interestRate": "5",
                    "interestRatePeriod": "month",
                    "repaymentFrequency": "monthly",
                    "minAmount": 1000,
                    "maxAmount": 50000,
                    "minTerm": 1,
                    "maxTerm": 12,
                    "instalmentMultipleOf": "1",
                    "minSavingsRatio": "0.20",
                    "requirePriorRepaidLoan": False,
                },
                headers=admin,
            ),
            201,
        )

        # Login -> create group (once identity's UserCreated has reached origination) -> approve it.
        group = eventually(
            lambda: _created(
                client.post(
                    "/api/groups",
                    json={
                        "name": "Umoja Women",
                        "meetingDay": "Tuesday",
                        "meetingTime": "10:00",
                        "loanOfficerId": officer_id,
                    },
                    headers=officer,
                )
            ),
            "identity's UserCreated to reach origination",
        )
        assert group["status"] == "pending" and group["hazinaStatus"] == "provisional"
        assert (
            ok(client.put(f"/api/groups/{group['_id']}/approve", headers=approver))["status"]
            == "active"
        )

        # Onboard clients with photos -> approve them -> signatories.
        members = []
        for i in range(4):
            onboarded = staff.onboard(
                officer,
                group["_id"],
                name=f"Member {i}",
                national_id=f"2900100{i}",
                phone=f"07123456{i}0",
                location="Githurai",
            )
            assert onboarded["message"] == "Client onboarded successfully"
            assert onboarded["client"]["status"] == "pending"
            members.append(
                ok(
                    client.put(
                        f"/api/clients/{onboarded['client']['_id']}/approve", headers=approver
                    )
                )
            )
        ok(
            client.put(
                f"/api/groups/{group['_id']}/assign-signatories",
                json={
                    "signatoryAssignments": [
                        {"role": role, "memberNationalId": m["nationalId"]}
                        for role, m in zip(
                            ("chairperson", "secretary", "treasurer"), members, strict=False
                        )
                    ]
                },
                headers=officer,
            )
        )
        borrower, guarantor, second_borrower = members[0], members[1], members[3]

        # Savings deposits: 20% of the loan, recorded by staff in the ledger.
        for who, receipt in ((borrower, "CASH-E2E-1"), (second_borrower, "CASH-E2E-2")):
            staff.deposit(cashier, who["_id"], receipt)

        def initiate(who: dict[str, Any]) -> dict[str, Any]:
            # The savings rule reads origination's own projection of the ledger's events: retry until it has arrived.
            def attempt() -> Any:
                response = client.post(
                    "/api/loans/initiate",
                    json={
                        "clientNationalId": who["nationalId"],
                        "type": business,
                        "amount": 20000,
                        "term": 2,
                    },
                    headers=officer,
                )
                return response.json()["loan"] if response.status_code == 201 else None

            return dict(eventually(attempt, "savings to reach origination"))

        def guarantee_assess_approve(loan: dict[str, Any], backer: dict[str, Any]) -> None:
            staff.guarantee_assess_approve(
                loan["_id"],
                backer["_id"],
                officer=officer,
                approver=approver,
                notes="Stable business",
            )

        def loan_status(loan_id: str) -> str:
            body = ok(client.get(f"/api/loans/{loan_id}", headers=admin))
            return str(body.get("status") or body["loan"]["status"])

        # Initiate -> guarantor -> credit assessment -> approve -> disburse.
        loan = initiate(borrower)
        guarantee_assess_approve(loan, guarantor)
        disbursing = ok(client.post(f"/api/loans/{loan['_id']}/disburse", headers=cashier), 202)
        assert disbursing["message"] == "Disbursement initiated"
        eventually(
            lambda: loan_status(loan["_id"]) == "disbursed",
            "the B2C result to mark the loan disbursed",
        )

        schedule = eventually(
            lambda: (
                client.get(f"/api/loans/{loan['_id']}/schedule", headers=admin).json()
                if client.get(f"/api/loans/{loan['_id']}/schedule", headers=admin).status_code
                == 200
                else None
            ),
            "the ledger to open the loan account",
        )
        instalments = schedule["instalments"]
        assert [i["total_cents"] for i in instalments] == [
            1_100_000,
            1_100_000,
        ]  # 20,000 + 5% a month flat, 2 months

        # Borrower pays by paybill: partial, then the rest of the first instalment and more, then one too many.
        msisdn = "254712345600"
        daraja.pay_bill(loan["accountNumber"], 5000, msisdn)
        daraja.pay_bill(loan["accountNumber"], 11000, msisdn)
        daraja.pay_bill(
            loan["accountNumber"].lower(), 7000, msisdn
        )  # typed in lower case: still matched

        def history() -> Any:
            body = ok(client.get(f"/api/repayments/loan/{loan['_id']}", headers=officer))
            return body if len(body["repayments"]) == 3 else None

        paid = eventually(history, "three C2B payments to be posted")
        assert paid["total_paid_cents"] == 2_300_000
        assert paid["outstanding_cents"] == 0
        assert sorted(r["amount_cents"] for r in paid["repayments"]) == [
            500_000,
            700_000,
            1_100_000,
        ]
        assert all(r["mpesaReceipt"] for r in paid["repayments"])
        split = [r["allocation"] for r in paid["repayments"]]
        assert sum(a["interest_cents"] for a in split) == 200_000
        assert sum(a["principal_cents"] for a in split) == 2_000_000
        assert sum(a["suspense_cents"] for a in split) == 100_000
        assert (
            ok(client.get(f"/api/repayments/{loan['_id']}", headers=officer))["total_paid_cents"]
            == 2_300_000
        )

        eventually(lambda: loan_status(loan["_id"]) == "repaid", "LoanRepaid to reach origination")
        accounts = ok(client.get(f"/api/clients/{borrower['_id']}/accounts", headers=admin))
        assert accounts["suspense_cents"] == 100_000
        assert accounts["savings_cents"] == 400_000
        assert ok(client.get("/api/ledger/trial-balance", headers=admin))["balanced"] is True

        # Staff reverse the last payment (M-Pesa reversed it): the ledger re-folds the loan and
        # publishes RepaymentReversed; origination shows the loan owed again, without that receipt.
        last = next(r for r in paid["repayments"] if r["amount_cents"] == 700_000)
        reversal = ok(
            client.post(
                f"/api/repayments/{last['mpesaReceipt']}/reverse",
                json={"reason": "M-Pesa reversed the payment"},
                headers=approver,
            )
        )
        assert reversal["loan"]["outstanding_cents"] == 600_000

        def after_reversal() -> Any:
            body = ok(client.get(f"/api/loans/{loan['_id']}", headers=admin))
            shown = body.get("loan", body)
            seen = (shown["status"], shown["outstanding_cents"], shown["total_paid_cents"])
            return seen if seen == ("disbursed", 600_000, 1_600_000) else None

        eventually(after_reversal, "RepaymentReversed to reopen the loan in origination")
        assert ok(client.get("/api/ledger/trial-balance", headers=admin))["balanced"] is True

        # A B2C failure: the loan goes back to approved with the reason, and a retry pays it.
        retry_loan = initiate(second_borrower)
        guarantee_assess_approve(retry_loan, guarantor)
        daraja.next_b2c("insufficient_funds")
        ok(client.post(f"/api/loans/{retry_loan['_id']}/disburse", headers=cashier), 202)
        eventually(lambda: loan_status(retry_loan["_id"]) == "approved", "the failed B2C result")
        detail = ok(client.get(f"/api/loans/{retry_loan['_id']}", headers=admin))
        assert "insufficient" in str(detail).lower()
        again = ok(client.post(f"/api/loans/{retry_loan['_id']}/disburse", headers=cashier), 202)
        assert again["transactionId"] != disbursing["transactionId"]
        eventually(
            lambda: loan_status(retry_loan["_id"]) == "disbursed", "the retried B2C to pay out"
        )
        disbursement = ok(
            client.get(f"/api/payments/disbursements/{again['transactionId']}", headers=admin)
        )
        assert disbursement["status"] in {"completed", "succeeded", "disbursed"}
