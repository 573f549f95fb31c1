"""The edge audit: every string and date a route accepts must be one of the checked types.

Validation at the edge only holds if no route forgets it. ``unchecked_inputs(app)`` walks every
route of a FastAPI app (path, query, header, cookie and body parameters, dependencies, request
body models recursively) and names each input that is a bare ``str`` (not ``PlainText`` or
``MultilineText``), a bare ``date``/``datetime`` (not ``IsoDate``/``IsoDateTime``), or ``Any``.
Each service's tests assert it finds nothing, so a new route cannot skip the rule.

Stricter types (``Literal``, ``Enum``, ``UUID``, numbers, booleans, money types) pass as they are.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterator, Mapping, Sequence
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from pydantic import AwareDatetime, BaseModel, NaiveDatetime

from hazina_servicekit.dates import DateRule
from hazina_servicekit.text import TextRule

_CONTAINERS = (list, set, frozenset, tuple, dict, Sequence, Mapping)


def _params(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    for kind in ("path", "query", "header", "cookie", "body"):
        for field in getattr(dependant, f"{kind}_params"):
            yield kind, field
    for sub in dependant.dependencies:
        yield from _params(sub)


def _audit(
    annotation: Any, metadata: tuple[Any, ...], where: str, seen: set[type]
) -> Iterator[str]:
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *extra = get_args(annotation)
        yield from _audit(inner, (*metadata, *extra), where, seen)
        return
    if origin is Union or origin is types.UnionType:
        for arm in get_args(annotation):
            yield from _audit(arm, metadata, where, seen)
        return
    if origin is Literal or annotation is type(None):
        return
    if origin in _CONTAINERS or annotation in _CONTAINERS:
        for index, arg in enumerate(get_args(annotation)):
            if arg is not Ellipsis:
                suffix = "[key]" if origin in (dict, Mapping) and index == 0 else "[]"
                yield from _audit(arg, (), where + suffix, seen)
        if not get_args(annotation):
            yield f"{where}: an untyped {getattr(annotation, '__name__', annotation)}"
        return
    if annotation is Any or annotation is object:
        yield f"{where}: accepts anything (Any); give it a checked type"
        return
    if not isinstance(annotation, type):
        return
    if issubclass(annotation, Enum):
        return
    if issubclass(annotation, str):
        if not any(isinstance(m, TextRule) for m in metadata):
            yield f"{where}: a bare str; use PlainText or MultilineText"
        return
    if issubclass(annotation, dt.date | dt.time) or annotation in (AwareDatetime, NaiveDatetime):
        if not any(isinstance(m, DateRule) for m in metadata):
            yield f"{where}: a bare {annotation.__name__}; use IsoDate or IsoDateTime"
        return
    if issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for name, field in annotation.model_fields.items():
            yield from _audit(field.annotation, tuple(field.metadata), f"{where}.{name}", seen)


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route as served, included routers' prefixes and dependencies applied."""
    contexts = getattr(routing, "iter_route_contexts", None)
    if contexts is None:  # FastAPI before included-router contexts: the routes are flat
        yield from (r for r in app.routes if isinstance(r, routing.APIRoute))
        return
    for context in contexts(app.routes):
        if isinstance(context.original_route, routing.APIRoute):
            yield context


def unchecked_inputs(app: FastAPI, *, skip_path_prefixes: tuple[str, ...] = ()) -> list[str]:
    """Every request input of ``app`` that is not a checked text or date type (empty when none)."""
    found: list[str] = []
    routes = list(_api_routes(app))
    if not routes:
        raise AssertionError("the app has no API routes to audit")
    for route in routes:
        if route.path.startswith(skip_path_prefixes):
            continue
        methods = ",".join(sorted(route.methods or ()))
        for kind, field in _params(route.dependant):
            where = f"{methods} {route.path} {kind} {field.alias}"
            info = field.field_info
            found.extend(_audit(info.annotation, tuple(info.metadata), where, set()))
    return sorted(set(found))
