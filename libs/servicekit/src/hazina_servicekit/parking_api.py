"""``/api/<service>/parked``: staff list what could not be applied, and retry or skip it.

- ``GET  /api/<service>/parked[?status=parked|retried|skipped&source=&page=&limit=]``
- ``GET  /api/<service>/parked/{id}``
- ``POST /api/<service>/parked/{id}/retry``: 200 when it applied (with the events that waited
  behind it); 409 ``still_failing`` when it still cannot be applied (it stays parked with the new
  error); 409 when it waits behind another parked event.
- ``POST /api/<service>/parked/{id}/skip`` ``{"reason": "..."}``: 200, it is left out for good.

Retrying or skipping an event that is no longer parked answers 409 ``already_retried`` /
``already_skipped`` and changes nothing, so a double click or a replayed request is harmless.
Every retry and skip is recorded as an event in the service's store (see ``parking``).
"""

# No "from __future__ import annotations": the routes use aliases local to the factory,
# which FastAPI must see as objects, not as names it cannot resolve.

import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hazina_servicekit.auth import Principal, require_roles
from hazina_servicekit.errors import NotFound, ServiceError
from hazina_servicekit.openapi import error_response
from hazina_servicekit.pagination import PageDep, set_total
from hazina_servicekit.parking import ParkingError, ParkingLot, Resolution
from hazina_servicekit.text import MultilineText, PlainText


class SkipRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: MultilineText = Field(min_length=1, max_length=500)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError("reason must not be blank")
        return text


def _outcome(resolution: Resolution, message: str) -> dict[str, Any]:
    return {
        "message": message,
        **resolution.row.view(),
        "released": [r.view() for r in resolution.released],
    }


def _refused(message: str, status: int, code: str) -> ServiceError:
    error = ServiceError(message, code=code)
    error.status = status
    return error


def parked_events_router(
    service: str,
    *,
    readers: Sequence[str],
    resolvers: Sequence[str],
    lot_of: Callable[[Request], ParkingLot],
) -> APIRouter:
    """The routes, for the roles given (deny unless listed); ``lot_of`` finds the service's lot."""
    router = APIRouter(prefix=f"/api/{service}/parked", tags=["parked events"])
    may_read = Depends(require_roles(*readers))
    may_resolve = Depends(require_roles(*resolvers))
    parking = Depends(lot_of)

    @router.get("")
    def list_parked(
        response: Response,
        page: PageDep,
        actor: Principal = may_read,
        lot: ParkingLot = parking,
        status: Literal["parked", "retried", "skipped"] | None = None,
        source: Annotated[PlainText | None, Query(max_length=100)] = None,
    ) -> list[dict[str, Any]]:
        rows, total = lot.find(status=status, source=source, limit=page.limit, offset=page.offset)
        set_total(response, total)
        return [row.view() for row in rows]

    @router.get("/{parked_id}")
    def get_parked(
        parked_id: uuid.UUID, actor: Principal = may_read, lot: ParkingLot = parking
    ) -> dict[str, Any]:
        row = lot.get(parked_id)
        if row is None:
            raise NotFound("Parked event not found")
        return row.view()

    busy: dict[int | str, dict[str, Any]] = {
        503: error_response(503, "The database is busy, or the source is not running here")
    }

    @router.post("/{parked_id}/retry", responses=busy)
    def retry_parked(
        parked_id: uuid.UUID, actor: Principal = may_resolve, lot: ParkingLot = parking
    ) -> dict[str, Any]:
        try:
            resolution = lot.retry(parked_id, by=actor.user_id)
        except ParkingError as exc:
            raise _refused(str(exc), exc.status, exc.code) from None
        if not resolution.applied:
            raise _refused(
                f"It still cannot be applied ({resolution.error}); it stays parked",
                409,
                "still_failing",
            )
        return _outcome(resolution, "Applied")

    @router.post("/{parked_id}/skip", responses=busy)
    def skip_parked(
        parked_id: uuid.UUID,
        body: SkipRequest,
        actor: Principal = may_resolve,
        lot: ParkingLot = parking,
    ) -> dict[str, Any]:
        try:
            resolution = lot.skip(parked_id, by=actor.user_id, reason=body.reason)
        except ParkingError as exc:
            raise _refused(str(exc), exc.status, exc.code) from None
        return _outcome(resolution, "Skipped")

    return router
