"""Identity's settings, read from the environment once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from hazina_servicekit.settings import ServiceSettings, service_config

ACCESS_TOKEN_TTL_SECONDS = 10 * 3600  # a staff member's working day


class IdentitySettings(ServiceSettings):
    """Each field is read from ``IDENTITY_<FIELD>`` unless it names another variable."""

    model_config = service_config("IDENTITY_")

    db_schema: str = "identity"
    port: int = 8101
    # A working day: the staff frontend never refreshes and signs out when the token expires.
    # Safe because revocation reaches every service within seconds (deactivation, role change...).
    access_token_ttl_seconds: int = Field(default=ACCESS_TOKEN_TTL_SECONDS, ge=60)
    refresh_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=300)
    # Failures of one username at one address before that pair (only) is locked.
    login_max_failures: int = Field(default=5, ge=1)
    # Failures from one address, any usernames, before the address is locked (spraying).
    address_max_failures: int = Field(default=50, ge=1)
    # Failures of one username from addresses it does not normally use before delays begin.
    unfamiliar_free_failures: int = Field(default=3, ge=0)
    # The first delay; each further failure from an unfamiliar address doubles it.
    backoff_base_seconds: float = Field(default=1.0, gt=0)
    # An address the user signed in from successfully within this many days is theirs.
    known_address_days: int = Field(default=30, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    lockout_seconds: int = Field(default=900, ge=1)
    argon2_time_cost: int | None = None
    argon2_memory_kib: int | None = None
    seed_superadmin_username: str = Field(
        default="superadmin", validation_alias="SEED_SUPERADMIN_USERNAME"
    )
    seed_superadmin_password: SecretStr | None = Field(
        default=None, validation_alias="SEED_SUPERADMIN_PASSWORD"
    )
    seed_superadmin_password_file: str | None = Field(
        default=None, validation_alias="SEED_SUPERADMIN_PASSWORD_FILE"
    )
    seed_superadmin_national_id: str | None = Field(
        default=None, validation_alias="SEED_SUPERADMIN_NATIONAL_ID"
    )
    seed_superadmin_phone: str | None = Field(
        default=None, validation_alias="SEED_SUPERADMIN_PHONE"
    )

    # The log staff read at /api/logs (adapters/system_log.py): HAZINA_LOG_FILE, else the file
    # the local runtime collects every service's output in, under HAZINA_STATE_DIR.
    log_file: str | None = Field(default=None, validation_alias="HAZINA_LOG_FILE")
    state_dir: str | None = Field(default=None, validation_alias="HAZINA_STATE_DIR")

    @property
    def system_log_path(self) -> Path | None:
        if self.log_file:
            return Path(self.log_file)
        return Path(self.state_dir) / "logs" / "hazina.log" if self.state_dir else None

    @model_validator(mode="after")
    def _tokens_live_within_the_revocation_horizon(self) -> IdentitySettings:
        # Other services forget a revocation after the horizon and refuse tokens living longer.
        if self.access_token_ttl_seconds > self.revocation_horizon_seconds:
            raise ValueError(
                "IDENTITY_ACCESS_TOKEN_TTL_SECONDS must not exceed HAZINA_REVOCATION_HORIZON_SECONDS"
            )
        return self
