"""A borrower on a feature phone, end to end through the front door with `make run`'s processes:
Africa's Talking posts the hops to /api/ussd; the borrower sets a PIN, sees their savings and
applies within their limit; origination records an initiated loan assigned to the client's loan
officer, visible in the staff API; the Africa's Talking simulator has the SMS with the reference,
and its delivery report marks the message delivered in the staff's SMS log. Staff approve and
disburse it (an SMS says the money is sent); the borrower repays the full balance by STK Push on
the simulated Daraja until the ledger shows the payment and the SMS receipt arrives.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from .frontdoor import Desk, eventually, ok

pytestmark = pytest.mark.e2e
PIN = "4826"  # pragma: allowlist secret


class Phone:
    def __init__(self, client: httpx.Client, number: str) -> None:
        self.client = client
        self.number = number
        self.session_id = ""
        self.answers: list[str] = []

    def dial(self) -> str:
        self.session_id = f"ATUid_{uuid.uuid4().hex}"
        self.answers = []
        return self.hop()

    def send(self, answer: str) -> str:
        self.answers.append(answer)
        return self.hop()

    def hop(self) -> str:
        response = self.client.post(
            "/api/ussd",
            data={
                "sessionId": self.session_id,
                "serviceCode": "*384*1234#",
                "phoneNumber": self.number,
                "networkCode": "63902",
                "text": "*".join(self.answers),
            },
        )
        assert response.status_code == 200, response.text
        assert response.text.startswith(("CON ", "END ")) and len(response.text) <= 186
        return response.text


def test_a_borrower_applies_and_repays_on_ussd_with_sms_at_each_step(system: Any) -> None:
    with httpx.Client(base_url=system.url, timeout=20) as client:
        staff = Desk(client, system)
        admin = staff.admin
        officer, officer_id = staff.user("loan_officer")
        approver, _ = staff.user("approver_admin")
        cashier, _ = staff.user("initiator_admin")
        eventually(
            lambda: (
                client.get(f"/api/loan-officers/{officer_id}", headers=admin).status_code == 200
            ),
            "identity's UserCreated to reach origination",
        )
        # "individual": the type the USSD service applies for; no other test on the shared
        # system makes a product of that type.
        ok(
            client.post(
                "/api/loan-products",
                json={
                    "name": "Binafsi",
                    "type": "individual",
                    "interestMethod": "flat",
                    "interestRate": "5",
                    "interestRatePeriod": "month",
                    "repaymentFrequency": "monthly",
                    "minAmount": 500,
                    "maxAmount": 50000,
                    "minTerm": 1,
                    "maxTerm": 12,
                    "instalmentMultipleOf": "1",
                    "minSavingsRatio": "0.20",
                    "requirePriorRepaidLoan": False,
                    "requireSignatories": False,
                },
                headers=admin,
            ),
            201,
        )
        group = ok(
            client.post(
                "/api/groups",
                json={"name": "Simu Women", "loanOfficerId": officer_id},
                headers=officer,
            ),
            201,
        )
        ok(client.put(f"/api/groups/{group['_id']}/approve", headers=approver))
        onboarded = staff.onboard(
            officer,
            group["_id"],
            name="Achieng Otieno",
            national_id="31004455",
            phone="0712998877",
            location="Kibera",
        )
        client_id = onboarded["client"]["_id"]
        ok(client.put(f"/api/clients/{client_id}/approve", headers=approver))
        staff.deposit(cashier, client_id, "CASH-USSD-1")

        eventually(
            lambda: (
                client.get(f"/api/ussd/borrowers/{client_id}/limit", headers=admin)
                .json()
                .get("limitCents")
                == 12_000_00
            ),
            "the savings to reach the USSD service (limit 3 x savings)",
        )
        phone = Phone(client, "+254712998877")
        assert "national ID" in phone.dial()
        phone.send("31004455")
        phone.send(PIN)
        assert "1. Apply for a loan" in phone.send(PIN)
        assert "Savings balance: KES 4,000" in phone.send("5")
        phone.send("00")
        assert "limit is KES 12,000" in phone.send("1")
        phone.send("5000")
        phone.send("2")
        phone.send("3")
        done = phone.send("1")
        assert done.startswith("END Application received. Ref U")
        reference = done.split("Ref ")[1].split(".")[0]

        def initiated() -> Any:
            loans = client.get("/api/loans", headers=officer).json()
            rows = loans if isinstance(loans, list) else loans.get("loans", [])
            return [x for x in rows if reference in str(x)]

        [loan] = eventually(initiated, "origination to record the USSD application")
        assert loan["status"] == "initiated"

        def texted() -> Any:
            sent = client.get(
                "/sim/africastalking/_control/messages", params={"to": "+254712998877"}
            ).json()
            return [m for m in sent if reference in m["message"]]

        [sms] = eventually(texted, "the application SMS to reach Africa's Talking")

        def delivered() -> Any:
            rows = client.get(
                "/api/sms/notifications", params={"clientId": client_id}, headers=admin
            ).json()
            return [r for r in rows if r["status"] == "delivered"]

        [row] = eventually(delivered, "the delivery report to mark the SMS delivered")
        assert row["providerMessageId"] == sms["messageId"]

        # The loan officer takes it on: a guarantor, a credit assessment, approval, disbursement.
        backer = staff.onboard(
            officer,
            group["_id"],
            name="Wanjiru Kamau",
            national_id="31004456",
            phone="0712998878",
            location="Kibera",
        )["client"]
        ok(client.put(f"/api/clients/{backer['_id']}/approve", headers=approver))
        staff.guarantee_assess_approve(
            loan["_id"],
            backer["_id"],
            officer=officer,
            approver=approver,
            notes="Applied on USSD",
        )
        ok(
            client.post(f"/api/loans/{loan['_id']}/disburse", headers=cashier), 202
        )  # a checker other than the approver

        def texts_with(words: str) -> Any:
            sent = client.get(
                "/sim/africastalking/_control/messages", params={"to": "+254712998877"}
            ).json()
            return [m for m in sent if words in m["message"]]

        [paid_out] = eventually(
            lambda: texts_with("was sent to your M-Pesa"), "the disbursement SMS"
        )
        assert "KES 5,000" in paid_out["message"]

        # Status and balance, then repay the whole balance by STK Push.
        def owed() -> str | None:
            phone.dial()
            phone.send(PIN)
            reply = phone.send("3")
            return reply if "owes KES" in reply else None

        assert "owes KES 5,750" in eventually(owed, "the ledger's loan account to reach USSD")
        assert "Pay KES 5,750" in phone.send("1")
        assert phone.send("1").startswith("END You will get an M-Pesa prompt for KES 5,750")

        def repaid() -> Any:
            body = ok(client.get(f"/api/repayments/loan/{loan['_id']}", headers=admin))
            return body["repayments"]

        [repayment] = eventually(repaid, "the STK payment to reach the ledger")
        [receipt] = eventually(lambda: texts_with("received KES 5,750"), "the SMS receipt")
        assert "Balance KES 0" in receipt["message"]
        assert repayment is not None
