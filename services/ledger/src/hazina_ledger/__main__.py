"""``python -m hazina_ledger api|workers|replay|verify|balance|assess-arrears`` (also ``hazina-ledger``)."""

from __future__ import annotations

import sys

from hazina_ledger.bootstrap import build
from hazina_ledger.cli import run_cli
from hazina_ledger.settings import LedgerSettings
from hazina_servicekit.cli import service_main


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("api", "workers"):
        return service_main(
            args,
            name="ledger",
            settings=LedgerSettings,
            build=lambda settings, _command: build(settings),
            commands={},
        )
    return run_cli(args)


if __name__ == "__main__":
    raise SystemExit(main())
