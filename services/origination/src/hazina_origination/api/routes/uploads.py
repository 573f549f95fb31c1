"""Photos and ID copies: uploaded by staff (images only, re-encoded), fetched by signed link.

``GET /uploads/<name>`` needs no token (``<img src>`` sends none) but a link the API signed
moments ago for a viewer allowed to see the client; nothing else opens a document.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse

from hazina_origination.api.deps import ApiDep, Staff
from hazina_origination.api.routes.clients import read_photo
from hazina_origination.domain.errors import NotFoundError, NotPermittedError
from hazina_servicekit.openapi import error_response
from hazina_servicekit.text import PlainText

router = APIRouter(tags=["uploads"])

LinkPart = Annotated[PlainText | None, Query(max_length=100)]


@router.get(
    "/uploads/{name}",
    response_class=FileResponse,
    responses={
        200: {"description": "The image", "content": {"image/*": {}}},
        403: error_response(403, "The link has expired or is not valid"),
    },
)
def uploaded_file(
    name: PlainText, api: ApiDep, exp: LinkPart = None, sig: LinkPart = None
) -> FileResponse:
    seconds_left = api.links.seconds_left(name, exp, sig)
    if seconds_left is None:
        raise NotPermittedError("This link has expired or is not valid; reload the page")
    path = api.photos.path_of(name)
    if path is None:
        raise NotFoundError("File not found")
    return FileResponse(
        path,
        media_type=api.photos.media_type(name),
        headers={
            "Cache-Control": f"private, max-age={seconds_left}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.post("/api/upload", status_code=201)
def upload(
    principal: Staff, api: ApiDep, file: Annotated[UploadFile | None, File()] = None
) -> dict[str, str]:
    """Store an image; ``url`` is a signed link to show it now, ``path`` what a record keeps
    (a record given ``url`` keeps only its path, so either may be sent back)."""
    data = read_photo(file, api.app.max_photo_bytes, field="file")
    name = api.app.store_document(data, field="file")
    return {"url": api.links.url(name), "path": f"/uploads/{name}", "message": "File uploaded"}
