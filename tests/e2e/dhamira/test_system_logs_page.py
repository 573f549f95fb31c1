"""The system-logs page (doc §3): ``GET /api/logs?file=all|error&limit=50..500[&level=]`` →
``{count, entries[{timestamp,level,message,raw}]}``, newest first, for super_admin and the admins.
The source is the log every service writes, as ``make run`` collects it (``HAZINA_STATE_DIR/logs/
hazina.log``), masked again as it is read."""

from __future__ import annotations

from typing import Any

import pytest

from hazina_devstack.testing import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e

LEVELS = {"debug", "info", "warn", "error"}


def test_the_page_reads_the_newest_entries_of_the_system_log(super_admin: Any) -> None:
    body = super_admin.ok("GET", "/api/logs?file=all&limit=100")
    assert body["count"] == len(body["entries"]) and 0 < body["count"] <= 100
    for entry in body["entries"]:
        for field in ("timestamp", "level", "message", "raw"):
            assert isinstance(entry[field], str), field
        assert entry["level"] in LEVELS  # the page lower-cases it
    assert any("identity" in entry["message"] for entry in body["entries"])
    assert ADMIN_PASSWORD not in str(body)


def test_error_file_and_level_filters_narrow_the_entries(super_admin: Any, new_staff: Any) -> None:
    admin = new_staff("initiator_admin")
    errors = admin.ok("GET", "/api/logs?file=error&limit=500")["entries"]
    assert {entry["level"] for entry in errors} <= {"error"}
    warnings = admin.ok("GET", "/api/logs?file=all&limit=50&level=warn")["entries"]
    assert {entry["level"] for entry in warnings} <= {"warn"}
    assert len(super_admin.ok("GET", "/api/logs?limit=1")["entries"]) <= 1


def test_a_loan_officer_may_not_read_the_system_log(new_staff: Any) -> None:
    assert new_staff("loan_officer").call("GET", "/api/logs?file=all").status_code == 403
