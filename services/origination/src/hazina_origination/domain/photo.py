"""Client photos are judged by their bytes, never by their name or declared type."""

from __future__ import annotations

from hazina_origination.domain.errors import InvalidInputError

MAX_PHOTO_BYTES = 5 * 1024 * 1024


def image_kind(data: bytes) -> str | None:
    """The file extension for a JPEG, PNG or WebP image, from its signature; None for anything else."""
    if len(data) >= 4 and data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check_photo(data: bytes, *, max_bytes: int = MAX_PHOTO_BYTES) -> str:
    """The photo's extension if it is an acceptable image, else a message saying what is wrong."""
    if not data:
        raise InvalidInputError("photo is required")
    if len(data) > max_bytes:
        raise PhotoTooLargeError(f"photo is larger than {max_bytes // (1024 * 1024)} MB")
    kind = image_kind(data)
    if kind is None:
        raise InvalidInputError("photo must be a JPEG, PNG or WebP image")
    return kind


class PhotoTooLargeError(InvalidInputError):
    pass
