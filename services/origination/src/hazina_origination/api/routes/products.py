"""Loan products: the super admin defines and revises them; everyone reads them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hazina_origination.api.deps import ApiDep, ProductAdmin, Staff, actor
from hazina_origination.api.schemas import ProductCreateRequest, ProductFields
from hazina_origination.api.views import product_view
from hazina_origination.application.ports import ListQuery
from hazina_origination.domain.errors import NotFoundError
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.text import PlainText

router = APIRouter(prefix="/api/loan-products", tags=["loan products"])


def _view(api: ApiDep, product_id: uuid.UUID) -> dict[str, Any]:
    row = api.fresh().product(product_id)
    if row is None:
        raise NotFoundError("Loan product not found")
    return product_view(row)


@router.post("", status_code=201)
def create_product(
    body: ProductCreateRequest, request: Request, principal: ProductAdmin, api: ApiDep
) -> dict[str, Any]:
    product = api.app.define_product(body.domain_fields(), actor(principal, request))
    return _view(api, product.id)


@router.get("")
def list_products(
    response: Response,
    principal: Staff,
    api: ApiDep,
    page: PageDep,
    type: Annotated[PlainText | None, Query(max_length=40)] = None,
    search: Annotated[PlainText | None, Query(max_length=100)] = None,
) -> list[dict[str, Any]]:
    rows, total = api.fresh().products(
        ListQuery(
            offset=page.offset,
            limit=page.limit,
            search=search,
            product_type=type.strip().lower() if type else None,
        )
    )
    set_total(response, total)
    return [product_view(row) for row in rows]


@router.get("/{product_id}")
def get_product(product_id: uuid.UUID, principal: Staff, api: ApiDep) -> dict[str, Any]:
    return _view(api, product_id)


@router.patch("/{product_id}")
def revise_product(
    product_id: uuid.UUID,
    body: ProductFields,
    request: Request,
    principal: ProductAdmin,
    api: ApiDep,
) -> dict[str, Any]:
    api.app.revise_product(product_id, body.domain_fields(), actor(principal, request))
    return _view(api, product_id)
