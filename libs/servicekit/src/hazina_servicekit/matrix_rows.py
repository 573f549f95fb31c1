# ruff: noqa: ARG005 - every setup takes (world, officer), whether it needs both or not
"""Rows every service's role matrix has, written once: its parked events and its open routes.

Each service mounts the same parked-events routes (``parking_api``) and the same health,
readiness and OpenAPI routes under its own prefix; only who may use the parked routes differs.
A service's ``tests/test_role_matrix.py`` spreads these rows into its ``MATRIX`` and keeps
writing its own rows for everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hazina_servicekit.testing import PUBLIC, Access, Call, parked_for_matrix

Row = tuple[Access, Callable[[Any, Any], Call]]


def parking_rows(
    prefix: str, *, read: Access, act: Access, lot: Callable[[Any], Any]
) -> dict[str, Row]:
    """The rows of ``/api/<prefix>/parked``: ``read`` may list and show, ``act`` may retry and skip.

    ``lot(world)`` finds the service's parking lot from the object its setups receive.
    """
    base = f"/api/{prefix}/parked"

    def one(world: Any) -> str:
        return f"{base}/{parked_for_matrix(lot(world))}"

    skip = {"json": {"reason": "checked by the role matrix"}}
    return {
        f"GET {base}": (read, lambda w, o: Call("GET", base)),
        f"GET {base}/{{parked_id}}": (read, lambda w, o: Call("GET", one(w))),
        f"POST {base}/{{parked_id}}/retry": (act, lambda w, o: Call("POST", f"{one(w)}/retry")),
        f"POST {base}/{{parked_id}}/skip": (act, lambda w, o: Call("POST", f"{one(w)}/skip", skip)),
    }


def open_rows(prefix: str) -> dict[str, Row]:
    """The rows of ``/api/<prefix>/health``, ``ready`` and ``openapi.json``: open to anyone."""
    return {
        f"GET {url}": (PUBLIC, _get(url))
        for url in (f"/api/{prefix}/{path}" for path in ("health", "ready", "openapi.json"))
    }


def _get(url: str) -> Callable[[Any, Any], Call]:
    return lambda w, o: Call("GET", url)
