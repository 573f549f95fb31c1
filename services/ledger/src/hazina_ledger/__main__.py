"""``python -m hazina_ledger api|relay|replay|verify|balance|assess-arrears`` (also ``hazina-ledger``)."""

from __future__ import annotations

import argparse
import sys

from hazina_ledger.bootstrap import build, build_http_app
from hazina_ledger.cli import run_cli
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit.logging import configure_logging
from hazina_servicekit.runtime import serve


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "api":
        parser = argparse.ArgumentParser(prog="hazina-ledger api")
        parser.add_argument("--port", type=int, default=None)
        options = parser.parse_args(args[1:])
        settings = LedgerSettings()
        configure_logging("ledger", level=settings.log_level, json=settings.log_json)
        container = build(settings)
        try:
            serve(build_http_app(container), port=options.port or settings.port)
        finally:
            container.close()
        return 0
    return run_cli(args)


if __name__ == "__main__":
    raise SystemExit(main())
