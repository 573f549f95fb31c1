"""A filtered list read from PostgreSQL: the filters a request gives, ANDed, and one page of the
rows they select with the count of them all (for ``X-Total-Count``).

``Filters`` keeps each condition with the values it binds, so the two never drift apart;
``counted_page`` reads the page and the total in one connection. Conditions are fixed SQL
fragments written in the code; only values are bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


@dataclass
class Filters:
    """The conditions of a WHERE clause and the values they bind, in order."""

    conditions: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)

    def add(self, condition: str, *values: object) -> None:
        """AND ``condition``, binding ``values`` to its ``%s`` placeholders."""
        self.conditions.append(condition)
        self.params.extend(values)

    @property
    def sql(self) -> str:
        """The conditions ANDed; ``true`` when there are none."""
        return " AND ".join(self.conditions) or "true"


def counted_page(
    pool: ConnectionPool,
    *,
    columns: str,
    source: str,
    filters: Filters,
    order_by: str,
    limit: int | None,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """``SELECT columns FROM source WHERE filters ORDER BY order_by``, ``limit`` rows (None: all)
    from ``offset``, and how many rows the filters select in all."""
    where = filters.sql
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        total = cur.execute(
            f"SELECT count(*) AS n FROM {source} WHERE {where}",  # noqa: S608 - fixed fragments
            filters.params,
        ).fetchone()
        rows = cur.execute(
            f"SELECT {columns} FROM {source} WHERE {where} "  # noqa: S608 - fixed fragments
            f"ORDER BY {order_by} LIMIT %s OFFSET %s",
            [*filters.params, limit, offset],
        ).fetchall()
    return rows, int(total["n"]) if total else 0
