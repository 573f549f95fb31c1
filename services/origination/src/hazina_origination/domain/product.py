"""Loan products: the terms and eligibility rules a loan is initiated on.

A product can be revised; a loan keeps a snapshot of the terms it was initiated (and so
approved) on, so a revision only reaches loans initiated afterwards.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from hazina_contracts.money import MoneyParseError, parse_plain_decimal
from hazina_origination.domain.errors import InvalidInputError

INTEREST_METHODS = ("flat", "declining_equal_instalments", "declining_equal_principal")
RATE_PERIODS = ("month", "year")
FREQUENCIES = ("weekly", "monthly")
ALLOCATIONS = ("interest_principal_per_instalment",)
FEE_KINDS = ("flat", "percent")
MAX_TERM = 520  # ten years of weekly instalments


def _decimal(value: object, name: str, *, places: int | None = None) -> Decimal:
    """A rate, ratio or fee value, read by the one bounded decimal parser (no exponents, no
    separators, nothing long enough to make Decimal work hard)."""
    try:
        return parse_plain_decimal(
            value, what=name, max_places=places if places is not None else 12, allow_negative=True
        )
    except MoneyParseError as exc:
        raise InvalidInputError(str(exc)) from None


def _text(number: Decimal) -> str:
    """A canonical decimal string: '4.5', '0.2', '1' (never '4.50' vs '4.5' ambiguity, never 1E+1)."""
    normal = number.normalize()
    return (
        format(normal, "f") if normal == normal.to_integral() else format(normal, "f").rstrip("0")
    )


@dataclass(frozen=True)
class Fee:
    name: str
    kind: str
    value: str  # KES for flat fees, percent of principal for percent fees

    @classmethod
    def parse(cls, raw: Any, index: int) -> Fee:
        if not isinstance(raw, dict):
            raise InvalidInputError(f"fees[{index}] must be an object with name, kind and value")
        name = str(raw.get("name") or "").strip()
        kind = str(raw.get("kind") or "").strip()
        if not name:
            raise InvalidInputError(f"fees[{index}].name is required")
        if kind not in FEE_KINDS:
            raise InvalidInputError(f"fees[{index}].kind must be flat or percent")
        value = _decimal(
            raw.get("value"), f"fees[{index}].value", places=2 if kind == "flat" else 4
        )
        if value < 0 or (kind == "percent" and value > 100):
            raise InvalidInputError(f"fees[{index}].value is out of range")
        return cls(name=name, kind=kind, value=_text(value))

    def cents_on(self, principal_cents: int) -> int:
        if self.kind == "flat":
            return int(Decimal(self.value) * 100)
        share = Decimal(principal_cents) * Decimal(self.value) / 100
        return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ProductSpec:
    """Everything a product says, validated and normalised; built from a request or an event."""

    name: str
    type: str
    interest_method: str
    interest_rate_percent: str
    interest_rate_period: str
    repayment_frequency: str
    min_amount_cents: int
    max_amount_cents: int
    min_term: int
    max_term: int
    instalment_multiple_of: str = "0.01"
    fees: tuple[Fee, ...] = ()
    allocation: str = "interest_principal_per_instalment"
    min_savings_ratio: str = "0.2"
    require_prior_repaid_loan: bool = True
    require_signatories: bool = True
    max_open_loans: int = 1
    active: bool = True

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInputError("name is required")
        if not self.type.strip():
            raise InvalidInputError("type is required")
        _choice(self.interest_method, INTEREST_METHODS, "interestMethod")
        _choice(self.interest_rate_period, RATE_PERIODS, "interestRatePeriod")
        _choice(self.repayment_frequency, FREQUENCIES, "repaymentFrequency")
        _choice(self.allocation, ALLOCATIONS, "allocation")
        rate = _decimal(self.interest_rate_percent, "interestRate", places=4)
        if not Decimal(0) <= rate <= Decimal(100):
            raise InvalidInputError("interestRate must be between 0 and 100 percent")
        if self.min_amount_cents <= 0:
            raise InvalidInputError("minAmount must be greater than zero")
        if self.max_amount_cents < self.min_amount_cents:
            raise InvalidInputError("maxAmount must not be below minAmount")
        for name in ("min_term", "max_term", "max_open_loans"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInputError(f"{_camel(name)} must be a whole number")
        if not 1 <= self.min_term <= self.max_term <= MAX_TERM:
            raise InvalidInputError(f"terms must satisfy 1 <= minTerm <= maxTerm <= {MAX_TERM}")
        multiple = _decimal(self.instalment_multiple_of, "instalmentMultipleOf", places=2)
        if multiple <= 0 or multiple > 1000:
            raise InvalidInputError("instalmentMultipleOf must be between 0.01 and 1000")
        ratio = _decimal(self.min_savings_ratio, "minSavingsRatio", places=4)
        if not Decimal(0) <= ratio <= Decimal(10):
            raise InvalidInputError("minSavingsRatio must be between 0 and 10")
        if self.max_open_loans < 1:
            raise InvalidInputError("maxOpenLoans must be at least 1")
        object.__setattr__(self, "name", self.name.strip())
        object.__setattr__(self, "type", self.type.strip().lower())
        object.__setattr__(self, "interest_rate_percent", _text(rate))
        object.__setattr__(
            self, "instalment_multiple_of", format(multiple.quantize(Decimal("0.01")), "f")
        )
        object.__setattr__(self, "min_savings_ratio", _text(ratio))

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> ProductSpec:
        data = dict(fields)
        data["fees"] = tuple(
            fee if isinstance(fee, Fee) else Fee.parse(fee, i)
            for i, fee in enumerate(data.get("fees") or ())
        )
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise InvalidInputError(f"unknown product fields: {', '.join(sorted(unknown))}")
        return cls(**data)

    def revised(self, changes: dict[str, Any]) -> ProductSpec:
        current = self.as_fields()
        current.update(changes)
        return ProductSpec.from_fields(current)

    def as_fields(self) -> dict[str, Any]:
        data = asdict(self)
        data["fees"] = [asdict(fee) for fee in self.fees]
        return data

    @property
    def savings_ratio(self) -> Decimal:
        return Decimal(self.min_savings_ratio)

    def fees_cents(self, principal_cents: int) -> int:
        return sum(fee.cents_on(principal_cents) for fee in self.fees)

    def terms_for(self, product_id: uuid.UUID, term: int) -> dict[str, Any]:
        """The snapshot a loan keeps (shaped like the contract's ``LoanTerms``)."""
        return {
            "product_id": str(product_id),
            "product_name": self.name,
            "interest_method": self.interest_method,
            "interest_rate_percent": self.interest_rate_percent,
            "interest_rate_period": self.interest_rate_period,
            "repayment_frequency": self.repayment_frequency,
            "term": term,
            "instalment_multiple_of": self.instalment_multiple_of,
            "fees": [asdict(fee) for fee in self.fees],
            "allocation": self.allocation,
        }


def _choice(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise InvalidInputError(f"{name} must be one of: {', '.join(allowed)}")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class LoanProduct(Aggregate):
    """A product and its revisions; ``spec`` is the current version."""

    TOPIC = "hazina.origination.LoanProduct"

    class Created(Aggregate.Created):
        TOPIC = "hazina.origination.LoanProduct.Created"

    @event("Defined", topic="hazina.origination.LoanProduct.Defined")
    def __init__(
        self, *, spec: dict[str, Any], created_by: uuid.UUID | None, correlation_id: str | None
    ) -> None:
        self.spec_fields = dict(spec)
        self.revision = 1

    @property
    def spec(self) -> ProductSpec:
        return ProductSpec.from_fields(self.spec_fields)

    def revise(self, changes: dict[str, Any], *, by: uuid.UUID, correlation_id: str | None) -> bool:
        new = self.spec.revised(changes)
        new_fields = new.as_fields()
        changed = {k: v for k, v in new_fields.items() if self.spec_fields.get(k) != v}
        if not changed:
            return False
        self._revised(changes=changed, revised_by=by, correlation_id=correlation_id)
        return True

    @event("Revised", topic="hazina.origination.LoanProduct.Revised")
    def _revised(
        self, changes: dict[str, Any], revised_by: uuid.UUID, correlation_id: str | None
    ) -> None:
        self.spec_fields.update(changes)
        self.revision += 1


# Events stored before topics were pinned name this class (and theirs) by module path.
register_topic("hazina_origination.domain.product:LoanProduct", LoanProduct)
