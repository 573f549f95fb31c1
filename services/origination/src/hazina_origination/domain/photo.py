"""Client photos and ID copies: personal data, accepted only as images decoded whole.

A file is never trusted by its name, declared type or first bytes: the image store decodes all
of it and keeps only a re-encoding of its pixels (``CleanPhoto``), so nothing else a file carried
(a script after a JPEG header, EXIF with the GPS position of a client's home) is ever stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from hazina_origination.domain.errors import InvalidInputError

MAX_PHOTO_BYTES = 5 * 1024 * 1024
# Decoded size bound: a small file may unpack to gigabytes of pixels (a decompression bomb).
# 24 megapixels covers the phone cameras officers use; larger photos exceed the byte limit anyway.
MAX_PHOTO_PIXELS = 24_000_000
NOT_AN_IMAGE = "must be a JPEG, PNG or WebP image"


@dataclass(frozen=True)
class CleanPhoto:
    """An image re-encoded from its decoded pixels alone (JPEG or PNG), with no metadata."""

    data: bytes
    extension: str  # "jpg" or "png"


def check_photo_size(
    data: bytes, *, max_bytes: int = MAX_PHOTO_BYTES, field: str = "photo"
) -> None:
    """Refuse an empty or oversized file before anything decodes it."""
    if not data:
        raise InvalidInputError(f"{field} is required")
    if len(data) > max_bytes:
        raise PhotoTooLargeError(f"{field} is larger than {max_bytes // (1024 * 1024)} MB")


def check_pixels(width: int, height: int, *, max_pixels: int, field: str = "photo") -> None:
    if width < 1 or height < 1:
        raise NotAnImageError(f"{field} {NOT_AN_IMAGE}")
    if width * height > max_pixels:
        raise PhotoTooLargeError(
            f"{field} is {width}x{height} pixels; at most {max_pixels // 1_000_000} megapixels"
        )


class NotAnImageError(InvalidInputError):
    pass


class PhotoTooLargeError(InvalidInputError):
    pass
