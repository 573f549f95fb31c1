"""USSD's settings, read from the environment once at start-up."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from hazina_servicekit.settings import ServiceSettings, service_config


class UssdSettings(ServiceSettings):
    """Each field is read from ``USSD_<FIELD>``."""

    model_config = service_config("USSD_")

    db_schema: str = "ussd"
    port: int = 8105
    service_code: str = "*384*1234#"
    default_language: Literal["en", "sw"] = "en"
    session_seconds: int = Field(default=180, ge=30)
    # The loan product a USSD application is made on (origination picks the active product of
    # this type) and what the menu offers of it.
    product_type: str = "individual"
    min_amount_kes: int = Field(default=500, ge=1)
    amount_multiple_kes: int = Field(default=100, ge=1)
    min_term: int = Field(default=1, ge=1)
    max_term: int = Field(default=12, ge=1)
    repayment_frequency: Literal["monthly", "weekly"] = "monthly"
    max_open_loans: int = Field(default=1, ge=1)
    paybill: str = "600984"
    # The limit formula's figures (domain/limit.py; README "Borrower limit").
    limit_savings_credit: int = Field(default=3, ge=0)
    limit_savings_multiple: int = Field(default=5, ge=0)
    limit_on_time_kes: int = Field(default=2000, ge=0)
    limit_late_kes: int = Field(default=500, ge=0)
    limit_default_penalty_kes: int = Field(default=5000, ge=0)
    limit_maximum_kes: int = Field(default=50_000, ge=0)
    # Rate limits: hops per phone per window, hops per session.
    rate_per_phone: int = Field(default=60, ge=1)
    rate_window_seconds: int = Field(default=60, ge=1)
    rate_per_session: int = Field(default=40, ge=1)
    # A four-digit PIN has 10,000 values: no hash cost protects a stolen table, the lockout after
    # three tries is the guard. argon2id keeps the PIN unreadable at a cost paid once a session.
    pin_argon2_time_cost: int = Field(default=1, ge=1)
    pin_argon2_memory_kib: int = Field(default=8192, ge=8)
    # Africa's Talking SMS.
    at_base_url: str = "https://api.africastalking.com"
    at_username: str = "sandbox"
    at_api_key: SecretStr | None = None
    at_sender_id: str | None = None
    sms_poll_seconds: float = Field(default=0.5, gt=0)
    reminder_days_ahead: int = Field(default=3, ge=1)
