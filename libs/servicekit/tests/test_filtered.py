"""Filters keep each condition with the values it binds, ANDed in the order given."""

from __future__ import annotations

from hazina_servicekit.filtered import Filters


def test_no_filter_selects_every_row() -> None:
    assert (Filters().sql, Filters().params) == ("true", [])


def test_each_condition_binds_its_own_values_in_order() -> None:
    filters = Filters()
    filters.add("status = %s", "parked")
    filters.add("actor_id IS NULL")
    filters.add("(name = %s OR id::text = %s)", "wanjiru", "42")
    assert filters.sql == "status = %s AND actor_id IS NULL AND (name = %s OR id::text = %s)"
    assert filters.params == ["parked", "wanjiru", "42"]
