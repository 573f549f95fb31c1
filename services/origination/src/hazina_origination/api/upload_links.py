"""Short-lived signed links to stored photos and ID copies.

``<img src>`` sends no token, so a document is fetched by a link the API signed for a viewer who
may see that client, at the moment it showed them the client: ``/uploads/<name>?exp=<unix>&sig=
<hmac>``, HMAC-SHA256 over the name and expiry with a key from the environment. An unsigned,
expired or altered link is refused. What is stored is always the bare ``/uploads/<name>`` path
(or the name), never a signed link, so a link expires while the record keeps working.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable

UPLOAD_PATH = re.compile(
    r"^(?:https?://[^/?#]+)?/uploads/(?P<name>[0-9a-f]{64}\.(?:jpg|png|webp))(?:\?[^#]*)?$"
)

DIGITS = re.compile(r"[0-9]{1,12}")
HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def upload_name(url: str) -> str | None:
    """The stored file's name in a link the API handed out (signed or not), else None."""
    match = UPLOAD_PATH.match(url.strip())
    return match.group("name") if match else None


class UploadLinks:
    def __init__(
        self, key: bytes, *, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        if len(key) < 32:
            raise ValueError("the upload signing key must be at least 32 bytes")
        self._key = key
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def _signature(self, name: str, expires: int) -> str:
        message = f"{name}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, name: str, *, now: float | None = None) -> str:
        """A link to the named file, valid for ``ttl_seconds`` from now."""
        expires = int(self._clock() if now is None else now) + self.ttl_seconds
        return f"/uploads/{name}?exp={expires}&sig={self._signature(name, expires)}"

    def sign_name(self, name: str | None) -> str | None:
        """A client's stored photo (a file name) as a link for the current viewer."""
        return self.url(name) if name else None

    def sign_stored(self, stored: str | None) -> str | None:
        """A stored document URL (``/uploads/<name>``) as a link; anything else unchanged."""
        if not stored:
            return stored
        name = upload_name(stored)
        return self.url(name) if name else stored

    def seconds_left(self, name: str, exp: str | None, sig: str | None) -> int | None:
        """How long a link stays valid, or None when it is unsigned, expired or altered."""
        if not exp or not sig or not DIGITS.fullmatch(exp) or not HEX_SHA256.fullmatch(sig):
            return None
        expires = int(exp)
        if not hmac.compare_digest(sig, self._signature(name, expires)):
            return None
        left = expires - int(self._clock())
        return left if left > 0 else None
