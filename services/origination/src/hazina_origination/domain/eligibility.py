"""Who may borrow on a product: every rule is checked, and each failure says which rule and why."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from hazina_contracts.money import format_kes
from hazina_origination.domain.errors import RuleFailure
from hazina_origination.domain.product import ProductSpec


@dataclass(frozen=True)
class BorrowerFacts:
    """What origination knows about the borrower when a loan is asked for."""

    client_status: str
    group_name: str | None
    group_status: str | None
    group_has_signatories: bool
    savings_cents: int
    repaid_loans: int
    open_loans: int


def required_savings_cents(spec: ProductSpec, principal_cents: int) -> int:
    """The smallest savings balance that satisfies the ratio, rounded up to the cent."""
    needed = Decimal(principal_cents) * spec.savings_ratio
    return int(needed.to_integral_value(rounding=ROUND_CEILING))


def check_eligibility(
    spec: ProductSpec, facts: BorrowerFacts, *, principal_cents: int, term: int
) -> list[RuleFailure]:
    failures: list[RuleFailure] = []
    if not spec.active:
        failures.append(
            RuleFailure("product_active", f"Product {spec.name} is not open for new loans")
        )
    if facts.client_status != "active":
        failures.append(
            RuleFailure(
                "client_active",
                f"Client is not active (status: {facts.client_status}); an admin must approve the client first",
            )
        )
    if facts.group_status is None:
        failures.append(
            RuleFailure("group_active", "Group not active: the client belongs to no group")
        )
    elif facts.group_status != "active":
        failures.append(
            RuleFailure(
                "group_active",
                f"Group not active: {facts.group_name} is {facts.group_status}; an admin must approve it first",
            )
        )
    if (
        spec.require_signatories
        and facts.group_status is not None
        and not facts.group_has_signatories
    ):
        failures.append(
            RuleFailure(
                "group_signatories",
                f"Group {facts.group_name} has no signatories; assign a chairperson, secretary and treasurer",
            )
        )
    required = required_savings_cents(spec, principal_cents)
    if facts.savings_cents < required:
        percent = _percent(spec.savings_ratio)
        failures.append(
            RuleFailure(
                "min_savings",
                f"Savings of {format_kes(facts.savings_cents)} are below the required {percent}% of the amount "
                f"({format_kes(required)})",
            )
        )
    if spec.require_prior_repaid_loan and facts.repaid_loans < 1:
        failures.append(
            RuleFailure(
                "prior_repaid_loan",
                "Client has not repaid a previous loan; this product requires at least one repaid loan",
            )
        )
    if facts.open_loans >= spec.max_open_loans:
        noun = "loan" if facts.open_loans == 1 else "loans"
        failures.append(
            RuleFailure(
                "max_open_loans",
                f"Client already has {facts.open_loans} open {noun}; this product allows at most "
                f"{spec.max_open_loans}",
            )
        )
    if not spec.min_amount_cents <= principal_cents <= spec.max_amount_cents:
        failures.append(
            RuleFailure(
                "amount_range",
                f"Amount {format_kes(principal_cents)} is outside this product's range "
                f"{format_kes(spec.min_amount_cents)} to {format_kes(spec.max_amount_cents)}",
            )
        )
    if not spec.min_term <= term <= spec.max_term:
        unit = "weeks" if spec.repayment_frequency == "weekly" else "months"
        failures.append(
            RuleFailure(
                "term_range",
                f"Term of {term} is outside this product's range of {spec.min_term} to {spec.max_term} {unit}",
            )
        )
    return failures


def _percent(ratio: Decimal) -> str:
    value = (ratio * 100).normalize()
    return format(value, "f") if value == value.to_integral() else format(value, "f").rstrip("0")
