"""Photos: served to signed-in staff only, and uploaded (images only) for guarantors' documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse

from hazina_origination.api.deps import ApiDep, Staff
from hazina_origination.api.routes.clients import read_photo
from hazina_origination.domain.errors import NotFoundError
from hazina_origination.domain.photo import check_photo
from hazina_servicekit.text import PlainText

router = APIRouter(tags=["uploads"])


@router.get("/uploads/{name}")
def uploaded_file(name: PlainText, principal: Staff, api: ApiDep) -> FileResponse:
    path = api.photos.path_of(name)
    if path is None:
        raise NotFoundError("File not found")
    return FileResponse(
        path,
        media_type=api.photos.media_type(name),
        headers={
            "Cache-Control": "private, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/api/upload", status_code=201)
def upload(
    principal: Staff, api: ApiDep, file: Annotated[UploadFile | None, File()] = None
) -> dict[str, str]:
    data = read_photo(file, api.app.max_photo_bytes, field="file")
    name = api.photos.save(data, check_photo(data, max_bytes=api.app.max_photo_bytes))
    return {"url": f"/uploads/{name}", "message": "File uploaded"}
