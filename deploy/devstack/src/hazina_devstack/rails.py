"""The simulated money rails of ``make run`` (``HAZINA_RAILS=simulated``): the environment that
points the payments gateway at the local Daraja, Fineract and NCBA simulators.

The gateway itself knows no simulator: it reads its rails from the environment like any
deployment, and this is where the local runtime (and docker compose, through
``python -m hazina_devstack with-rails``) fills in what was not set explicitly. Real credentials
and base URLs given in the environment always win.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

SIMULATOR_CONSUMER_KEY = "sim-consumer-key"
SIMULATOR_CONSUMER_SECRET = "sim-consumer-secret"  # noqa: S105  # pragma: allowlist secret
SANDBOX_STK_PASSKEY = (
    "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"  # pragma: allowlist secret
)


def simulated_rails(environ: Mapping[str, str]) -> dict[str, str]:
    """What to add to ``environ`` for the gateway to use the local simulators: only names it
    does not set, and nothing at all unless ``HAZINA_RAILS=simulated``."""
    if environ.get("HAZINA_RAILS", "") != "simulated":
        return {}
    daraja = f"http://127.0.0.1:{environ.get('DARAJA_SIM_PORT', '8191')}"
    fineract = f"http://127.0.0.1:{environ.get('FINERACT_SIM_PORT', '8192')}"
    ncba = f"http://127.0.0.1:{environ.get('NCBA_SIM_PORT', '8193')}"
    defaults = {
        "MPESA_BASE_URL": daraja,
        "MPESA_CONSUMER_KEY": SIMULATOR_CONSUMER_KEY,
        "MPESA_CONSUMER_SECRET": SIMULATOR_CONSUMER_SECRET,
        "MPESA_STK_PASSKEY": SANDBOX_STK_PASSKEY,
        "MPESA_REGISTER_C2B_ON_START": "true",
        "FINERACT_BASE_URL": f"{fineract}/fineract-provider/api/v1",
        "FINERACT_PASSWORD": "password",  # pragma: allowlist secret
        "NCBA_BASE_URL": ncba,
        "NCBA_SUBSCRIPTION_KEY": "sim-subscription-key",
        "NCBA_USER_ID": "sim-user",
        "NCBA_PASSWORD": "sim-password",  # pragma: allowlist secret
    }
    if "MPESA_SECURITY_CREDENTIAL" not in environ and "MPESA_CERTIFICATE_PATH" not in environ:
        # The simulator checks a credential only when it holds a private key; make-cert provides one.
        defaults["MPESA_SECURITY_CREDENTIAL"] = (
            "simulated-security-credential"  # pragma: allowlist secret
        )
    if public := environ.get("HAZINA_PUBLIC_URL"):
        defaults["MPESA_CALLBACK_BASE_URL"] = public
    if "MPESA_CALLBACK_TOKEN" not in environ:
        defaults["MPESA_CALLBACK_TOKEN"] = callback_token(environ.get("HAZINA_STATE_DIR"))
    return {name: value for name, value in defaults.items() if name not in environ}


def callback_token(state_dir: str | None) -> str:
    """A random callback token kept across restarts (callbacks for in-flight requests carry it)."""
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
