"""Liveness and readiness: ``GET /api/<service>/health`` and ``GET /api/<service>/ready``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

ReadinessCheck = Callable[[], Awaitable[bool]]


class Health(BaseModel):
    """The process answers (it says nothing of its database or broker)."""

    status: str
    service: str
    timestamp: str


class Readiness(Health):
    """Whether the service can do its work: each dependency's check, and why not when it cannot."""

    checks: dict[str, str]
    message: str | None = None


def add_readiness_check(app: FastAPI, name: str, check: ReadinessCheck) -> None:
    """A check ``/ready`` runs besides the service's own (servicekit helpers register theirs)."""
    if not hasattr(app.state, "readiness_checks"):
        app.state.readiness_checks = {}
    app.state.readiness_checks[name] = check


def health_payload(service: str) -> dict[str, str]:
    return {"status": "OK", "service": service, "timestamp": datetime.now(UTC).isoformat()}


def health_router(service: str, checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(f"/api/{service}/health", response_model=Health)
    async def health() -> dict[str, str]:
        return health_payload(service)

    @router.get(
        f"/api/{service}/ready",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "A dependency is failing"}},
    )
    async def ready(request: Request) -> JSONResponse:
        every = {**checks, **getattr(request.app.state, "readiness_checks", {})}
        results = await asyncio.gather(*(_safe(check) for check in every.values()))
        status = dict(zip(every.keys(), results, strict=True))
        ok = all(results)
        body = {
            **health_payload(service),
            "status": "OK" if ok else "UNAVAILABLE",
            "checks": {name: "ok" if passed else "failing" for name, passed in status.items()},
        }
        if not ok:
            body["message"] = "not ready: " + ", ".join(n for n, p in status.items() if not p)
        return JSONResponse(body, status_code=200 if ok else 503)

    return router


async def _safe(check: ReadinessCheck) -> bool:
    try:
        return await asyncio.wait_for(check(), timeout=3)
    except Exception:
        return False
