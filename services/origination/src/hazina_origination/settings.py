"""Origination's settings, read from the environment once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr

from hazina_servicekit.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class OriginationSettings(ServiceSettings):
    db_schema: str = Field(default="origination", validation_alias=_env("ORIGINATION_DB_SCHEMA"))
    port: int = Field(default=8102, validation_alias=_env("ORIGINATION_PORT"))
    uploads_dir: str = Field(
        default=".devstack/uploads/origination", validation_alias=_env("ORIGINATION_UPLOADS_DIR")
    )
    max_photo_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, validation_alias=_env("ORIGINATION_MAX_PHOTO_BYTES")
    )
    max_photo_pixels: int = Field(
        default=24_000_000, ge=10_000, validation_alias=_env("ORIGINATION_MAX_PHOTO_PIXELS")
    )
    # Signs the short-lived links to photos and ID copies. Unset: a random key per process start,
    # so every process serving /uploads must be given the same key when there is more than one.
    upload_signing_key: SecretStr | None = Field(
        default=None, min_length=32, validation_alias=_env("ORIGINATION_UPLOAD_SIGNING_KEY")
    )
    upload_link_ttl_seconds: int = Field(
        default=300, ge=10, le=3600, validation_alias=_env("ORIGINATION_UPLOAD_LINK_TTL_SECONDS")
    )
    max_import_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, validation_alias=_env("ORIGINATION_MAX_IMPORT_BYTES")
    )
    max_guarantees_per_client: int = Field(
        default=3, ge=1, validation_alias=_env("ORIGINATION_MAX_GUARANTEES_PER_CLIENT")
    )

    @property
    def uploads_path(self) -> Path:
        """Where client photos live: ORIGINATION_UPLOADS_DIR, else under the local runtime's state folder."""
        if self.uploads_dir:
            return Path(self.uploads_dir)
        return Path(self.state_dir or ".devstack") / "uploads" / "origination"
