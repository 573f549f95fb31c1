"""Money is integer cents, read exactly from decimal text by one bounded parser."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hazina_contracts.money import (
    MAX_CENTS,
    MoneyParseError,
    format_cents,
    parse_kes_to_cents,
    parse_plain_decimal,
)


@pytest.mark.parametrize(
    ("given_value", "cents"),
    [
        ("1200", 120000),
        ("1200.00", 120000),
        ("1200.5", 120050),
        (1200, 120000),
        (1200.5, 120050),
        ("0.01", 1),
        ("007", 700),
        (Decimal("3.10"), 310),
        (Decimal("1.230"), 123),  # a Decimal from code is an exact value, not text a person typed
        (0.0, 0),
    ],
)
def test_reads_amounts_exactly(given_value: object, cents: int) -> None:
    assert parse_kes_to_cents(given_value) == cents


@pytest.mark.parametrize(
    ("given_value", "fragment"),
    [
        ("1.005", "2 decimal places"),
        ("12.345", "2 decimal places"),
        ("1.230", "2 decimal places"),
        (0.1 + 0.2, "2 decimal places"),
        ("-5", "negative"),
        ("abc", "not a valid"),
        ("0x10", "not a valid"),
        (".5", "not a valid"),
        ("5.", "not a valid"),
        ("--5", "not a valid"),
        ("١٢", "not a valid"),  # Arabic-Indic digits: Decimal would read them, we do not
        ("12\x00", "not a valid"),
        (True, "boolean"),
        (None, "number"),
        ([1], "number"),
        ("NaN", "finite"),
        ("-Infinity", "finite"),
        (float("inf"), "ordinary"),
        (float("nan"), "ordinary"),
        (1e30, "ordinary"),
        ("1e30", "exponent"),
        ("1e5", "exponent"),
        ("1E5", "exponent"),
        ("1e999999", "exponent"),
        ("1e400000", "exponent"),
        ("1e999997", "exponent"),
        ("1,000", "thousands separators"),
        ("20,000.00", "thousands separators"),
        (" 12", "spaces"),
        ("12 ", "spaces"),
        ("1 000", "spaces"),
        ("12\t", "spaces"),
        ("+5", "'+'"),
        ("9" * 20, "too large"),
        (10**16, "too large"),
        (-(10**4000), "too large"),
        ("1" * 33, "too long"),
        ("1" * 1_000_000, "too long"),
        (Decimal("1E+999999"), "too large"),
        (Decimal("1E-999999"), "2 decimal places"),
        (Decimal("NaN"), "finite"),
    ],
)
def test_refuses_what_is_not_an_exact_amount(given_value: object, fragment: str) -> None:
    with pytest.raises(MoneyParseError, match=re.escape(fragment)):
        parse_kes_to_cents(given_value)


def test_zero_can_be_refused() -> None:
    with pytest.raises(MoneyParseError, match="greater than zero"):
        parse_kes_to_cents("0", allow_zero=False)
    with pytest.raises(MoneyParseError, match="greater than zero"):
        parse_kes_to_cents("-0.00", allow_zero=False, allow_negative=True)


def test_negatives_only_where_allowed() -> None:
    assert parse_kes_to_cents("-3.5", allow_negative=True) == -350
    assert parse_kes_to_cents(-12, allow_negative=True) == -1200
    assert parse_kes_to_cents("-0", allow_negative=False) == 0
    with pytest.raises(MoneyParseError, match="too large"):
        parse_kes_to_cents(f"-{MAX_CENTS // 100 + 1}", allow_negative=True)


def test_the_bounds_are_max_cents() -> None:
    top = MAX_CENTS // 100
    assert parse_kes_to_cents(str(top)) == MAX_CENTS
    with pytest.raises(MoneyParseError, match="too large"):
        parse_kes_to_cents(f"{top}.01")


def test_grouped_thousands_only_when_the_document_writes_them() -> None:
    """An M-Pesa statement writes 1,200.00; only correct three-digit groups are read."""
    assert parse_kes_to_cents("1,200.00", allow_grouping=True) == 120_000
    assert parse_kes_to_cents("12,345,678", allow_grouping=True) == 1_234_567_800
    assert parse_kes_to_cents("500.00", allow_grouping=True) == 50_000
    for bad in ("1,00", "12,3456", ",100", "1,,000", "1,000,"):
        with pytest.raises(MoneyParseError):
            parse_kes_to_cents(bad, allow_grouping=True)


@given(st.integers(min_value=-MAX_CENTS, max_value=MAX_CENTS))
def test_formatting_and_parsing_round_trip(cents: int) -> None:
    assert parse_kes_to_cents(format_cents(cents), allow_negative=True) == cents


@given(st.text(max_size=40))
def test_any_accepted_text_round_trips_through_format_cents(text: str) -> None:
    """Whatever text is accepted has exactly one meaning: formatting it back reads the same."""
    try:
        cents = parse_kes_to_cents(text, allow_negative=True)
    except MoneyParseError:
        return
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]{1,2})?", text)
    assert parse_kes_to_cents(format_cents(cents), allow_negative=True) == cents
    assert Decimal(format_cents(cents)) == Decimal(text)


@given(
    st.from_regex(r"-?[0-9]{1,13}(\.[0-9]{1,2})?", fullmatch=True).filter(lambda t: "\n" not in t)
)
def test_every_plain_amount_is_accepted_exactly(text: str) -> None:
    cents = parse_kes_to_cents(text, allow_negative=True)
    assert Decimal(cents) / 100 == Decimal(text)
    assert parse_kes_to_cents(format_cents(cents), allow_negative=True) == cents


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_read_only_when_exact_to_the_cent(value: float) -> None:
    try:
        cents = parse_kes_to_cents(value, allow_negative=True)
    except MoneyParseError:
        return
    assert Decimal(repr(value)) == Decimal(cents) / 100


def test_plain_decimals_for_rates() -> None:
    assert parse_plain_decimal("4.50", what="rate", max_places=4) == Decimal("4.5")
    assert parse_plain_decimal(2.5, what="rate", max_places=4) == Decimal("2.5")
    assert parse_plain_decimal(3, what="rate", max_places=4) == Decimal(3)
    for bad, fragment in [
        ("1e999999", "rate .1e999999. is not a plain decimal"),
        ("0.00001", "at most 4 decimal places"),
        ("-1", "negative"),
        ("1" * 41, "too long"),
        (True, "boolean"),
        ("NaN", "finite"),
    ]:
        with pytest.raises(MoneyParseError, match=fragment):
            parse_plain_decimal(bad, what="rate", max_places=4)


def test_kes_number_is_exact_for_display() -> None:
    from hazina_contracts.money import kes_number

    assert kes_number(2_000_000) == 20000
    assert isinstance(kes_number(2_000_000), int)
    assert str(kes_number(120_050)) == "1200.50"
    assert str(kes_number(-5)) == "-0.05"


def test_kes_json_is_always_a_number_and_kes_number_fields_hold_cents() -> None:
    from pydantic import BaseModel

    from hazina_contracts.money import KesNumber, kes_json

    assert kes_json(2_000_000) == 20000 and isinstance(kes_json(2_000_000), int)
    assert kes_json(120_050) == 1200.5 and isinstance(kes_json(120_050), float)
    assert kes_json(-5) == -0.05

    class View(BaseModel):
        amount: KesNumber

    assert View(amount=120_050).amount == 120_050
    assert View(amount=120_050).model_dump_json() == '{"amount":1200.5}'
    assert View(amount=600_000).model_dump_json() == '{"amount":6000}'


def test_format_kes_as_people_read_it() -> None:
    from hazina_contracts.money import format_kes

    assert format_kes(5_000_000) == "KES 50,000.00"
    assert format_kes(399_999) == "KES 3,999.99"
    assert format_kes(-120_050) == "KES -1,200.50"
    assert format_kes(125_000, unit=False, drop_zero_cents=True) == "1,250"
    assert format_kes(125_050, unit=False, drop_zero_cents=True) == "1,250.50"
    assert format_kes(-5, unit=False, drop_zero_cents=True) == "-0.05"
