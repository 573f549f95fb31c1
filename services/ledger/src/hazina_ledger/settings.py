"""The ledger's settings, read from the environment once at start-up."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from hazina_servicekit.settings import ServiceSettings


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class LedgerSettings(ServiceSettings):
    db_schema: str = Field(default="ledger", validation_alias=_env("LEDGER_DB_SCHEMA"))
    port: int = Field(default=8103, validation_alias=_env("LEDGER_PORT"))
    rounding_mode: str = Field(default="HALF_EVEN", validation_alias=_env("LEDGER_ROUNDING_MODE"))
    weekly_month_convention: str = Field(
        default="calendar", validation_alias=_env("LEDGER_WEEKLY_MONTH_CONVENTION")
    )
    in_arrears_after_days: int = Field(
        default=1, ge=1, validation_alias=_env("LEDGER_IN_ARREARS_AFTER_DAYS")
    )
    defaulted_after_days: int = Field(
        default=90, ge=1, validation_alias=_env("LEDGER_DEFAULTED_AFTER_DAYS")
    )
    arrears_tolerance_cents: int = Field(
        default=0, ge=0, validation_alias=_env("LEDGER_ARREARS_TOLERANCE_CENTS")
    )
    arrears_check_interval_seconds: float = Field(
        default=3600.0, gt=0, validation_alias=_env("LEDGER_ARREARS_CHECK_INTERVAL_SECONDS")
    )
    parked_retry_interval_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_env("LEDGER_PARKED_RETRY_INTERVAL_SECONDS")
    )
    max_batch: int = Field(default=500, ge=1, le=5000, validation_alias=_env("LEDGER_MAX_BATCH"))
    pool_size: int = Field(default=8, ge=2, validation_alias=_env("LEDGER_POOL_SIZE"))
