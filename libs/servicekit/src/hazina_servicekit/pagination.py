"""The list convention: a bare JSON array, ``page`` and ``limit``, the total in ``X-Total-Count``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Response


@dataclass(frozen=True)
class PageRequest:
    page: int
    limit: int | None  # None: everything (staff dropdowns call lists without a limit)

    @property
    def offset(self) -> int:
        return 0 if self.limit is None else (self.page - 1) * self.limit


def _page_request(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> PageRequest:
    return PageRequest(page=page, limit=limit)


PageDep = Annotated[PageRequest, Depends(_page_request)]


def set_total(response: Response, total: int) -> None:
    response.headers["X-Total-Count"] = str(total)
