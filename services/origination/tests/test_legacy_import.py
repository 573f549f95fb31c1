"""Legacy import: a file is checked row by row and imported whole, or not at all."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from openpyxl import Workbook

from hazina_origination.__main__ import main

HEADER = (
    "group_name,meeting_day,loan_officer_id,client_name,national_id,phone,residence,signatory_role,"
    "loan_amount,loan_outcome,loan_disbursed_on,loan_closed_on,loan_reference"
)


def legacy_csv(
    world: Any, officer_id: uuid.UUID, bad: bool = False
) -> tuple[bytes, list[str], str]:
    group = f"Legacy Umoja {uuid.uuid4().hex[:6]}"
    ids = [world.national_id() for _ in range(4)]
    rows = [
        f"{group},Tuesday,{officer_id},Mary Akinyi,{ids[0]},0712000001,owned,chairperson,15000,repaid,2024-01-10,"
        "2024-07-10,OLD-1",
        f"{group},,,Mary Akinyi,{ids[0]},0712000001,owned,,20000,repaid,2024-08-01,2025-02-01,OLD-2",
        f"{group},,,John Otieno,{ids[1]},0712000002,rented,secretary,,,,,",
        f"{group},,,Grace Wanjiru,{ids[2]},0712000003,,treasurer,5000,written off,2023-03-01,,OLD-3",
        f"{group},,,Peter Mutua,{ids[3]},0712000004,,,,,,,",
    ]
    if bad:
        rows[2] = f"{group},,,John Otieno,{ids[1]},020123,rented,secretary,,,,,"  # landline
        rows[4] = f"{group},Funday,,Peter Mutua,12AB,0712000004,,,abc,repaid,2024-13-01,,"
        rows.append(
            f"{group},,,Mary Akinyi,{ids[0]},0799999999,owned,,,,,,"
        )  # same ID, other phone
    return ("\n".join([HEADER, *rows]) + "\n").encode(), ids, group


def post(world: Any, name: str, data: bytes, *, dry_run: bool = False) -> Any:
    return world.http.post(
        f"/api/origination/import{'?dryRun=true' if dry_run else ''}",
        files={"file": (name, io.BytesIO(data), "application/octet-stream")},
        headers=world.super_admin.headers,
    )


def test_a_good_csv_imports_groups_clients_and_past_loans_as_legacy(world: Any) -> None:
    officer = world.staff("loan_officer")
    data, ids, group_name = legacy_csv(world, officer.user_id)
    dry = world.ok(post(world, "legacy.csv", data, dry_run=True))
    assert dry == {
        "message": "File is valid; nothing was imported (dry run)",
        "imported": False,
        "groups": 1,
        "clients": 4,
        "loans": 3,
    }
    assert (
        world.ok(world.http.get(f"/api/clients?search={ids[0]}", headers=world.super_admin.headers))
        == []
    )

    body = world.ok(post(world, "legacy.csv", data))
    assert body["imported"] is True and (body["groups"], body["clients"], body["loans"]) == (
        1,
        4,
        3,
    )
    groups = world.ok(world.http.get(f"/api/groups?search={group_name}", headers=officer.headers))
    assert (
        len(groups) == 1
        and groups[0]["status"] == "legacy"
        and groups[0]["meetingDay"] == "Tuesday"
    )
    assert groups[0]["chairperson"]["nationalId"] == ids[0] and groups[0]["membersCount"] == 4
    mary = world.ok(world.http.get(f"/api/clients?search={ids[0]}", headers=officer.headers))[0]
    assert (
        mary["status"] == "legacy"
        and mary["phone"] == "254712000001"
        and mary["hasLoanHistory"] is True
    )
    loans = world.ok(world.http.get(f"/api/loans?clientId={mary['_id']}", headers=officer.headers))
    assert sorted((loan["status"], loan["principal_cents"], loan["legacy"]) for loan in loans) == [
        ("repaid", 1_500_000, True),
        ("repaid", 2_000_000, True),
    ]
    assert {loan["legacyReference"] for loan in loans} == {"OLD-1", "OLD-2"}

    # Approved, Mary's imported repaid loans satisfy a product that requires one.
    world.ok(
        world.http.put(f"/api/groups/{groups[0]['_id']}/approve", headers=world.approver.headers)
    )
    world.ok(world.http.put(f"/api/clients/{mary['_id']}/approve", headers=world.approver.headers))
    world.savings(mary["_id"], 1_000_000)
    product = world.product(requirePriorRepaidLoan=True)
    world.ok(world.initiate(officer, mary, product), 201)

    again = post(world, "legacy.csv", data)
    assert again.status_code == 400
    assert {e["row"] for e in again.json()["errors"]} >= {2, 4, 5, 6}
    assert "already" in again.json()["message"] or "already" in again.json()["errors"][0]["message"]


def test_a_file_with_bad_rows_imports_nothing_and_names_each_bad_row(world: Any) -> None:
    data, ids, group_name = legacy_csv(world, uuid.uuid4(), bad=True)
    response = post(world, "legacy.csv", data)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Nothing was imported: 3 rows need fixing"
    errors = {e["row"]: e["message"] for e in body["errors"]}
    assert set(errors) == {4, 6, 7}
    assert "not a valid Kenyan mobile number" in errors[4]
    assert "meetingDay" in errors[6] and "nationalId" in errors[6] and "loan_amount" in errors[6]
    assert "not a date" in errors[6]
    assert "different name, phone or group" in errors[7]
    assert (
        world.ok(world.http.get(f"/api/clients?search={ids[0]}", headers=world.super_admin.headers))
        == []
    )
    assert (
        world.ok(
            world.http.get(f"/api/groups?search={group_name}", headers=world.super_admin.headers)
        )
        == []
    )


def test_an_xlsx_workbook_with_numbers_for_ids_and_phones_imports(world: Any) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    nid = world.national_id()
    sheet.append(
        ["Group Name", "Client Name", "ID Number", "Phone Number", "Loan Amount", "Loan Outcome"]
    )
    sheet.append(
        [
            f"Excel Group {uuid.uuid4().hex[:6]}",
            "Halima Noor",
            int(nid),
            712000009,
            12000.5,
            "Repaid",
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    body = world.ok(post(world, "old.xlsx", buffer.getvalue()))
    assert (body["groups"], body["clients"], body["loans"]) == (1, 1, 1)
    client = world.ok(
        world.http.get(f"/api/clients?search={nid}", headers=world.super_admin.headers)
    )[0]
    assert client["phone"] == "254712000009"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("old.xls", b"\xd0\xcf\x11\xe0 binary", "only .xlsx workbooks and .csv files"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "not a readable .xlsx"),
        ("header.csv", b"group_name,client_name,national_id,phone\n", "no data rows"),
    ],
)
def test_unreadable_files_are_refused(world: Any, name: str, data: bytes, message: str) -> None:
    response = post(world, name, data)
    assert response.status_code in (400, 409) and message in response.json()["message"]


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The command configures logging for the whole process, writing to this test's captured
    stdout; put the previous set-up back so later tests do not log into a closed file."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.configure(**config)
        structlog.contextvars.clear_contextvars()
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False


@pytest.mark.usefixtures("restored_logging")
def test_the_command_imports_a_file_or_reports_its_bad_rows(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = world.container.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ORIGINATION_UPLOADS_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("LOG_JSON", "false")
    bad, _, _ = legacy_csv(world, uuid.uuid4(), bad=True)
    (tmp_path / "bad.csv").write_bytes(bad)
    assert main(["import-legacy", str(tmp_path / "bad.csv")]) == 1
    err = capsys.readouterr().err
    assert "row 4:" in err and "row 6:" in err and "row 7:" in err and "nothing was imported" in err

    good, ids, _ = legacy_csv(world, uuid.uuid4())
    (tmp_path / "good.csv").write_bytes(good)
    actor = uuid.uuid4()
    assert main(["import-legacy", str(tmp_path / "good.csv"), "--actor-id", str(actor)]) == 0
    assert "imported 1 groups, 4 clients, 3 past loans" in capsys.readouterr().out
    found = world.ok(
        world.http.get(f"/api/clients?search={ids[3]}", headers=world.super_admin.headers)
    )
    assert found[0]["status"] == "legacy" and found[0]["createdBy"]["_id"] == str(actor)
