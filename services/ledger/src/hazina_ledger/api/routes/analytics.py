"""Staff analytics for the frontend's dashboard and ``/analytics`` page (administrators only).

Every figure is computed from the ledger's projections and what it learned from origination's and
identity's events; the definitions are in the ledger's README ("Analytics").
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hazina_ledger.api.deps import AnalystDep, ApiDep

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

RangeDays = Annotated[int, Query(ge=1, le=3660, description="days back from today")]


def _since(api: ApiDep, days: int) -> dt.date:
    return api.ledger.today() - dt.timedelta(days=days)


@router.get("/overview")
def overview(actor: AnalystDep, api: ApiDep) -> dict[str, Any]:
    api.fresh()
    return api.analytics.overview(api.ledger.today())


@router.get("/portfolio")
def portfolio(actor: AnalystDep, api: ApiDep) -> dict[str, Any]:
    api.fresh()
    return api.analytics.portfolio()


@router.get("/demographics")
def demographics(actor: AnalystDep, api: ApiDep, range: RangeDays = 365) -> dict[str, Any]:
    return api.analytics.demographics()


@router.get("/repayments")
def repayments(actor: AnalystDep, api: ApiDep, range: RangeDays = 30) -> dict[str, Any]:
    api.fresh()
    return api.analytics.repayments(_since(api, range))


@router.get("/loan-performance")
def loan_performance(
    actor: AnalystDep,
    api: ApiDep,
    vintageMonths: Annotated[int, Query(ge=1, le=120)] = 12,  # noqa: N803 - the frontend's name
) -> dict[str, Any]:
    api.fresh()
    return api.analytics.loan_performance(api.ledger.today(), vintageMonths)


@router.get("/officers")
def officers(actor: AnalystDep, api: ApiDep, range: RangeDays = 30) -> dict[str, Any]:
    api.fresh()
    return api.analytics.officers(_since(api, range))


@router.get("/risk")
def risk(actor: AnalystDep, api: ApiDep, range: RangeDays = 365) -> dict[str, Any]:
    api.fresh()
    return api.analytics.risk(api.ledger.today(), _since(api, range))
