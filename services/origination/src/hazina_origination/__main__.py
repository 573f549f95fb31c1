"""``python -m hazina_origination api|workers|import-legacy FILE|rebuild-read-models``."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from hazina_origination.adapters.read_models import truncate_read_models
from hazina_origination.adapters.spreadsheets import read_rows
from hazina_origination.application.legacy_import import import_legacy
from hazina_origination.bootstrap import Container, build
from hazina_origination.domain.errors import OriginationError
from hazina_origination.settings import OriginationSettings
from hazina_servicekit.cli import Command, service_main


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "import groups, clients and past loans from .xlsx or .csv"
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--actor-id", type=uuid.UUID, default=None, help="the staff user id recorded on the events"
    )
    parser.add_argument("--dry-run", action="store_true", help="check every row, import nothing")


def _import(container: Container, args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        rows = read_rows(path.name, path.read_bytes())
    except OriginationError as exc:
        sys.stderr.write(f"{path}: {exc}\n")
        return 2
    report = import_legacy(
        rows,
        container.app,
        actor_id=args.actor_id,
        correlation_id="legacy-import",
        dry_run=args.dry_run,
    )
    for error in report.errors:
        where = f"row {error['row']}" if error["row"] else "file"
        sys.stderr.write(f"{path}: {where}: {error['message']}\n")
    if report.errors:
        sys.stderr.write("nothing was imported\n")
        return 1
    container.projection.catch_up()
    verb = "would import" if args.dry_run else "imported"
    sys.stdout.write(
        f"{verb} {report.groups} groups, {report.clients} clients, {report.loans} past loans\n"
    )
    return 0


def _rebuild_read_models(container: Container) -> None:
    count = container.projection.rebuild(truncate_read_models)
    sys.stdout.write(f"read models rebuilt from {count} events\n")


def main(argv: list[str] | None = None) -> int:
    return service_main(
        argv,
        name="origination",
        settings=OriginationSettings,
        build=lambda settings, _command: build(settings),
        commands={
            "import-legacy": Command(run=_import, arguments=_import_arguments),
            "rebuild-read-models": _rebuild_read_models,
        },
    )


if __name__ == "__main__":
    raise SystemExit(main())
