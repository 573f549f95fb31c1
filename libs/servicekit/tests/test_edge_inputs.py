"""The edge types: text that can be stored, ISO dates in sane years, literal search, and the audit
that keeps every route on them."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated, Any, Literal

import psycopg
import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from hazina_contracts.phones import Msisdn
from hazina_contracts.receipts import ReceiptNumber
from hazina_servicekit.dates import IsoDate, IsoDateTime
from hazina_servicekit.errors import add_error_handlers
from hazina_servicekit.inputs import unchecked_inputs
from hazina_servicekit.text import (
    MultilineText,
    PlainText,
    TextRule,
    like_contains,
    text_problem,
)

plain = TypeAdapter(PlainText)
multiline = TypeAdapter(MultilineText)


@pytest.mark.parametrize(
    "bad",
    [
        "a\x00b",
        "\x00",
        "tab\there",
        "line\nbreak",
        "cr\r",
        "bell\x07",
        "del\x7f",
        "c1\x85",
        "c1\x9f",
        "\ud800 lone surrogate",
        "non\ufffe",
        "non\ufdd0",
        "plane16\U0010ffff",
    ],
)
def test_plain_text_refuses_what_no_stored_text_should_hold(bad: str) -> None:
    with pytest.raises(ValidationError, match="must not contain control characters"):
        plain.validate_python(bad)


@pytest.mark.parametrize(
    "good",
    ["Umoja Women Group", "Nyáguthii Wanjirũ", "O'Brien & Sons (Ltd.)", "50% off_now", "😀", " "],
)
def test_plain_text_keeps_ordinary_text_exactly(good: str) -> None:
    assert plain.validate_python(good) == good


def test_multiline_text_allows_line_breaks_and_tabs_only() -> None:
    note = "Visited twice.\r\nPaid\tpartly.\n"
    assert multiline.validate_python(note) == note
    for bad in ("a\x00", "a\x0b", "a\x1b[31m", "a\x85", "a\udfff"):
        with pytest.raises(ValidationError, match="control characters"):
            multiline.validate_python(bad)


def test_the_problem_names_the_character_and_its_position() -> None:
    assert text_problem("ab\x00") == (
        "must not contain control characters: found a control character (U+0000) at "
        "position 3; use a single line"
    )
    assert "an unpaired surrogate (U+D800)" in (text_problem("\ud800") or "")
    assert "a Unicode non-character (U+FFFF)" in (text_problem("\uffff") or "")
    assert text_problem("fine") is None


@given(st.text())
def test_accepted_text_is_returned_unchanged(text: str) -> None:
    try:
        out = plain.validate_python(text)
    except ValidationError:
        return
    assert out == text
    assert text.encode("utf-8").decode("utf-8") == text  # storable as UTF-8
    assert "\x00" not in text


receipt = TypeAdapter(Annotated[ReceiptNumber, TextRule()])
phone = TypeAdapter(Annotated[Msisdn, TextRule()])


@pytest.mark.parametrize("bad", ["TAF2K9LMNP\n", "\tTAF2K9LMNP", "TAF\x00K9", "TAF2K9LMNP\x85"])
def test_a_value_type_is_checked_as_sent_before_it_trims_or_upper_cases(bad: str) -> None:
    # The receipt number would trim a trailing newline away; the text rule sees it first.
    with pytest.raises(ValidationError, match="must not contain control characters"):
        receipt.validate_python(bad)
    with pytest.raises(ValidationError, match="must not contain control characters"):
        phone.validate_python("0712345678\n")


def test_a_value_type_with_the_text_rule_still_reads_itself() -> None:
    read = receipt.validate_python(" taf2k9lmnp ")
    assert (read, type(read)) == ("TAF2K9LMNP", ReceiptNumber)
    assert phone.validate_python("0712 345 678") == "254712345678"
    with pytest.raises(ValidationError, match="letters, digits"):
        receipt.validate_python("TAF 2K9")


dates = TypeAdapter(IsoDate)
times = TypeAdapter(IsoDateTime)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (0, "YYYY-MM-DD"),
        ("0", "YYYY-MM-DD"),
        (1_700_000_000, "YYYY-MM-DD"),
        ("1700000000", "YYYY-MM-DD"),
        (True, "YYYY-MM-DD"),
        ("2025-1-5", "YYYY-MM-DD"),
        ("2025-01-05T00:00:00", "YYYY-MM-DD"),
        (" 2025-01-05", "YYYY-MM-DD"),
        ("2025-02-30", "not a calendar date"),
        ("0713-01-01", "between 1900 and 2200"),
        ("9999-12-31", "between 1900 and 2200"),
        (dt.date(1, 1, 1), "between 1900 and 2200"),
    ],
)
def test_a_date_is_iso_text_in_a_sane_year(bad: object, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        dates.validate_python(bad)


def test_good_dates_read_as_dates() -> None:
    assert dates.validate_python("2025-02-28") == dt.date(2025, 2, 28)
    assert dates.validate_python(dt.date(2025, 2, 28)) == dt.date(2025, 2, 28)


@pytest.mark.parametrize(
    ("good", "expected"),
    [
        ("2025-02-01T14:30:05+03:00", dt.datetime(2025, 2, 1, 11, 30, 5, tzinfo=dt.UTC)),
        ("2025-02-01T11:30:05Z", dt.datetime(2025, 2, 1, 11, 30, 5, tzinfo=dt.UTC)),
        ("2025-02-01 11:30:05.250Z", dt.datetime(2025, 2, 1, 11, 30, 5, 250000, tzinfo=dt.UTC)),
        ("2025-02-01T14:30+0300", dt.datetime(2025, 2, 1, 11, 30, tzinfo=dt.UTC)),
    ],
)
def test_good_datetimes_read_as_instants(good: str, expected: dt.datetime) -> None:
    assert times.validate_python(good) == expected


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (0, "ISO 8601"),
        ("1700000000", "ISO 8601"),
        ("2025-02-01", "ISO 8601"),
        ("2025-02-01T14:30:05", "ISO 8601"),  # no offset: not an instant
        ("0713-02-01T14:30:05Z", "between 1900 and 2200"),
        ("2025-02-30T14:30:05Z", "not a real date"),
        (dt.datetime(2025, 1, 1), "UTC offset"),  # noqa: DTZ001 - the naive datetime under test
    ],
)
def test_a_datetime_is_iso_text_with_an_offset(bad: object, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        times.validate_python(bad)


def test_like_contains_escapes_wildcards_and_the_escape_character() -> None:
    assert like_contains("50%") == "%50\\%%"
    assert like_contains("a_b") == "%a\\_b%"
    assert like_contains("c:\\x") == "%c:\\\\x%"


@pytest.mark.integration
def test_an_escaped_search_matches_only_the_literal_text(database_url: str) -> None:
    names = ["100% Women", "Umoja", "Under_score", "Undersc", "Back\\slash", "Backslash"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE t (name text)")
        for name in names:
            conn.execute("INSERT INTO t VALUES (%s)", (name,))

        def search(term: str) -> list[str]:
            rows = conn.execute(
                "SELECT name FROM t WHERE name ILIKE %s ESCAPE '\\' ORDER BY name",
                (like_contains(term),),
            ).fetchall()
            return [r[0] for r in rows]

        assert search("%") == ["100% Women"]
        assert search("_") == ["Under_score"]
        assert search("\\") == ["Back\\slash"]
        assert search("umo") == ["Umoja"]


# The audit


class Colour(Enum):
    RED = "red"


class Inner(BaseModel):
    note: str
    safe: PlainText


class Body(BaseModel):
    name: PlainText = Field(max_length=10)
    notes: MultilineText | None = None
    tags: list[PlainText] = []
    bad_tags: list[str] = []
    inner: Inner | None = None
    when: dt.date | None = None
    good_when: IsoDate | None = None
    colour: Colour = Colour.RED
    kind: Literal["a", "b"] = "a"
    ref: uuid.UUID | None = None
    anything: Any = None
    mapping: dict[str, int] = {}
    receipt: Annotated[ReceiptNumber, TextRule()] | None = None
    bare_receipt: ReceiptNumber | None = None


def _toy_app() -> FastAPI:
    app = FastAPI()
    add_error_handlers(app)

    @app.post("/things/{key}")
    def create(
        key: str, body: Body, search: Annotated[PlainText | None, Query()] = None
    ) -> dict[str, Any]:
        return {"ok": True}

    @app.get("/things")
    def listing(
        q: Annotated[str | None, Query(max_length=5)] = None,
        on: Annotated[IsoDate | None, Query()] = None,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        return {"on": on.isoformat() if on else None}

    @app.get("/callback/{token}")
    def callback(token: str) -> dict[str, Any]:
        return {}

    return app


def test_the_audit_names_every_unchecked_input() -> None:
    found = unchecked_inputs(_toy_app(), skip_path_prefixes=("/callback/",))
    assert found == [
        "GET /things query at: a bare datetime; use IsoDate or IsoDateTime",
        "GET /things query q: a bare str; use PlainText or MultilineText",
        "POST /things/{key} body body.anything: accepts anything (Any); give it a checked type",
        "POST /things/{key} body body.bad_tags[]: a bare str; use PlainText or MultilineText",
        "POST /things/{key} body body.bare_receipt: a bare str; use PlainText or MultilineText",
        "POST /things/{key} body body.inner.note: a bare str; use PlainText or MultilineText",
        "POST /things/{key} body body.mapping[key]: a bare str; use PlainText or MultilineText",
        "POST /things/{key} body body.when: a bare date; use IsoDate or IsoDateTime",
        "POST /things/{key} path key: a bare str; use PlainText or MultilineText",
    ]


def test_refusals_are_400s_that_name_the_field() -> None:
    client = TestClient(_toy_app())
    response = client.post("/things/k", json={"name": "Umoja\u0000"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("name: must not contain control characters")
    response = client.post("/things/k", json={"name": "ok", "tags": ["fine", "x\u0007"]})
    assert response.json()["message"].startswith("tags.1: must not contain control characters")
    response = client.post("/things/k?search=%00x", json={"name": "ok"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("search: must not contain control characters")
    response = client.get("/things?on=0")
    assert response.status_code == 400
    assert response.json()["message"] == "on: must be a date written YYYY-MM-DD"
    assert client.get("/things?on=2025-03-01").json() == {"on": "2025-03-01"}
