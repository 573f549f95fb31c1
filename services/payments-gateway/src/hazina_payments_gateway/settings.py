"""The gateway's settings, read from the environment once at start-up. Secrets only from there."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from hazina_payments_gateway.domain.rules import DEFAULT_B2C_TARIFF
from hazina_servicekit.settings import ServiceSettings, service_config


class PaymentsSettings(ServiceSettings):
    """Each field is read from ``PAYMENTS_<FIELD>`` unless it names another variable."""

    model_config = service_config("PAYMENTS_")

    db_schema: str = "payments"
    port: int = 8104

    # Daraja
    mpesa_base_url: str = Field(
        default="https://sandbox.safaricom.co.ke", validation_alias="MPESA_BASE_URL"
    )
    mpesa_consumer_key: SecretStr = Field(
        default=SecretStr(""), validation_alias="MPESA_CONSUMER_KEY"
    )
    mpesa_consumer_secret: SecretStr = Field(
        default=SecretStr(""), validation_alias="MPESA_CONSUMER_SECRET"
    )
    mpesa_initiator_name: str = Field(default="testapi", validation_alias="MPESA_INITIATOR_NAME")
    mpesa_initiator_password: SecretStr | None = Field(
        default=None, validation_alias="MPESA_INITIATOR_PASSWORD"
    )
    mpesa_certificate_path: str | None = Field(
        default=None, validation_alias="MPESA_CERTIFICATE_PATH"
    )
    mpesa_security_credential: SecretStr | None = Field(
        default=None, validation_alias="MPESA_SECURITY_CREDENTIAL"
    )
    mpesa_b2c_shortcode: str = Field(default="600981", validation_alias="MPESA_B2C_SHORTCODE")
    mpesa_c2b_shortcode: str = Field(default="600984", validation_alias="MPESA_C2B_SHORTCODE")
    mpesa_stk_shortcode: str = Field(default="174379", validation_alias="MPESA_STK_SHORTCODE")
    mpesa_stk_passkey: SecretStr = Field(
        default=SecretStr(""), validation_alias="MPESA_STK_PASSKEY"
    )
    mpesa_b2c_command_id: str = Field(
        default="BusinessPayment", validation_alias="MPESA_B2C_COMMAND_ID"
    )
    mpesa_callback_base_url: str = Field(
        default="http://127.0.0.1:8000", validation_alias="MPESA_CALLBACK_BASE_URL"
    )
    mpesa_callback_token: SecretStr | None = Field(
        default=None, validation_alias="MPESA_CALLBACK_TOKEN"
    )
    mpesa_callback_allowed_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="MPESA_CALLBACK_ALLOWED_IPS"
    )
    mpesa_register_c2b_on_start: bool = Field(
        default=False, validation_alias="MPESA_REGISTER_C2B_ON_START"
    )
    mpesa_c2b_response_type: str = Field(
        default="Completed", validation_alias="MPESA_C2B_RESPONSE_TYPE"
    )
    http_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    http_read_timeout_seconds: float = Field(default=30.0, gt=0)

    # Behaviour
    c2b_reject_unknown_references: bool = Field(default=False)
    b2c_tariff: Annotated[list[list[Any]], NoDecode] = Field(
        default_factory=lambda: [list(r) for r in DEFAULT_B2C_TARIFF],
    )
    b2c_result_timeout_seconds: float = Field(default=300.0, gt=0)
    b2c_send_lease_seconds: float = Field(default=90.0, gt=0)
    status_result_timeout_seconds: float = Field(default=120.0, gt=0)
    status_retry_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0.0, 30.0, 120.0, 600.0],
    )
    not_sent_retry_seconds: float = Field(default=5.0, ge=0)
    stk_query_after_seconds: float = Field(default=180.0, gt=0)
    stk_query_attempts: int = Field(default=5, ge=1, le=50)
    dispatch_interval_seconds: float = Field(default=1.0, gt=0)
    inbox_interval_seconds: float = Field(default=0.5, gt=0)
    inbox_retry_seconds: float = Field(default=2.0, gt=0)
    inbox_max_attempts: int = Field(default=8, ge=1, le=50)
    inbox_processing: bool = True
    dispatching: bool = True
    pull_interval_seconds: float = Field(default=0.0, ge=0)
    pull_window_seconds: float = Field(default=3600.0, gt=0)

    # Fineract / Mifos X (partner core banking) and NCBA
    fineract_base_url: str | None = Field(default=None, validation_alias="FINERACT_BASE_URL")
    fineract_username: str = Field(default="mifos", validation_alias="FINERACT_USERNAME")
    fineract_password: SecretStr = Field(
        default=SecretStr(""), validation_alias="FINERACT_PASSWORD"
    )
    fineract_tenant: str = Field(default="default", validation_alias="FINERACT_TENANT")
    ncba_base_url: str | None = Field(default=None, validation_alias="NCBA_BASE_URL")
    ncba_subscription_key: SecretStr = Field(
        default=SecretStr(""), validation_alias="NCBA_SUBSCRIPTION_KEY"
    )
    ncba_user_id: str = Field(default="", validation_alias="NCBA_USER_ID")
    ncba_password: SecretStr = Field(default=SecretStr(""), validation_alias="NCBA_PASSWORD")

    @field_validator("mpesa_callback_allowed_ips", mode="before")
    @classmethod
    def _split_ips(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("status_retry_seconds", mode="before")
    @classmethod
    def _split_floats(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(item) for item in value.split(",") if item.strip()]
        return value

    @field_validator("b2c_tariff", mode="before")
    @classmethod
    def _tariff_json(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value)
        return value
