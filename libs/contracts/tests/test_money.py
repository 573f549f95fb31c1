"""Money is integer cents, read exactly from decimal text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hazina_contracts.money import Money, MoneyParseError, format_cents, parse_kes_to_cents


@pytest.mark.parametrize(
    ("given_value", "cents"),
    [
        ("1200", 120000),
        ("1200.00", 120000),
        ("1200.5", 120050),
        (1200, 120000),
        (1200.5, 120050),
        ("0.01", 1),
        (" 20,000 ", 2000000),
        (Decimal("3.10"), 310),
        ("1.230", 123),
    ],
)
def test_reads_amounts_exactly(given_value: object, cents: int) -> None:
    assert parse_kes_to_cents(given_value) == cents


@pytest.mark.parametrize(
    ("given_value", "fragment"),
    [
        ("1.005", "2 decimal places"),
        (0.1 + 0.2, "2 decimal places"),
        ("-5", "negative"),
        ("abc", "not a valid"),
        (True, "boolean"),
        (None, "number"),
        ("NaN", "finite"),
        (float("inf"), "ordinary"),
        ("1e30", "too large"),
    ],
)
def test_refuses_what_is_not_an_exact_amount(given_value: object, fragment: str) -> None:
    with pytest.raises(MoneyParseError, match=fragment):
        parse_kes_to_cents(given_value)


def test_zero_can_be_refused() -> None:
    with pytest.raises(MoneyParseError, match="greater than zero"):
        parse_kes_to_cents("0", allow_zero=False)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_formatting_and_parsing_round_trip(cents: int) -> None:
    assert parse_kes_to_cents(format_cents(cents), allow_negative=True) == cents


def test_money_adds_in_cents() -> None:
    assert (Money.kes("10.10") + Money.kes("0.95")).amount_cents == 1105
    assert str(Money.kes("-3.5")) == "KES -3.50"


def test_kes_number_is_exact_for_display() -> None:
    from hazina_contracts.money import kes_number

    assert kes_number(2_000_000) == 20000
    assert isinstance(kes_number(2_000_000), int)
    assert str(kes_number(120_050)) == "1200.50"
    assert str(kes_number(-5)) == "-0.05"
