"""Each service's OpenAPI document, served at ``/api/<service>/openapi.json`` and telling the truth.

FastAPI documents a 422 for every request it validates; servicekit answers those with a 400 in
the error model. It also knows nothing of the statuses a route's dependencies and domain errors
produce. ``document_real_answers`` rewrites the generated document after the routes are in: no
422, and the error model's 400/401/403/404/409 wherever a route can answer them, worked out from
what the route is (its parameters, its method, its auth dependency). A route declares anything
else itself with ``responses=``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from hazina_servicekit.auth import current_principal

ERROR_SCHEMA_NAME = "ErrorBody"
ERROR_SCHEMA: dict[str, Any] = {
    "title": ERROR_SCHEMA_NAME,
    "description": "Every 4xx and 5xx answer: a message a person can read, and a stable code.",
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "description": "Per-field (or per-rule) details, when there are several.",
            "type": "array",
            "items": {"type": "object"},
        },
    },
}
BEARER_SCHEME = "bearerAuth"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DESCRIPTIONS = {
    400: "Bad input: the request does not validate, or a business rule refuses it",
    401: "No access token, or an invalid, expired or revoked one",
    403: "The caller's role may not do this",
    404: "No such record, or none the caller may see",
    409: "Conflicts with the record's current state",
    413: "The request body is too large",
    429: "Too many attempts; try again after Retry-After seconds",
    503: "A dependency is unavailable; try again shortly",
}


def document_urls(service: str) -> dict[str, Any]:
    """``FastAPI(**document_urls("ledger"))``: the document under the service's own prefix.

    The front door routes ``/api/<service>/*`` to the service, so the document is reachable
    there; no interactive docs page (it would load scripts from a CDN into an API origin).
    """
    return {"openapi_url": f"/api/{service}/openapi.json", "docs_url": None, "redoc_url": None}


def error_response(status: int, description: str | None = None) -> dict[str, Any]:
    """A ``responses=`` entry in the error model, for a status a route answers itself."""
    return {
        "description": description or DESCRIPTIONS.get(status, "Error"),
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}
        },
    }


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _api_routes(app: FastAPI) -> list[Any]:
    """Every API route as the document sees it: full path, methods, dependencies.

    FastAPI 0.16x keeps an included router whole and walks it through route contexts (which
    answer ``path_format``, ``methods`` and ``dependant`` for the route under its prefix);
    earlier versions copied each route into ``app.routes``.
    """
    contexts = getattr(routing, "iter_route_contexts", None)
    if contexts is None:
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [c for c in contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def _needs_a_token(route: Any) -> bool:
    return any(d.call is current_principal for d in _dependants(route.dependant))


def _has_parameters(route: Any) -> bool:
    return any(
        d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params
        for d in _dependants(route.dependant)
    )


def _has_path_parameters(route: Any) -> bool:
    return any(d.path_params for d in _dependants(route.dependant))


def statuses_for(route: Any, method: str) -> list[int]:
    """The error statuses a route can answer by what it is, whatever its handler does."""
    statuses = []
    if _has_parameters(route) or method in WRITE_METHODS:
        statuses.append(400)
    if _needs_a_token(route):
        # 503: the service cannot judge tokens yet (revocations loading, or NATS gone too long).
        statuses += [401, 403, 503]
    if _has_path_parameters(route) or (method in WRITE_METHODS and _needs_a_token(route)):
        # A staff write may also name records in its body (a loan, a client) that do not exist.
        statuses.append(404)
    if method in WRITE_METHODS:
        statuses.append(409)
    return statuses


def _rewrite(document: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    uses_tokens = False
    for route in routes:
        if not route.include_in_schema:
            continue
        path_item = document.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = path_item.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in statuses_for(route, method):
                responses.setdefault(str(status), error_response(status))
            if _needs_a_token(route):
                uses_tokens = True
                operation.setdefault("security", [{BEARER_SCHEME: []}])
    for name in ("HTTPValidationError", "ValidationError"):
        if not _referenced(document, f"#/components/schemas/{name}"):
            schemas.pop(name, None)
    if uses_tokens:
        document["components"].setdefault("securitySchemes", {})[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from identity's POST /api/auth/login",
        }
    return document


def _referenced(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        if node.get("$ref") == ref:
            return True
        return any(_referenced(value, ref) for key, value in node.items() if key != "schemas")
    if isinstance(node, list):
        return any(_referenced(value, ref) for value in node)
    return False


def document_real_answers(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so the served document) state the statuses servicekit answers.

    Call after every router is included; the document is built once, on first request.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                servers=app.servers,
            )
            app.openapi_schema = _rewrite(document, _api_routes(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
