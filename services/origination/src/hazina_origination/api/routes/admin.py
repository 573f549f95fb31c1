"""Admin: importing legacy records from an Excel or CSV file (the super admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from hazina_origination.api.deps import ApiDep, Importer, actor
from hazina_origination.application.legacy_import import import_legacy
from hazina_origination.domain.errors import InvalidInputError

router = APIRouter(prefix="/api/origination", tags=["admin"])


@router.post("/import")
def import_file(
    request: Request,
    principal: Importer,
    api: ApiDep,
    file: Annotated[UploadFile | None, File()] = None,
    dryRun: Annotated[bool, Query()] = False,  # noqa: N803 - query parameter name
) -> JSONResponse:
    if file is None:
        raise InvalidInputError("file is required (an .xlsx or .csv file)")
    rows = api.read_import_file(file.filename or "", file.file.read())
    who = actor(principal, request)
    report = import_legacy(
        rows, api.app, actor_id=who.user_id, correlation_id=who.correlation_id, dry_run=dryRun
    )
    counts = {"groups": report.groups, "clients": report.clients, "loans": report.loans}
    if report.errors:
        bad = len([e for e in report.errors if e["row"]])
        body: dict[str, Any] = {
            "message": f"Nothing was imported: {bad} row{'s' if bad != 1 else ''} need fixing"
            if bad
            else report.errors[0]["message"],
            "code": "import_rejected",
            "errors": report.errors,
            **counts,
        }
        return JSONResponse(body, status_code=400 if bad else 409)
    api.projection.catch_up()
    message = "File is valid; nothing was imported (dry run)" if dryRun else "Import complete"
    return JSONResponse({"message": message, "imported": not dryRun, **counts}, status_code=200)
