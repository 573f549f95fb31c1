"""Committed event schemas: every event has one, and none has changed incompatibly."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hazina_contracts.events import all_events
from hazina_contracts.events.identity import UserCreated
from hazina_contracts.schemas import DEFAULT_DIR, check, incompatibilities, schema_of


def test_every_event_matches_its_committed_schema() -> None:
    assert check() == []


def test_every_event_has_a_subject_in_its_service_namespace() -> None:
    for event in all_events():
        assert event.subject().startswith(event.STREAM.subject_prefix + ".")


def test_a_new_required_field_is_incompatible() -> None:
    old = schema_of(UserCreated)
    new = copy.deepcopy(old)
    new["properties"]["branch_code"] = {"type": "string"}
    new["required"].append("branch_code")
    assert incompatibilities(old, new) == ["field 'branch_code' is newly required"]


def test_a_removed_field_or_changed_type_is_incompatible() -> None:
    old = schema_of(UserCreated)
    new = copy.deepcopy(old)
    del new["properties"]["name"]
    new["properties"]["username"] = {"type": "integer"}
    assert incompatibilities(old, new) == [
        "field 'name' was removed",
        "field 'username' changed type",
    ]


def test_an_optional_new_field_is_compatible() -> None:
    old = schema_of(UserCreated)
    new = copy.deepcopy(old)
    new["properties"]["nickname"] = {"type": "string", "default": ""}
    assert incompatibilities(old, new) == []


def test_check_reports_a_changed_committed_schema(tmp_path: Path) -> None:
    for path in DEFAULT_DIR.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    target = tmp_path / "UserCreated.v1.json"
    schema = json.loads(target.read_text())
    schema["required"].remove("username")  # as if username had been optional when published
    schema["properties"]["legacy_code"] = {"type": "string"}
    target.write_text(json.dumps(schema))
    problems = check(tmp_path)
    assert problems == [
        "UserCreated v1: field 'legacy_code' was removed; raise its VERSION",
        "UserCreated v1: field 'username' is newly required; raise its VERSION",
    ]
