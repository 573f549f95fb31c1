"""Staff and a borrower's USSD access: unlock it, and see the limit with its breakdown."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hazina_contracts.money import KesNumber
from hazina_servicekit.errors import NotFound
from hazina_ussd.api.deps import AdminDep, ApiDep, StaffDep
from hazina_ussd.application.ussd import NotFoundError

router = APIRouter(prefix="/api/ussd/borrowers", tags=["borrowers"])


class Unlocked(BaseModel):
    clientId: uuid.UUID  # noqa: N815
    unlocked: bool


class LimitTermView(BaseModel):
    name: str
    amountKes: KesNumber  # noqa: N815
    amountCents: int  # noqa: N815


class LimitView(BaseModel):
    clientId: uuid.UUID  # noqa: N815
    limitKes: KesNumber  # noqa: N815
    limitCents: int  # noqa: N815
    cappedBy: str | None  # noqa: N815
    terms: list[LimitTermView]
    savingsCents: int  # noqa: N815
    repaidOnTime: int  # noqa: N815
    repaidLate: int  # noqa: N815
    defaulted: int
    daysInArrears: int  # noqa: N815
    cyclesCompleted: int  # noqa: N815


@router.post("/{clientId}/unlock", response_model=Unlocked)
async def unlock(clientId: uuid.UUID, api: ApiDep, staff: AdminDep) -> Unlocked:  # noqa: N803
    """Give a borrower locked out by three wrong PINs their USSD back (an event)."""
    try:
        done = await run_in_threadpool(api.ussd.unlock, clientId, staff.user_id)
    except NotFoundError as exc:
        raise NotFound(str(exc)) from None
    return Unlocked(clientId=clientId, unlocked=done)


@router.get("/{clientId}/limit", response_model=LimitView)
async def limit(clientId: uuid.UUID, api: ApiDep, staff: StaffDep) -> LimitView:  # noqa: N803
    """The borrower's limit and each term of the formula that gave it."""
    client = await run_in_threadpool(api.ussd.directory.client, clientId)
    # Origination's rule, as every service applies it: a loan officer sees the clients of their
    # groups (a group handed to another officer takes its members along).
    visible = await run_in_threadpool(api.ownership.may_see_client, staff, clientId)
    if client is None or not visible:
        raise NotFound(f"No client {clientId}")
    view = await run_in_threadpool(api.ussd.limit_of, clientId)
    history = view.history
    return LimitView(
        clientId=clientId,
        limitKes=view.limit.limit_cents,
        limitCents=view.limit.limit_cents,
        cappedBy=view.limit.capped_by,
        terms=[
            LimitTermView(name=t.name, amountKes=t.cents, amountCents=t.cents)
            for t in view.limit.terms
        ],
        savingsCents=history.savings_cents,
        repaidOnTime=history.repaid_on_time,
        repaidLate=history.repaid_late,
        defaulted=history.defaulted,
        daysInArrears=history.days_in_arrears,
        cyclesCompleted=history.cycles_completed,
    )
