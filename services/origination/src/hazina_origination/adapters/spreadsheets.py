"""Reading an import file, Excel (.xlsx, first sheet) or CSV, into numbered rows of text."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from hazina_origination.application.legacy_import import Row, header_key
from hazina_origination.domain.errors import InvalidInputError

MAX_ROWS = 20_000


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps ID and phone columns as numbers
    return str(value).strip()


def _rows(table: list[list[Any]]) -> list[Row]:
    if not table:
        raise InvalidInputError("the file is empty")
    header = [header_key(_cell_text(cell)) for cell in table[0]]
    if not any(header):
        raise InvalidInputError("the first row must name the columns")
    rows: list[Row] = []
    for index, raw in enumerate(table[1:], start=2):
        values = {name: _cell_text(cell) for name, cell in zip(header, raw, strict=False) if name}
        if any(values.values()):
            rows.append((index, values))
        if len(rows) > MAX_ROWS:
            raise InvalidInputError(f"the file has more than {MAX_ROWS} rows; split it")
    return rows


def read_rows(filename: str, data: bytes) -> list[Row]:
    """Rows numbered as the spreadsheet shows them (the header is row 1)."""
    if data[:2] == b"PK":  # .xlsx is a zip
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            raise InvalidInputError("the file is not a readable .xlsx workbook") from None
        try:
            sheet = workbook.worksheets[0]
            table = [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
        return _rows(table)
    if filename.lower().endswith((".xls", ".xlsx")):
        raise InvalidInputError("only .xlsx workbooks and .csv files can be imported")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError("a CSV file must be UTF-8 text") from None
    return _rows([list(r) for r in csv.reader(io.StringIO(text))])
