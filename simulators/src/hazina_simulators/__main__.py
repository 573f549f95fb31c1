"""``python -m hazina_simulators daraja|fineract|ncba|africastalking --port N`` and ``make-cert --dir D``.

Settings come from the environment (``DARAJA_SIM_*``, ``FINERACT_SIM_*``, ``NCBA_SIM_*``); see each
simulator's config class. Only for local runs and tests: they hold no real credentials.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from fastapi import FastAPI

DEFAULT_PORTS = {"daraja": 8191, "fineract": 8192, "ncba": 8193, "africastalking": 8194}


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def _daraja_app() -> FastAPI:
    from hazina_simulators.daraja import DarajaConfig, create_app

    config = DarajaConfig()
    if key := _env("DARAJA_SIM_CONSUMER_KEY"):
        config.consumer_key = key
    if secret := _env("DARAJA_SIM_CONSUMER_SECRET"):
        config.consumer_secret = secret
    if path := _env("DARAJA_SIM_PRIVATE_KEY_PATH"):
        config.private_key_pem = Path(path).read_text()
    config.initiator_name = _env("DARAJA_SIM_INITIATOR_NAME")
    config.initiator_password = _env("DARAJA_SIM_INITIATOR_PASSWORD")
    if delay := _env("DARAJA_SIM_CALLBACK_DELAY_SECONDS"):
        config.callback_delay_seconds = float(delay)
    if passkey := _env("DARAJA_SIM_STK_PASSKEY"):
        config.stk_passkey = passkey
    return create_app(config)


def _fineract_app() -> FastAPI:
    from hazina_simulators.fineract import FineractConfig, create_app

    config = FineractConfig()
    if user := _env("FINERACT_SIM_USERNAME"):
        config.username = user
    if password := _env("FINERACT_SIM_PASSWORD"):
        config.password = password
    if tenant := _env("FINERACT_SIM_TENANT"):
        config.tenant = tenant
    return create_app(config)


def _ncba_app() -> FastAPI:
    from hazina_simulators.ncba import NcbaConfig, create_app

    config = NcbaConfig()
    if key := _env("NCBA_SIM_SUBSCRIPTION_KEY"):
        config.subscription_key = key
    if user := _env("NCBA_SIM_USER_ID"):
        config.user_id = user
    if password := _env("NCBA_SIM_PASSWORD"):
        config.password = password
    return create_app(config)


def _africastalking_app() -> FastAPI:
    from hazina_simulators.africastalking import AfricasTalkingConfig, create_app

    config = AfricasTalkingConfig()
    if key := _env("AFRICASTALKING_SIM_API_KEY"):
        config.api_key = key
    # Delivery reports go to the USSD service through the front door, as Africa's Talking's would.
    if url := _env("AFRICASTALKING_SIM_DELIVERY_REPORT_URL"):
        config.delivery_report_url = url
    elif public := _env("HAZINA_PUBLIC_URL"):
        config.delivery_report_url = f"{public.rstrip('/')}/api/sms/delivery-reports"
    return create_app(config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hazina_simulators")
    parser.add_argument(
        "command", choices=["daraja", "fineract", "ncba", "africastalking", "make-cert"]
    )
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--host", default=os.environ.get("HAZINA_BIND_HOST", "127.0.0.1"))
    parser.add_argument("--dir", type=Path, default=Path(".devstack/certs"))
    args = parser.parse_args(argv)
    if args.command == "make-cert":
        from hazina_simulators.certs import write

        key_path, cert_path = write(args.dir)
        sys.stdout.write(f"private key {key_path}\ncertificate {cert_path}\n")
        return 0
    factory = {
        "daraja": _daraja_app,
        "fineract": _fineract_app,
        "ncba": _ncba_app,
        "africastalking": _africastalking_app,
    }[args.command]
    uvicorn.run(
        factory(),
        host=args.host,
        port=args.port or DEFAULT_PORTS[args.command],
        log_config=None,
        access_log=False,
        # Behind the front door like the services: no banner, and idle connections kept longer
        # than Caddy keeps them (30 s), so Caddy never sends on one being closed.
        server_header=False,
        timeout_keep_alive=75,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
