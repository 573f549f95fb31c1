"""USSD's settings, read from the environment once at start-up."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr

from hazina_servicekit.settings import ServiceSettings

SIMULATOR_API_KEY = "sim-at-api-key"  # pragma: allowlist secret


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class UssdSettings(ServiceSettings):
    db_schema: str = Field(default="ussd", validation_alias=_env("USSD_DB_SCHEMA"))
    port: int = Field(default=8105, validation_alias=_env("USSD_PORT"))
    service_code: str = Field(default="*384*1234#", validation_alias=_env("USSD_SERVICE_CODE"))
    default_language: Literal["en", "sw"] = Field(
        default="en", validation_alias=_env("USSD_DEFAULT_LANGUAGE")
    )
    session_seconds: int = Field(default=180, ge=30, validation_alias=_env("USSD_SESSION_SECONDS"))
    # The loan product a USSD application is made on (origination picks the active product of
    # this type) and what the menu offers of it.
    product_type: str = Field(default="individual", validation_alias=_env("USSD_PRODUCT_TYPE"))
    min_amount_kes: int = Field(default=500, ge=1, validation_alias=_env("USSD_MIN_AMOUNT_KES"))
    amount_multiple_kes: int = Field(
        default=100, ge=1, validation_alias=_env("USSD_AMOUNT_MULTIPLE_KES")
    )
    min_term: int = Field(default=1, ge=1, validation_alias=_env("USSD_MIN_TERM"))
    max_term: int = Field(default=12, ge=1, validation_alias=_env("USSD_MAX_TERM"))
    repayment_frequency: Literal["monthly", "weekly"] = Field(
        default="monthly", validation_alias=_env("USSD_REPAYMENT_FREQUENCY")
    )
    max_open_loans: int = Field(default=1, ge=1, validation_alias=_env("USSD_MAX_OPEN_LOANS"))
    paybill: str = Field(default="600984", validation_alias=_env("MPESA_SHORTCODE"))
    # The limit formula's figures (domain/limit.py; README "Borrower limit").
    limit_savings_credit: int = Field(default=3, ge=0, validation_alias=_env("USSD_LIMIT_SAVINGS_CREDIT"))
    limit_savings_multiple: int = Field(
        default=5, ge=0, validation_alias=_env("USSD_LIMIT_SAVINGS_MULTIPLE")
    )
    limit_on_time_kes: int = Field(default=2000, ge=0, validation_alias=_env("USSD_LIMIT_ON_TIME_KES"))
    limit_late_kes: int = Field(default=500, ge=0, validation_alias=_env("USSD_LIMIT_LATE_KES"))
    limit_default_penalty_kes: int = Field(
        default=5000, ge=0, validation_alias=_env("USSD_LIMIT_DEFAULT_PENALTY_KES")
    )
    limit_maximum_kes: int = Field(default=50_000, ge=0, validation_alias=_env("USSD_LIMIT_MAXIMUM_KES"))
    # Rate limits: hops per phone per window, hops per session.
    rate_per_phone: int = Field(default=60, ge=1, validation_alias=_env("USSD_RATE_PER_PHONE"))
    rate_window_seconds: int = Field(default=60, ge=1, validation_alias=_env("USSD_RATE_WINDOW_SECONDS"))
    rate_per_session: int = Field(default=40, ge=1, validation_alias=_env("USSD_RATE_PER_SESSION"))
    pin_argon2_time_cost: int = Field(default=2, ge=1, validation_alias=_env("USSD_PIN_ARGON2_TIME_COST"))
    pin_argon2_memory_kib: int = Field(
        default=19_456, ge=8, validation_alias=_env("USSD_PIN_ARGON2_MEMORY_KIB")
    )
    # Africa's Talking SMS.
    at_base_url: str = Field(
        default="https://api.africastalking.com", validation_alias=_env("AT_BASE_URL")
    )
    at_username: str = Field(default="sandbox", validation_alias=_env("AT_USERNAME"))
    at_api_key: SecretStr | None = Field(default=None, validation_alias=_env("AT_API_KEY"))
    at_sender_id: str | None = Field(default=None, validation_alias=_env("AT_SENDER_ID"))
    sms_poll_seconds: float = Field(default=0.5, gt=0, validation_alias=_env("USSD_SMS_POLL_SECONDS"))
    reminder_days_ahead: int = Field(default=3, ge=1, validation_alias=_env("USSD_REMINDER_DAYS_AHEAD"))



def with_simulated_rails(
    settings: UssdSettings, environ: dict[str, str] | None = None
) -> UssdSettings:
    """Under ``HAZINA_RAILS=simulated`` SMS go to the local Africa's Talking simulator unless a
    real base URL and key are given."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("HAZINA_RAILS", "") != "simulated":
        return settings
    given = settings.model_fields_set
    update: dict[str, Any] = {}
    if "at_base_url" not in given:
        update["at_base_url"] = f"http://127.0.0.1:{environ.get('AFRICASTALKING_SIM_PORT', '8194')}"
    if "at_api_key" not in given:
        update["at_api_key"] = SecretStr(SIMULATOR_API_KEY)
    return settings.model_copy(update=update)
