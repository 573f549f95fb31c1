"""A service's OpenAPI document states the statuses servicekit really answers with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from hazina_servicekit.auth import Principal, PrincipalDep, require_roles
from hazina_servicekit.errors import add_error_handlers
from hazina_servicekit.http import add_http_middleware
from hazina_servicekit.openapi import document_real_answers, document_urls, error_response

Admin = Annotated[Principal, Depends(require_roles("admin"))]


class Note(BaseModel):
    text: str


def _app() -> FastAPI:
    app = FastAPI(**document_urls("notes"))
    add_http_middleware(app, cors_origins=[], max_body_bytes=10_000)
    add_error_handlers(app)
    router = APIRouter(prefix="/api/notes")

    @router.get("/public")
    def public() -> dict[str, str]:
        return {}

    @router.get("/{note_id}")
    def read(note_id: int, principal: PrincipalDep) -> dict[str, str]:
        return {}

    @router.post("", status_code=201)
    def write(body: Note, principal: Admin) -> dict[str, str]:
        return {}

    @router.post("/sign-in", responses={429: error_response(429)})
    def sign_in(body: Note) -> dict[str, str]:
        return {}

    app.include_router(router)
    document_real_answers(app)
    return app


def _responses(document: dict[str, Any], method: str, path: str) -> set[str]:
    return set(document["paths"][path][method]["responses"])


def test_the_document_is_served_under_the_services_prefix_and_never_says_422() -> None:
    with TestClient(_app()) as client:
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404
        document = client.get("/api/notes/openapi.json").json()
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert all("422" not in op["responses"] for op in operations)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["message"]


def test_statuses_follow_from_what_a_route_is() -> None:
    document = _app().openapi()
    assert _responses(document, "get", "/api/notes/public") == {"200"}
    # 503: a token route's service may not be able to judge tokens yet (revocations loading).
    assert _responses(document, "get", "/api/notes/{note_id}") == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "503",
    }
    assert _responses(document, "post", "/api/notes") == {
        "201",
        "400",
        "401",
        "403",
        "404",
        "409",
        "503",
    }
    assert _responses(document, "post", "/api/notes/sign-in") == {"200", "400", "409", "429"}
    error = document["paths"]["/api/notes/{note_id}"]["get"]["responses"]["401"]
    assert error["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert document["paths"]["/api/notes/{note_id}"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in document["paths"]["/api/notes/public"]["get"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_a_validation_error_is_the_documented_400() -> None:
    with TestClient(_app()) as client:
        answer = client.post("/api/notes/sign-in", json={"text": 5})
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error"
