"""``python -m hazina_origination api|relay|import-legacy FILE|rebuild-read-models``."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from hazina_origination.adapters.read_models import truncate_read_models
from hazina_origination.adapters.spreadsheets import read_rows
from hazina_origination.application.legacy_import import import_legacy
from hazina_origination.bootstrap import Container, build, build_http_app
from hazina_origination.domain.errors import OriginationError
from hazina_origination.settings import OriginationSettings
from hazina_servicekit.logging import configure_logging
from hazina_servicekit.runtime import serve


def _import(container: Container, path: Path, actor_id: uuid.UUID | None, dry_run: bool) -> int:
    try:
        rows = read_rows(path.name, path.read_bytes())
    except OriginationError as exc:
        sys.stderr.write(f"{path}: {exc}\n")
        return 2
    report = import_legacy(
        rows, container.app, actor_id=actor_id, correlation_id="legacy-import", dry_run=dry_run
    )
    for error in report.errors:
        where = f"row {error['row']}" if error["row"] else "file"
        sys.stderr.write(f"{path}: {where}: {error['message']}\n")
    if report.errors:
        sys.stderr.write("nothing was imported\n")
        return 1
    container.projection.catch_up()
    verb = "would import" if dry_run else "imported"
    sys.stdout.write(
        f"{verb} {report.groups} groups, {report.clients} clients, {report.loans} past loans\n"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hazina-origination")
    sub = parser.add_subparsers(dest="command", required=True)
    api = sub.add_parser("api", help="serve the HTTP API with the relay, consumers and projection")
    api.add_argument("--port", type=int, default=None)
    sub.add_parser("workers", help="run the relay, consumers and projection without the API")
    imp = sub.add_parser(
        "import-legacy", help="import groups, clients and past loans from .xlsx or .csv"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--actor-id", type=uuid.UUID, default=None, help="the staff user id recorded on the events"
    )
    imp.add_argument("--dry-run", action="store_true", help="check every row, import nothing")
    sub.add_parser("rebuild-read-models", help="replay the event log into fresh read tables")
    args = parser.parse_args(argv)
    settings = OriginationSettings()  # read from the environment
    configure_logging("origination", level=settings.log_level, json=settings.log_json)
    container = build(settings)
    try:
        if args.command == "api":
            serve(build_http_app(container), port=args.port or settings.port)
        elif args.command == "workers":
            container.service.run_without_http()
        elif args.command == "import-legacy":
            return _import(container, args.file, args.actor_id, args.dry_run)
        elif args.command == "rebuild-read-models":
            count = container.projection.rebuild(truncate_read_models)
            sys.stdout.write(f"read models rebuilt from {count} events\n")
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
