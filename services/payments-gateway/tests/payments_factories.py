"""Contract events as other services would publish them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hazina_contracts.events import origination, ussd

TERMS = origination.LoanTerms(
    product_id=uuid.UUID("5a4f3e2d-1c0b-4a9e-8d7c-6b5a4f3e2d1c"),
    product_name="Business loan",
    interest_method="flat",
    interest_rate_percent="4.5",
    interest_rate_period="month",
    repayment_frequency="monthly",
    term=6,
)


def disbursement_requested(**overrides: Any) -> origination.LoanDisbursementRequested:
    values: dict[str, Any] = {
        "occurred_at": datetime.now(UTC),
        "actor_id": uuid.uuid4(),
        "loan_id": uuid.uuid4(),
        "disbursement_id": uuid.uuid4(),
        "account_number": "LN000123",
        "client_id": uuid.uuid4(),
        "phone": "254712345678",
        "amount_cents": 500_000,
    }
    values.update(overrides)
    return origination.LoanDisbursementRequested(**values)


def loan_initiated(**overrides: Any) -> origination.LoanInitiated:
    values: dict[str, Any] = {
        "occurred_at": datetime.now(UTC),
        "actor_id": uuid.uuid4(),
        "loan_id": uuid.uuid4(),
        "account_number": "LN000123",
        "client_id": uuid.uuid4(),
        "group_id": None,
        "loan_officer_id": None,
        "principal_cents": 2_000_000,
        "terms": TERMS,
    }
    values.update(overrides)
    return origination.LoanInitiated(**values)


def client_onboarded(**overrides: Any) -> origination.ClientOnboarded:
    values: dict[str, Any] = {
        "occurred_at": datetime.now(UTC),
        "actor_id": uuid.uuid4(),
        "client_id": uuid.uuid4(),
        "group_id": None,
        "name": "Jane Wanjiku",
        "national_id": "34038490",
        "phone": "254712345678",
        "status": "pending",
    }
    values.update(overrides)
    return origination.ClientOnboarded(**values)


def prompt_requested(**overrides: Any) -> ussd.RepaymentPromptRequested:
    values: dict[str, Any] = {
        "occurred_at": datetime.now(UTC),
        "prompt_id": uuid.uuid4(),
        "phone": "254712345678",
        "amount_cents": 120_000,
        "account_reference": "LN000123",
        "loan_id": None,
    }
    values.update(overrides)
    return ussd.RepaymentPromptRequested(**values)
