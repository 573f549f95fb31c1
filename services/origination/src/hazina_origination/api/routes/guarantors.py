"""Guarantors of a loan: active clients other than the borrower, each accepting or declining."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hazina_origination.api.deps import ApiDep, GuarantorRecorder, Staff, actor, scope_of
from hazina_origination.api.routes.groups import _statuses
from hazina_origination.api.schemas import GuarantorRequest
from hazina_origination.api.upload_links import upload_name
from hazina_origination.api.views import guarantor_view
from hazina_origination.application.commands import AddGuarantor
from hazina_origination.application.ports import ListQuery
from hazina_origination.domain.client import normalise_national_id
from hazina_origination.domain.errors import InvalidInputError, NotFoundError
from hazina_servicekit.auth import Principal
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/guarantors", tags=["guarantors"])

# The frontend filters on "rejected"; origination records a guarantor's no as "declined".
GUARANTOR_FILTERS = {"rejected": "declined"}


def _view(api: ApiDep, guarantor_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    row = api.fresh().guarantor(guarantor_id)
    scope = scope_of(principal)
    if row is None or (scope is not None and row["loan_officer_id"] != scope):
        raise NotFoundError("Guarantor not found")
    return guarantor_view(row, links=api.links)


def _document(api: ApiDep, url: str | None, field: str) -> str | None:
    """The stored path of a document uploaded through ``POST /api/upload`` (its signed link or its
    path); a record keeps the path, never a link that expires, nor a URL elsewhere."""
    if url is None or not url.strip():
        return None
    name = upload_name(url)
    if name is None or api.photos.path_of(name) is None:
        raise InvalidInputError(f"{field} must be a URL returned by POST /api/upload")
    return f"/uploads/{name}"


@router.post("", status_code=201)
def add_guarantor(
    body: GuarantorRequest, request: Request, principal: GuarantorRecorder, api: ApiDep
) -> dict[str, Any]:
    client_id = body.clientId
    if client_id is None and body.guarantorClientNationalId:
        client_id = api.fresh().client_by_national_id(
            normalise_national_id(body.guarantorClientNationalId)
        )
        if client_id is None:
            raise NotFoundError(f"No client has national ID {body.guarantorClientNationalId}")
    if client_id is None:
        raise InvalidInputError("clientId is required")
    _, guarantor_id = api.app.add_guarantor(
        AddGuarantor(
            loan_id=body.loanId,
            client_id=client_id,
            relationship=body.relationship,
            id_copy_url=_document(api, body.idCopyUrl, "idCopyUrl"),
            photo_url=_document(api, body.photoUrl, "photoUrl"),
        ),
        actor(principal, request),
    )
    return _view(api, guarantor_id, principal)


@router.get("")
def list_guarantors(
    response: Response,
    principal: Staff,
    api: ApiDep,
    page: PageDep,
    loanId: uuid.UUID | None = None,  # noqa: N803 - the frontend's parameter names
    clientId: uuid.UUID | None = None,  # noqa: N803
    status: Annotated[PlainText | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    rows, total = api.fresh().guarantors(
        ListQuery(
            officer_id=scope_of(principal),
            offset=page.offset,
            limit=page.limit,
            loan_id=loanId,
            client_id=clientId,
            status=[GUARANTOR_FILTERS.get(s, s) for s in _statuses(status) or []] or None,
        )
    )
    set_total(response, total)
    return [guarantor_view(row, links=api.links) for row in rows]


@router.put("/{guarantor_id}/accept")
def accept_guarantor(
    guarantor_id: uuid.UUID, request: Request, principal: GuarantorRecorder, api: ApiDep
) -> dict[str, Any]:
    api.app.decide_guarantor(guarantor_id, accept=True, actor=actor(principal, request))
    return _view(api, guarantor_id, principal)


@router.put("/{guarantor_id}/decline")
@router.put("/{guarantor_id}/reject")
def decline_guarantor(
    guarantor_id: uuid.UUID, request: Request, principal: GuarantorRecorder, api: ApiDep
) -> dict[str, Any]:
    api.app.decide_guarantor(guarantor_id, accept=False, actor=actor(principal, request))
    return _view(api, guarantor_id, principal)
