"""Settings every service reads from the environment, built once at start-up, never at import."""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class ServiceSettings(BaseSettings):
    """Connection and runtime settings shared by all services.

    A service's own settings subclass this with ``model_config = service_config("IDENTITY_")``:
    its fields are then read from ``IDENTITY_<FIELD>`` while the shared ones below keep their
    unprefixed names (DATABASE_URL, NATS_URL, ...). Both spellings are accepted as keyword
    arguments too (``IdentitySettings(port=1)`` or ``IdentitySettings(IDENTITY_PORT=1)``).
    """

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, populate_by_name=True)

    database_url: str = Field(validation_alias=_alias("DATABASE_URL"))
    nats_url: str = Field(default="nats://127.0.0.1:4222", validation_alias=_alias("NATS_URL"))
    log_level: str = Field(default="INFO", validation_alias=_alias("LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=_alias("LOG_JSON"))
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:3000"],
        validation_alias=_alias("HAZINA_CORS_ORIGINS"),
    )
    jwks_url: str = Field(
        default="http://127.0.0.1:8000/.well-known/jwks.json",
        validation_alias=_alias("HAZINA_JWKS_URL"),
    )
    token_issuer: str = Field(
        default="hazina-identity", validation_alias=_alias("HAZINA_TOKEN_ISSUER")
    )
    max_body_bytes: int = Field(default=1_048_576, validation_alias=_alias("HAZINA_MAX_BODY_BYTES"))
    run_workers: bool = Field(default=True, validation_alias=_alias("HAZINA_RUN_WORKERS"))
    stream_duplicate_window_seconds: int = Field(
        default=3600, validation_alias=_alias("HAZINA_STREAM_DUPLICATE_WINDOW_SECONDS")
    )
    # Token revocation (hazina_servicekit.revocation): how far back the deny feed replays, which
    # is also the longest access-token lifetime any service accepts; how long a service keeps
    # judging tokens by what it last heard once NATS is unreachable; how long a request waits for
    # the deny feed to catch up at start before it gets a 503.
    revocation_horizon_seconds: int = Field(
        default=86_400, ge=120, validation_alias=_alias("HAZINA_REVOCATION_HORIZON_SECONDS")
    )
    revocation_max_staleness_seconds: float = Field(
        default=60.0, gt=0, validation_alias=_alias("HAZINA_REVOCATION_MAX_STALENESS_SECONDS")
    )
    revocation_startup_wait_seconds: float = Field(
        default=5.0, ge=0, validation_alias=_alias("HAZINA_REVOCATION_STARTUP_WAIT_SECONDS")
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_prefixed_names(cls, values: object) -> object:
        # Keyword arguments spelt as the environment variable (``PAYMENTS_PORT=...``) mean the field.
        prefix = str(cls.model_config.get("env_prefix") or "").lower()
        if not prefix or not isinstance(values, dict):
            return values
        # Only keyword arguments arrive prefixed (the environment's come by field name): they win.
        renamed = dict(values)
        for key, value in values.items():
            name = key.lower()
            if name.startswith(prefix) and name[len(prefix) :] in cls.model_fields:
                del renamed[key]
                renamed[name[len(prefix) :]] = value
        return renamed

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


def service_config(env_prefix: str) -> SettingsConfigDict:
    """The settings configuration of a service whose own variables start with ``env_prefix``."""
    return SettingsConfigDict(
        env_prefix=env_prefix, extra="ignore", case_sensitive=False, populate_by_name=True
    )
