"""Pure domain rules, without the web or the database."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from hazina_origination.domain.account_number import is_valid_account_number, new_account_number
from hazina_origination.domain.assessment import FiveCs
from hazina_origination.domain.eligibility import (
    BorrowerFacts,
    check_eligibility,
    required_savings_cents,
)
from hazina_origination.domain.errors import InvalidInputError, NotEligibleError
from hazina_origination.domain.guarantees import ClientGuarantees
from hazina_origination.domain.phone import normalise_phone
from hazina_origination.domain.photo import PhotoTooLargeError, check_photo_size, check_pixels
from hazina_origination.domain.product import ProductSpec
from hazina_origination.domain.staff import StaffMember, loan_officer_refusal

rng = random.Random(20260101)


def test_account_numbers_are_ten_digits_and_never_look_like_a_phone() -> None:
    for _ in range(500):
        number = new_account_number()
        assert len(number) == 10 and number.isdigit() and number[0] != "0"
        assert is_valid_account_number(number)


def test_the_check_digit_catches_every_single_typo_and_every_neighbour_swap() -> None:
    for _ in range(200):
        number = new_account_number()
        for i in range(10):
            for digit in "0123456789":
                if digit != number[i]:
                    assert not is_valid_account_number(number[:i] + digit + number[i + 1 :])
        for i in range(9):
            if number[i] != number[i + 1]:
                swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
                assert not is_valid_account_number(swapped)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("0712345678", "254712345678"),
        ("+254712345678", "254712345678"),
        ("254 712 345 678", "254712345678"),
        ("712345678", "254712345678"),
        ("0110123456", "254110123456"),
        ("0757-123-456", "254757123456"),
    ],
)
def test_kenyan_mobiles_are_normalised(raw: str, normal: str) -> None:
    assert normalise_phone(raw) == normal


@pytest.mark.parametrize(
    "raw", ["0201234567", "07123", "+447911123456", "abc", "", "2547123456789"]
)
def test_anything_else_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInputError):
        normalise_phone(raw)


def test_photo_size_and_pixel_bounds() -> None:
    check_photo_size(b"x" * 10, max_bytes=10)
    with pytest.raises(PhotoTooLargeError, match="larger than"):
        check_photo_size(b"x" * (2 * 1024 * 1024 + 1), max_bytes=2 * 1024 * 1024)
    with pytest.raises(InvalidInputError, match="photo is required"):
        check_photo_size(b"", max_bytes=10)
    check_pixels(4000, 3000, max_pixels=12_000_000)
    with pytest.raises(PhotoTooLargeError, match="megapixels"):
        check_pixels(4000, 3001, max_pixels=12_000_000)


def test_five_cs_pass_at_18() -> None:
    assert FiveCs(4, 4, 4, 3, 3).passed and FiveCs(4, 4, 4, 3, 3).total == 18
    assert not FiveCs(4, 4, 3, 3, 3).passed
    for bad in (0, 6, True, 2.5):
        with pytest.raises(InvalidInputError):
            FiveCs(bad, 3, 3, 3, 3)  # type: ignore[arg-type]


def spec(**changes: Any) -> ProductSpec:
    fields: dict[str, Any] = {
        "name": "Biashara",
        "type": "Business",
        "interest_method": "flat",
        "interest_rate_percent": "10.0",
        "interest_rate_period": "month",
        "repayment_frequency": "monthly",
        "min_amount_cents": 100_000,
        "max_amount_cents": 5_000_000,
        "min_term": 1,
        "max_term": 12,
    }
    fields.update(changes)
    return ProductSpec.from_fields(fields)


def test_product_specs_are_normalised_and_checked() -> None:
    product = spec(instalment_multiple_of="1", min_savings_ratio="0.20")
    assert product.type == "business" and product.interest_rate_percent == "10"
    assert product.instalment_multiple_of == "1.00" and product.min_savings_ratio == "0.2"
    terms = product.terms_for(uuid.uuid4(), 6)
    assert terms["term"] == 6 and terms["allocation"] == "interest_principal_per_instalment"
    for bad in (
        {"interest_method": "simple"},
        {"max_amount_cents": 50_000},
        {"min_term": 0},
        {"interest_rate_percent": "abc"},
        {"interest_rate_percent": "101"},
        {"fees": [{"name": "x"}]},
        {"min_savings_ratio": "-0.1"},
        {"max_open_loans": 0},
        {"colour": "red"},
    ):
        with pytest.raises(InvalidInputError):
            spec(**bad)


def test_percent_fees_round_half_up_to_the_cent() -> None:
    product = spec(
        fees=[
            {"name": "app", "kind": "percent", "value": "1.5"},
            {"name": "card", "kind": "flat", "value": "100.50"},
        ]
    )
    assert product.fees_cents(2_000_000) == 30_000 + 10_050
    assert product.fees_cents(333) == 5 + 10_050  # 4.995 cents rounds to 5


def test_required_savings_round_up_to_the_cent() -> None:
    product = spec(min_savings_ratio="0.2")
    assert required_savings_cents(product, 2_000_000) == 400_000
    assert required_savings_cents(product, 1_234_567) == 246_914  # 246,913.4 rounds up


def facts(**changes: Any) -> BorrowerFacts:
    base: dict[str, Any] = {
        "client_status": "active",
        "group_name": "G",
        "group_status": "active",
        "group_has_signatories": True,
        "savings_cents": 10_000_000,
        "repaid_loans": 1,
        "open_loans": 0,
    }
    base.update(changes)
    return BorrowerFacts(**base)


def test_an_eligible_borrower_passes_every_rule() -> None:
    assert check_eligibility(spec(), facts(), principal_cents=2_000_000, term=6) == []


def test_a_random_mix_of_broken_rules_is_reported_exactly() -> None:
    breakers = {
        "client_active": {"client_status": "pending"},
        "group_active": {"group_status": "provisional"},
        "group_signatories": {"group_has_signatories": False},
        "min_savings": {"savings_cents": 0},
        "prior_repaid_loan": {"repaid_loans": 0},
        "max_open_loans": {"open_loans": 1},
    }
    for _ in range(100):
        chosen = sorted(rng.sample(sorted(breakers), rng.randint(0, len(breakers))))
        changes: dict[str, Any] = {}
        for rule in chosen:
            changes.update(breakers[rule])
        failures = check_eligibility(spec(), facts(**changes), principal_cents=2_000_000, term=6)
        assert sorted(f.rule for f in failures) == chosen


def test_a_client_guarantees_no_more_open_loans_than_allowed() -> None:
    client_id = uuid.uuid4()
    record = ClientGuarantees(client_id=client_id)
    assert record.id == ClientGuarantees.create_id(client_id)  # one record per client
    record.pledge(
        loan_id=uuid.uuid4(), guarantor_id=uuid.uuid4(), open_guarantees=1, most_allowed=2
    )
    with pytest.raises(NotEligibleError) as refused:
        record.pledge(
            loan_id=uuid.uuid4(), guarantor_id=uuid.uuid4(), open_guarantees=2, most_allowed=2
        )
    assert [f.rule for f in refused.value.failures] == ["max_guarantees"]
    assert record.given == 1


def test_only_an_active_loan_officer_is_given_a_group_once_staff_are_known() -> None:
    user_id = uuid.uuid4()

    def member(role: str | None, active: bool = True) -> StaffMember:
        return StaffMember(user_id=user_id, username="amina", role=role, active=active)

    assert loan_officer_refusal(user_id, None, staff_known=False) is None
    assert loan_officer_refusal(user_id, member("loan_officer"), staff_known=True) is None
    refusals = [
        loan_officer_refusal(user_id, None, staff_known=True),
        loan_officer_refusal(user_id, member(None, active=False), staff_known=True),
        loan_officer_refusal(user_id, member("approver_admin"), staff_known=True),
        loan_officer_refusal(user_id, member("loan_officer", active=False), staff_known=True),
    ]
    assert refusals == [
        f"loanOfficerId {user_id} is not a known loan officer",
        f"loanOfficerId {user_id} is not a known loan officer",
        f"loanOfficerId {user_id} (amina) is not a loan officer (role approver_admin)",
        f"loanOfficerId {user_id} (amina) is a deactivated loan officer",
    ]
