"""Borrowers: onboarded by their group's officer with a photo, approved by an admin."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from hazina_contracts.money import kes_json
from hazina_origination.api.deps import (
    ApiDep,
    Onboarder,
    RecordApprover,
    RecordEditor,
    Staff,
    actor,
    scope_of,
)
from hazina_origination.api.routes.groups import _statuses
from hazina_origination.api.schemas import ClientEditRequest
from hazina_origination.api.views import (
    assessment_view,
    client_view,
    guarantor_view,
    loan_view,
)
from hazina_origination.application.commands import EditClient, OnboardClient
from hazina_origination.application.ports import ListQuery
from hazina_origination.domain.errors import InvalidInputError, NotFoundError
from hazina_origination.domain.photo import PhotoTooLargeError
from hazina_servicekit.auth import Principal
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/clients", tags=["clients"])

Text = Annotated[PlainText, Form(max_length=200)]


def _visible(api: ApiDep, client_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    row = api.fresh().client(client_id)
    scope = scope_of(principal)
    if row is None or (scope is not None and row["owner_id"] != scope):
        raise NotFoundError("Client not found")
    return row


def read_photo(upload: UploadFile | None, max_bytes: int, field: str = "photo") -> bytes:
    """The uploaded bytes, reading no more than one byte past the limit."""
    if upload is None:
        raise InvalidInputError(f"{field} is required")
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PhotoTooLargeError(f"{field} is larger than {max_bytes // (1024 * 1024)} MB")
    if not data:
        raise InvalidInputError(f"{field} is required")
    return data


@router.post("", status_code=201)
@router.post("/onboard", status_code=201)
def onboard_client(
    request: Request,
    principal: Onboarder,
    api: ApiDep,
    name: Text,
    nationalId: Text,  # noqa: N803 - the seed's form field names
    phone: Text,
    residence: Text,
    businessType: Text,  # noqa: N803
    businessLocation: Text,  # noqa: N803
    nextOfKinName: Text,  # noqa: N803
    nextOfKinPhone: Text,  # noqa: N803
    nextOfKinRelationship: Text,  # noqa: N803
    groupId: Annotated[PlainText | None, Form(max_length=64)] = None,  # noqa: N803 - optional
    branchId: Annotated[PlainText | None, Form(max_length=64)] = None,  # noqa: N803
    photo: Annotated[UploadFile | None, File()] = None,
) -> dict[str, Any]:
    data = read_photo(photo, api.app.max_photo_bytes)
    client = api.app.onboard_client(
        OnboardClient(
            name=name,
            national_id=nationalId,
            phone=phone,
            residence=residence,
            business_type=businessType,
            business_location=businessLocation,
            next_of_kin_name=nextOfKinName,
            next_of_kin_phone=nextOfKinPhone,
            next_of_kin_relationship=nextOfKinRelationship,
            group_id=_group_id(groupId),
            branch_id=(branchId or "").strip() or None,
            photo=data,
        ),
        actor(principal, request),
    )
    return {
        "message": "Client onboarded successfully",
        "client": client_view(_visible(api, client.id, principal), links=api.links),
    }


@router.get("")
def list_clients(
    response: Response,
    principal: Staff,
    api: ApiDep,
    page: PageDep,
    status: Annotated[PlainText | None, Query(max_length=100)] = None,
    groupId: uuid.UUID | None = None,  # noqa: N803
    search: Annotated[PlainText | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    rows, total = api.fresh().clients(
        ListQuery(
            officer_id=scope_of(principal),
            offset=page.offset,
            limit=page.limit,
            search=search,
            status=_statuses(status),
            group_id=groupId,
        )
    )
    set_total(response, total)
    return [client_view(row, links=api.links) for row in rows]


@router.get("/{client_id}")
def get_client(client_id: uuid.UUID, principal: Staff, api: ApiDep) -> dict[str, Any]:
    """The client, with their loans, the guarantors of those loans, the loans they guarantee
    (``guarantees``), assessments, repayments and savings movements (all from local projections)."""
    row = _visible(api, client_id, principal)
    read = api.read_models
    loans, _ = read.loans(ListQuery(client_id=client_id))
    guarantees, _ = read.guarantors(ListQuery(client_id=client_id))
    view = client_view(row, links=api.links)
    view["loans"] = [loan_view(loan) for loan in loans]
    view["assessments"] = [
        assessment_view(a)
        for loan in loans
        if loan["assessment_id"]
        for a in [read.assessment_of(loan["loan_id"])]
        if a
    ]
    view["guarantees"] = [guarantor_view(g, links=api.links) for g in guarantees]
    view["guarantors"] = [
        guarantor_view(g, links=api.links)
        for loan in loans
        for g in read.guarantors(ListQuery(loan_id=loan["loan_id"]))[0]
    ]
    view["repayments"] = [
        {
            "_id": r["receipt"],
            "loanId": str(r["loan_id"]),
            "amount_cents": int(r["amount_cents"]),
            "amount": kes_json(int(r["amount_cents"])),
            "method": r["payment_method"],
            "status": "reversed" if r["reversed_at"] else "posted",
            "createdAt": r["occurred_at"].isoformat(),
        }
        for r in read.client_repayments(client_id)
    ]
    view["savingsHistory"] = [
        {
            "_id": m["transaction_id"],
            "amount_cents": int(m["change_cents"]),
            "amountKES": kes_json(int(m["change_cents"])),
            "balanceAfter": int(m["balance_cents"]),
            "notes": m["reason"],
            "createdAt": m["occurred_at"].isoformat(),
        }
        for m in read.savings_history(client_id)
    ]
    return view


@router.put("/{client_id}")
def edit_client(
    client_id: uuid.UUID,
    body: ClientEditRequest,
    request: Request,
    principal: RecordEditor,
    api: ApiDep,
) -> dict[str, Any]:
    """Change the details sent (``groupId`` adds the client to a group), or ``status``
    active|rejected (Pending Approvals); sending what is already so records nothing."""
    api.app.edit_client(
        client_id, EditClient(fields=body.fields(), status=body.status), actor(principal, request)
    )
    return client_view(_visible(api, client_id, principal), links=api.links)


def _group_id(text: str | None) -> uuid.UUID | None:
    """The new-client page sends "" when no group was chosen: the client joins one later."""
    if text is None or not text.strip():
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise InvalidInputError("groupId must be a group's id") from None


@router.put("/{client_id}/approve")
def approve_client(
    client_id: uuid.UUID, request: Request, principal: RecordApprover, api: ApiDep
) -> dict[str, Any]:
    api.app.approve_client(client_id, actor(principal, request))
    return client_view(_visible(api, client_id, principal), links=api.links)
