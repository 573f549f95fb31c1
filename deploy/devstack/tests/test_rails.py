"""The simulated rails' settings live in the devstack: the gateway is given them as environment."""

from __future__ import annotations

from pathlib import Path

from hazina_devstack.rails import SIMULATOR_CONSUMER_KEY, simulated_rails
from hazina_payments_gateway.settings import PaymentsSettings


def test_real_rails_are_given_nothing() -> None:
    assert simulated_rails({}) == {}
    assert simulated_rails({"HAZINA_RAILS": "real"}) == {}


def test_simulated_rails_point_the_gateway_at_the_local_simulators(tmp_path: Path) -> None:
    environ = {
        "HAZINA_RAILS": "simulated",
        "DARAJA_SIM_PORT": "9191",
        "HAZINA_PUBLIC_URL": "http://127.0.0.1:8000",
        "HAZINA_STATE_DIR": str(tmp_path),
        "DATABASE_URL": "postgresql://unused",
    }

    settings = PaymentsSettings(**{**environ, **simulated_rails(environ)})  # type: ignore[arg-type]

    assert settings.mpesa_base_url == "http://127.0.0.1:9191"
    assert settings.mpesa_consumer_key.get_secret_value() == SIMULATOR_CONSUMER_KEY
    assert settings.mpesa_register_c2b_on_start is True
    assert settings.mpesa_callback_base_url == "http://127.0.0.1:8000"
    token = (tmp_path / "mpesa-callback-token").read_text().strip()
    assert settings.mpesa_callback_token is not None
    assert settings.mpesa_callback_token.get_secret_value() == token
    # The same token after a restart: callbacks for requests in flight carry it.
    assert simulated_rails(environ)["MPESA_CALLBACK_TOKEN"] == token


def test_what_the_environment_sets_wins() -> None:
    environ = {
        "HAZINA_RAILS": "simulated",
        "MPESA_BASE_URL": "https://api.safaricom.co.ke",
        "MPESA_CONSUMER_KEY": "",
        "MPESA_CERTIFICATE_PATH": "/etc/mpesa.cer",
        "MPESA_CALLBACK_TOKEN": "given",
    }

    added = simulated_rails(environ)

    assert not set(added) & set(environ)
    assert "MPESA_SECURITY_CREDENTIAL" not in added  # a certificate was given: no stand-in
