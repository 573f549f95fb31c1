"""Client photos and ID copies on disk, named by the SHA-256 of their bytes: the same photo is
stored once, a name can never point at different content, and names cannot walk out of the
folder. Only re-encoded images (``adapters.images``) are written; ``.webp`` names stay readable
for files stored before re-encoding began."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from hazina_origination.adapters.images import clean_image
from hazina_origination.domain.photo import MAX_PHOTO_PIXELS, CleanPhoto

NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png|webp)$")
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
WRITTEN = {"jpg", "png"}


class FilePhotoStore:
    def __init__(self, folder: Path, *, max_pixels: int = MAX_PHOTO_PIXELS) -> None:
        self.folder = folder
        self.max_pixels = max_pixels
        self.folder.mkdir(parents=True, exist_ok=True)

    def clean(self, data: bytes, field: str = "photo") -> CleanPhoto:
        return clean_image(data, max_pixels=self.max_pixels, field=field)

    def save(self, photo: CleanPhoto) -> str:
        if photo.extension not in WRITTEN:
            raise ValueError(f"unsupported image type {photo.extension}")
        data = photo.data
        name = f"{hashlib.sha256(data).hexdigest()}.{photo.extension}"
        target = self.folder / name
        if target.exists():
            return name
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name

    def path_of(self, name: str) -> Path | None:
        """The file for a stored name, or None for a name that is malformed or unknown."""
        if not NAME.match(name):
            return None
        path = self.folder / name
        return path if path.is_file() else None

    @staticmethod
    def media_type(name: str) -> str:
        return MEDIA_TYPES[name.rsplit(".", 1)[-1]]
