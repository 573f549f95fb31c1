"""The gateway's settings, read from the environment once at start-up. Secrets only from there."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from hazina_payments_gateway.domain.rules import DEFAULT_B2C_TARIFF
from hazina_servicekit.settings import ServiceSettings


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class PaymentsSettings(ServiceSettings):
    db_schema: str = Field(default="payments", validation_alias=_env("PAYMENTS_DB_SCHEMA"))
    port: int = Field(default=8104, validation_alias=_env("PAYMENTS_PORT"))

    # Daraja
    mpesa_base_url: str = Field(
        default="https://sandbox.safaricom.co.ke", validation_alias=_env("MPESA_BASE_URL")
    )
    mpesa_consumer_key: SecretStr = Field(
        default=SecretStr(""), validation_alias=_env("MPESA_CONSUMER_KEY")
    )
    mpesa_consumer_secret: SecretStr = Field(
        default=SecretStr(""), validation_alias=_env("MPESA_CONSUMER_SECRET")
    )
    mpesa_initiator_name: str = Field(
        default="testapi", validation_alias=_env("MPESA_INITIATOR_NAME")
    )
    mpesa_initiator_password: SecretStr | None = Field(
        default=None, validation_alias=_env("MPESA_INITIATOR_PASSWORD")
    )
    mpesa_certificate_path: str | None = Field(
        default=None, validation_alias=_env("MPESA_CERTIFICATE_PATH")
    )
    mpesa_security_credential: SecretStr | None = Field(
        default=None, validation_alias=_env("MPESA_SECURITY_CREDENTIAL")
    )
    mpesa_b2c_shortcode: str = Field(default="600981", validation_alias=_env("MPESA_B2C_SHORTCODE"))
    mpesa_c2b_shortcode: str = Field(default="600984", validation_alias=_env("MPESA_C2B_SHORTCODE"))
    mpesa_stk_shortcode: str = Field(default="174379", validation_alias=_env("MPESA_STK_SHORTCODE"))
    mpesa_stk_passkey: SecretStr = Field(
        default=SecretStr(""), validation_alias=_env("MPESA_STK_PASSKEY")
    )
    mpesa_b2c_command_id: str = Field(
        default="BusinessPayment", validation_alias=_env("MPESA_B2C_COMMAND_ID")
    )
    mpesa_callback_base_url: str = Field(
        default="http://127.0.0.1:8000", validation_alias=_env("MPESA_CALLBACK_BASE_URL")
    )
    mpesa_callback_token: SecretStr | None = Field(
        default=None, validation_alias=_env("MPESA_CALLBACK_TOKEN")
    )
    mpesa_callback_allowed_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("MPESA_CALLBACK_ALLOWED_IPS")
    )
    mpesa_register_c2b_on_start: bool = Field(
        default=False, validation_alias=_env("MPESA_REGISTER_C2B_ON_START")
    )
    mpesa_c2b_response_type: str = Field(
        default="Completed", validation_alias=_env("MPESA_C2B_RESPONSE_TYPE")
    )
    http_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_env("PAYMENTS_HTTP_CONNECT_TIMEOUT_SECONDS")
    )
    http_read_timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias=_env("PAYMENTS_HTTP_READ_TIMEOUT_SECONDS")
    )

    # Behaviour
    c2b_reject_unknown_references: bool = Field(
        default=False, validation_alias=_env("PAYMENTS_C2B_REJECT_UNKNOWN_REFERENCES")
    )
    b2c_tariff: Annotated[list[list[Any]], NoDecode] = Field(
        default_factory=lambda: [list(r) for r in DEFAULT_B2C_TARIFF],
        validation_alias=_env("PAYMENTS_B2C_TARIFF"),
    )
    b2c_result_timeout_seconds: float = Field(
        default=300.0, gt=0, validation_alias=_env("PAYMENTS_B2C_RESULT_TIMEOUT_SECONDS")
    )
    b2c_send_lease_seconds: float = Field(
        default=90.0, gt=0, validation_alias=_env("PAYMENTS_B2C_SEND_LEASE_SECONDS")
    )
    status_result_timeout_seconds: float = Field(
        default=120.0, gt=0, validation_alias=_env("PAYMENTS_STATUS_RESULT_TIMEOUT_SECONDS")
    )
    status_retry_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0.0, 30.0, 120.0, 600.0],
        validation_alias=_env("PAYMENTS_STATUS_RETRY_SECONDS"),
    )
    not_sent_retry_seconds: float = Field(
        default=5.0, ge=0, validation_alias=_env("PAYMENTS_NOT_SENT_RETRY_SECONDS")
    )
    stk_query_after_seconds: float = Field(
        default=180.0, gt=0, validation_alias=_env("PAYMENTS_STK_QUERY_AFTER_SECONDS")
    )
    stk_query_attempts: int = Field(
        default=5, ge=1, le=50, validation_alias=_env("PAYMENTS_STK_QUERY_ATTEMPTS")
    )
    dispatch_interval_seconds: float = Field(
        default=1.0, gt=0, validation_alias=_env("PAYMENTS_DISPATCH_INTERVAL_SECONDS")
    )
    inbox_interval_seconds: float = Field(
        default=0.5, gt=0, validation_alias=_env("PAYMENTS_INBOX_INTERVAL_SECONDS")
    )
    inbox_retry_seconds: float = Field(
        default=2.0, gt=0, validation_alias=_env("PAYMENTS_INBOX_RETRY_SECONDS")
    )
    inbox_max_attempts: int = Field(
        default=8, ge=1, le=50, validation_alias=_env("PAYMENTS_INBOX_MAX_ATTEMPTS")
    )
    inbox_processing: bool = Field(default=True, validation_alias=_env("PAYMENTS_INBOX_PROCESSING"))
    dispatching: bool = Field(default=True, validation_alias=_env("PAYMENTS_DISPATCHING"))
    pull_interval_seconds: float = Field(
        default=0.0, ge=0, validation_alias=_env("PAYMENTS_PULL_INTERVAL_SECONDS")
    )
    pull_window_seconds: float = Field(
        default=3600.0, gt=0, validation_alias=_env("PAYMENTS_PULL_WINDOW_SECONDS")
    )

    # Fineract / Mifos X (partner core banking) and NCBA
    fineract_base_url: str | None = Field(default=None, validation_alias=_env("FINERACT_BASE_URL"))
    fineract_username: str = Field(default="mifos", validation_alias=_env("FINERACT_USERNAME"))
    fineract_password: SecretStr = Field(
        default=SecretStr(""), validation_alias=_env("FINERACT_PASSWORD")
    )
    fineract_tenant: str = Field(default="default", validation_alias=_env("FINERACT_TENANT"))
    ncba_base_url: str | None = Field(default=None, validation_alias=_env("NCBA_BASE_URL"))
    ncba_subscription_key: SecretStr = Field(
        default=SecretStr(""), validation_alias=_env("NCBA_SUBSCRIPTION_KEY")
    )
    ncba_user_id: str = Field(default="", validation_alias=_env("NCBA_USER_ID"))
    ncba_password: SecretStr = Field(default=SecretStr(""), validation_alias=_env("NCBA_PASSWORD"))

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


SIMULATOR_CONSUMER_KEY = "sim-consumer-key"
SIMULATOR_CONSUMER_SECRET = "sim-consumer-secret"  # noqa: S105 - the local simulator's, not a secret
SANDBOX_STK_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def with_rails_defaults(settings: PaymentsSettings, environ: dict[str, str]) -> PaymentsSettings:
    """``HAZINA_RAILS=simulated`` (``make run``): point what was not set explicitly at the local
    simulators, register the C2B URLs on start, and keep a per-installation callback token in
    ``HAZINA_STATE_DIR``. Real credentials and base URLs given in the environment always win."""
    if environ.get("HAZINA_RAILS", "") != "simulated":
        return settings
    given = settings.model_fields_set
    update: dict[str, Any] = {}

    def default(field: str, value: Any) -> None:
        if field not in given:
            update[field] = value

    daraja_port = environ.get("DARAJA_SIM_PORT", "8191")
    default("mpesa_base_url", f"http://127.0.0.1:{daraja_port}")
    default("mpesa_consumer_key", SecretStr(SIMULATOR_CONSUMER_KEY))
    default("mpesa_consumer_secret", SecretStr(SIMULATOR_CONSUMER_SECRET))
    default("mpesa_stk_passkey", SecretStr(SANDBOX_STK_PASSKEY))
    if "mpesa_security_credential" not in given and "mpesa_certificate_path" not in given:
        # The simulator checks a credential only when it holds a private key; make-cert provides one.
        update["mpesa_security_credential"] = SecretStr("simulated-security-credential")
    default("mpesa_register_c2b_on_start", True)
    if public := environ.get("HAZINA_PUBLIC_URL"):
        default("mpesa_callback_base_url", public)
    if "mpesa_callback_token" not in given:
        update["mpesa_callback_token"] = SecretStr(_state_token(environ.get("HAZINA_STATE_DIR")))
    fineract_port = environ.get("FINERACT_SIM_PORT", "8192")
    default("fineract_base_url", f"http://127.0.0.1:{fineract_port}/fineract-provider/api/v1")
    default("fineract_password", SecretStr("password"))
    ncba_port = environ.get("NCBA_SIM_PORT", "8193")
    default("ncba_base_url", f"http://127.0.0.1:{ncba_port}")
    default("ncba_subscription_key", SecretStr("sim-subscription-key"))
    default("ncba_user_id", "sim-user")
    default("ncba_password", SecretStr("sim-password"))
    return settings.model_copy(update=update)


def _state_token(state_dir: str | None) -> str:
    """A random callback token kept across restarts (callbacks for in-flight requests carry it)."""
    import secrets
    from pathlib import Path

    if not state_dir:
        return secrets.token_hex(16)
    path = Path(state_dir) / "mpesa-callback-token"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    path.write_text(token)
    path.chmod(0o600)
    return token
