"""Decoding uploaded images whole with Pillow and re-encoding their pixels, nothing else.

Only JPEG, PNG and WebP decoders are allowed. The pixel count is checked from the header before
anything is decoded. The output is a fresh image built from the decoded pixels (so no EXIF, GPS,
ICC profile, comment or trailing bytes survive), turned upright first since its EXIF orientation
is dropped: PNG when the source is PNG or has transparency, JPEG otherwise.
"""

from __future__ import annotations

from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError

from hazina_origination.domain.photo import (
    MAX_PHOTO_PIXELS,
    NOT_AN_IMAGE,
    CleanPhoto,
    NotAnImageError,
    PhotoTooLargeError,
    check_pixels,
)

DECODERS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 90
# What a broken or hostile file makes Pillow raise while opening, verifying or decoding it.
_UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError)


def clean_image(
    data: bytes, *, max_pixels: int = MAX_PHOTO_PIXELS, field: str = "photo"
) -> CleanPhoto:
    """The image's pixels re-encoded without metadata; 400-class errors for anything else."""
    try:
        with Image.open(BytesIO(data), formats=DECODERS) as probe:
            width, height = probe.size
            source_format = probe.format
            check_pixels(width, height, max_pixels=max_pixels, field=field)
            probe.verify()  # structure and checksums, before the full decode
        with Image.open(BytesIO(data), formats=DECODERS) as image:
            image.load()  # decodes every byte of pixel data: a truncated or fake body fails here
            upright = ImageOps.exif_transpose(image)
            pixels = _plain(upright)
    except Image.DecompressionBombError:
        raise PhotoTooLargeError(f"{field} has too many pixels") from None
    except _UNREADABLE:
        raise NotAnImageError(f"{field} {NOT_AN_IMAGE}") from None
    as_png = source_format == "PNG" or pixels.mode in ("RGBA", "LA")
    fresh = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())  # no info carried over
    out = BytesIO()
    if as_png:
        fresh.save(out, format="PNG")
    else:
        fresh.save(out, format="JPEG", quality=JPEG_QUALITY)
    return CleanPhoto(data=out.getvalue(), extension="png" if as_png else "jpg")


def _plain(image: Image.Image) -> Image.Image:
    """The image as 8-bit grey or colour, with alpha only where it had transparency."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    grey = image.mode in ("1", "L", "LA", "La", "I", "I;16", "F")
    if grey:
        return image.convert("LA" if has_alpha else "L")
    return image.convert("RGBA" if has_alpha else "RGB")
