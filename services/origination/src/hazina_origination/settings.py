"""Origination's settings, read from the environment once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from hazina_servicekit.settings import ServiceSettings, service_config


class OriginationSettings(ServiceSettings):
    """Each field is read from ``ORIGINATION_<FIELD>`` unless it names another variable."""

    model_config = service_config("ORIGINATION_")

    db_schema: str = "origination"
    port: int = 8102
    uploads_dir: str = Field(default=".devstack/uploads/origination")
    # The local runtime's state folder (``make run`` sets it); photos go under it when
    # ORIGINATION_UPLOADS_DIR is set empty.
    state_dir: str | None = Field(default=None, validation_alias="HAZINA_STATE_DIR")
    max_photo_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_photo_pixels: int = Field(default=24_000_000, ge=10_000)
    # Signs the short-lived links to photos and ID copies. Unset: a random key per process start,
    # so every process serving /uploads must be given the same key when there is more than one.
    upload_signing_key: SecretStr | None = Field(default=None, min_length=32)
    upload_link_ttl_seconds: int = Field(default=300, ge=10, le=3600)
    max_import_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_guarantees_per_client: int = Field(default=3, ge=1)

    @property
    def uploads_path(self) -> Path:
        """Where client photos live: ORIGINATION_UPLOADS_DIR, else under the local runtime's state folder."""
        if self.uploads_dir:
            return Path(self.uploads_dir)
        return Path(self.state_dir or ".devstack") / "uploads" / "origination"
