"""Schedule preview: the exact schedule a loan would get, for quotes and cost-of-credit disclosure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter

from hazina_ledger.api.deps import ApiDep, ReaderDep
from hazina_ledger.api.schemas import SchedulePreviewRequest
from hazina_ledger.domain.allocation import parse_strategy
from hazina_ledger.domain.errors import InvalidRequestError, NotFoundError
from hazina_ledger.domain.schedule import Schedule, build_schedule, effective_rate_per_period
from hazina_ledger.domain.terms import kes_to_cents, schedule_terms

router = APIRouter(prefix="/api/schedules", tags=["schedules"])


def instalment_view(i: Any) -> dict[str, Any]:
    return {
        "number": i.number,
        "dueDate": i.due_on.isoformat(),
        "principal_cents": i.principal_cents,
        "interest_cents": i.interest_cents,
        "fee_cents": i.fee_cents,
        "total_cents": i.total_cents,
    }


def totals_view(schedule: Schedule) -> dict[str, Any]:
    return {
        "principal_cents": schedule.principal_cents,
        "interest_cents": schedule.interest_cents,
        "fee_cents": schedule.fee_cents,
        "total_cents": schedule.total_cents,
        "cost_of_credit_cents": schedule.interest_cents + schedule.fee_cents,
        "instalments": len(schedule.instalments),
        "maturityDate": schedule.maturity_on.isoformat(),
    }


@router.post("/preview")
def preview(body: SchedulePreviewRequest, actor: ReaderDep, api: ApiDep) -> dict[str, Any]:
    conventions = api.inbox.conventions
    if body.product is not None:
        spec = body.product
        stored: dict[str, Any] = {
            "interest_method": spec.interest_method,
            "interest_rate_percent": spec.interest_rate_percent,
            "interest_rate_period": spec.interest_rate_period,
            "repayment_frequency": spec.repayment_frequency,
            "instalment_multiple_of_cents": kes_to_cents(
                spec.instalment_multiple_of, "instalmentMultipleOf"
            ),
            "fees": [f.model_dump() for f in spec.fees],
            "rounding": spec.rounding or conventions.rounding,
            "weekly_month_convention": spec.weekly_month_convention
            or conventions.weekly_month_convention,
        }
        strategy = parse_strategy(spec.allocation).value
    elif body.productId is not None:
        known = api.fresh().product_terms(body.productId)
        if known is None:
            raise NotFoundError(
                "The ledger has not seen this product yet; send the product's fields instead"
            )
        stored, strategy = dict(known["terms"]), known["strategy"]
    else:
        raise InvalidRequestError("give productId or product")
    stored["term"] = body.term
    disbursed_on = body.disbursedOn or api.ledger.today()
    schedule = build_schedule(body.amount, disbursed_on, schedule_terms(stored))
    return {
        "disbursedOn": disbursed_on.isoformat(),
        "instalments": [instalment_view(i) for i in schedule.instalments],
        "totals": totals_view(schedule),
        "nominalRatePerPeriod": str(
            (
                Decimal(schedule.rate_per_period.numerator) / schedule.rate_per_period.denominator
            ).quantize(Decimal("0.00000001"))
        ),
        "effectiveRatePerPeriod": str(effective_rate_per_period(schedule)),
        "allocation": strategy,
        "rounding": stored.get("rounding"),
    }
