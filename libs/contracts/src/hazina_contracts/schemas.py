"""Committed JSON Schema snapshots of every event, and the compatibility rule between them.

A change to an event that an older consumer could not read (a new required field, a removed
field, a changed type) is allowed only as a new ``VERSION``, which gets its own snapshot file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hazina_contracts.events import all_events
from hazina_contracts.events.base import ContractEvent

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "schemas"


def schema_of(event: type[ContractEvent]) -> dict[str, Any]:
    schema = event.model_json_schema()
    schema["title"] = event.TYPE
    schema["x-hazina-version"] = event.VERSION
    schema["x-hazina-subject"] = event.subject()
    return schema


def file_name(event: type[ContractEvent]) -> str:
    return f"{event.TYPE}.v{event.VERSION}.json"


def _fields(schema: dict[str, Any]) -> dict[str, Any]:
    return dict(schema.get("properties", {}))


def _type_of(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A comparable description of a property's type (refs resolved one level)."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        return json.dumps(defs.get(name, {}), sort_keys=True)
    keep = {
        k: v for k, v in prop.items() if k not in {"title", "description", "default", "examples"}
    }
    return json.dumps(keep, sort_keys=True)


def incompatibilities(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in ``new`` breaks a reader or writer of ``old`` at the same version."""
    problems: list[str] = []
    old_fields, new_fields = _fields(old), _fields(new)
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name in sorted(old_fields.keys() - new_fields.keys()):
        problems.append(f"field '{name}' was removed")
    for name in sorted(new_required - old_required):
        problems.append(f"field '{name}' is newly required")
    for name in sorted(old_fields.keys() & new_fields.keys()):
        if _type_of(old_fields[name], old_defs) != _type_of(new_fields[name], new_defs):
            problems.append(f"field '{name}' changed type")
    return problems


def check(directory: Path = DEFAULT_DIR) -> list[str]:
    """Every event has a snapshot, and none differs incompatibly from it."""
    problems: list[str] = []
    for event in all_events():
        path = directory / file_name(event)
        if not path.exists():
            problems.append(f"{file_name(event)}: no committed schema (run `make schemas`)")
            continue
        committed = json.loads(path.read_text())
        for problem in incompatibilities(committed, schema_of(event)):
            problems.append(f"{event.TYPE} v{event.VERSION}: {problem}; raise its VERSION")
    return problems


def export(directory: Path = DEFAULT_DIR) -> list[Path]:
    """Write a snapshot for every event version that has none; never rewrite a published one."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event in all_events():
        path = directory / file_name(event)
        new = schema_of(event)
        if path.exists() and incompatibilities(json.loads(path.read_text()), new):
            continue  # left for `check` to report
        text = json.dumps(new, indent=2, sort_keys=True) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hazina_contracts.schemas")
    parser.add_argument("command", choices=["export", "check"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    if args.command == "export":
        for path in export(args.dir):
            sys.stdout.write(f"wrote {path}\n")
    problems = check(args.dir)
    for problem in problems:
        sys.stderr.write(f"{problem}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
