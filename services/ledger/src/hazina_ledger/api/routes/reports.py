"""Portfolio report: outstanding principal, disbursed and collected, PAR, aging, default rate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hazina_ledger.api.deps import ApiDep, ReaderDep, scope_of
from hazina_ledger.domain.errors import InvalidRequestError
from hazina_servicekit.dates import IsoDate

router = APIRouter(prefix="/api/reports", tags=["reports"])


@router.get("/portfolio")
def portfolio(
    actor: ReaderDep,
    api: ApiDep,
    asOf: Annotated[IsoDate | None, Query()] = None,  # noqa: N803 - the API's names
    from_: Annotated[IsoDate | None, Query(alias="from")] = None,
    to: Annotated[IsoDate | None, Query()] = None,
) -> dict[str, Any]:
    as_of = asOf or api.ledger.today()
    period_to = to or as_of
    period_from = from_ or period_to.replace(day=1)
    if period_from > period_to:
        raise InvalidRequestError("from must not be after to")
    # A loan officer's report covers their own loans only (byOfficer then holds just them).
    report = api.fresh().portfolio(as_of, period_from, period_to, scope_of(actor))
    return {
        "asOf": as_of.isoformat(),
        "period": {"from": period_from.isoformat(), "to": period_to.isoformat()},
        "parDefinition": "PAR_x: outstanding principal of loans more than x days past due (PAR1: at least 1) "
        "over gross outstanding principal; written-off loans excluded",
        "defaultedAfterDays": api.views.arrears_policy.defaulted_after_days,
        **report,
    }
