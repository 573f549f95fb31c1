"""Row changes held in memory and written in bulk, as if each statement had run in its turn.

This is what lets one definition of the read side serve both the live projection (a batch of a
few events) and a rebuild (pages of thousands) at COPY speed. The tables written are exactly
those of running each change in order, because:

- inserts are COPYed in their order; an insert of a row that still has an update waiting, a
  read, and any other statement first write everything held;
- updates to one row fold into one (a later ``set`` wins, ``add``s sum, an ``add`` after a
  ``set`` adds to it) and are written after the inserts, one ``UPDATE ... FROM unnest`` per
  table and set of columns; an update of a row that does not exist changes nothing, as in SQL;
- ``accumulate`` adds to a row, creating it the first time (``INSERT ... ON CONFLICT``); a
  rebuild split over processes has each add into its own copy of the table (``sums_into``),
  summed into the real one at the end, so no two of them wait on (or deadlock over) a row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

SET, ADD = "set", "add"
# From this many rows a COPY is sent by a second thread while this one formats (a rebuild's page).
QUEUED_COPY_ROWS = 2_000


@dataclass(frozen=True)
class Table:
    """A read table as the changes need it: its columns' SQL types and the column rows are found by."""

    name: str
    key: str | None
    types: dict[str, str]


def tables_of(ddl: str, keys: dict[str, str]) -> dict[str, Table]:
    """Every table the DDL creates, with its columns' types read from it (one column a line)."""
    tables = {}
    for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", ddl, re.S):
        types = {
            column: sql_type
            for column, sql_type in re.findall(r"^\s+(\w+) (\w+)", body, re.M)
            if column != "PRIMARY"
        }
        tables[name] = Table(name, keys.get(name), types)
    return tables


class RowChanges:
    """The changes one transaction makes to the read tables, written on ``flush``."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        tables: dict[str, Table],
        sums_into: Mapping[str, str] | None = None,
    ) -> None:
        self.conn = conn
        self.tables = tables
        self.sums_into = sums_into or {}  # table -> the table its ``accumulate``s are written to
        self.position = 0  # the notification id of the event being applied (orders statements)
        self._inserts: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}  # (table, *columns)
        self._updates: dict[str, dict[str, dict[str, list[Any]]]] = defaultdict(dict)
        self._sums: dict[str, dict[str, tuple[dict[str, Any], dict[str, int]]]] = defaultdict(dict)

    def insert(self, table: str, **row: Any) -> None:
        if self._updates:
            waiting = self._updates.get(table)
            if waiting:
                key = self.tables[table].key
                if key is not None and str(row[key]) in waiting:
                    self.flush()  # the update came first, and found no row
        shape = (table, *row)
        held = self._inserts.get(shape)
        if held is None:
            self._inserts[shape] = held = []
        held.append((*row.values(),))

    def set(self, table: str, key: Any, **values: Any) -> None:
        """``UPDATE table SET column = value, ... WHERE <key column> = key``."""
        row = self._updates[table].setdefault(str(key), {})
        for column, value in values.items():
            row[column] = [SET, value]

    def add(self, table: str, key: Any, **deltas: int) -> None:
        """``UPDATE table SET column = column + delta, ... WHERE <key column> = key``."""
        row = self._updates[table].setdefault(str(key), {})
        for column, delta in deltas.items():
            held = row.get(column)
            if held is None:
                row[column] = [ADD, delta]
            else:
                held[1] += delta

    def accumulate(self, table: str, key: Any, fixed: dict[str, Any], **deltas: int) -> None:
        """Insert the row (``fixed`` and ``deltas``) or, when it exists, add ``deltas`` to it."""
        sums = self._sums[table]
        held = sums.get(key)
        if held is None:
            sums[key] = (fixed, deltas)  # a fresh dict, this call's own
            return
        for column, delta in deltas.items():
            held[1][column] += delta

    def execute(self, query: str, params: tuple[Any, ...] = ()) -> psycopg.Cursor[Any]:
        """Any other statement or a read: it sees every change made before it."""
        self.flush()
        return self.conn.execute(query, params)

    def flush(self) -> None:
        if not (self._inserts or self._updates or self._sums):
            return
        inserts, updates, sums = self._inserts, self._updates, self._sums
        self._inserts, self._updates, self._sums = {}, defaultdict(dict), defaultdict(dict)
        with self.conn.cursor() as cur:
            for (table, *columns), rows in inserts.items():
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                # A rebuild's page: its rows are sent by a second thread while this one formats
                # the next, so PostgreSQL stores them meanwhile. The live follower's few rows go
                # on this thread: a thread started for each COPY cost more than it saved.
                writer = QueuedLibpqWriter(cur) if len(rows) >= QUEUED_COPY_ROWS else None
                with cur.copy(statement, writer=writer) as copy:
                    for values in rows:
                        copy.write_row(values)
            for table, held in sums.items():
                self._write_sums(cur, self.tables[table], held)
            for table, changed in updates.items():
                self._write_updates(cur, self.tables[table], changed)

    @staticmethod
    def _unnest(table: Table, columns: list[str]) -> sql.Composed:
        return sql.SQL("unnest({})").format(
            sql.SQL(", ").join(sql.SQL("%b::{}[]").format(sql.SQL(table.types[c])) for c in columns)
        )

    def _write_sums(
        self,
        cur: psycopg.Cursor[Any],
        table: Table,
        held: dict[str, tuple[dict[str, Any], dict[str, int]]],
    ) -> None:
        if table.key is None:  # pragma: no cover - a table without a key takes no sums
            raise ValueError(f"{table.name} has no key to add to")
        first_fixed, first_deltas = next(iter(held.values()))
        fixed, summed = list(first_fixed), list(first_deltas)
        columns = [table.key, *fixed, *summed]
        rows = [(key, *f.values(), *d.values()) for key, (f, d) in held.items()]
        target = self.sums_into.get(table.name, table.name)
        statement = sql.SQL(
            "INSERT INTO {t} ({columns}) SELECT * FROM {values} ON CONFLICT ({key}) DO UPDATE SET {sets}"
        ).format(
            t=sql.Identifier(target),
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            values=self._unnest(table, columns),
            key=sql.Identifier(table.key),
            sets=sql.SQL(", ").join(
                sql.SQL("{c} = {t}.{c} + EXCLUDED.{c}").format(
                    c=sql.Identifier(c), t=sql.Identifier(target)
                )
                for c in summed
            ),
        )
        cur.execute(statement, [list(column) for column in zip(*rows, strict=True)])

    def _write_updates(
        self, cur: psycopg.Cursor[Any], table: Table, changed: dict[str, dict[str, list[Any]]]
    ) -> None:
        if table.key is None:  # pragma: no cover - only keyed tables are updated
            raise ValueError(f"{table.name} has no key to update by")
        shapes: dict[tuple[tuple[str, str], ...], list[tuple[Any, ...]]] = defaultdict(list)
        for key, row in changed.items():
            shape = tuple((column, kind) for column, (kind, _) in row.items())
            shapes[shape].append((key, *(value for _, value in row.values())))
        for shape, rows in shapes.items():
            columns = [table.key, *(column for column, _ in shape)]
            statement = sql.SQL(
                "UPDATE {t} SET {sets} FROM {values} AS d ({columns}) WHERE {t}.{k} = d.{k}"
            ).format(
                t=sql.Identifier(table.name),
                sets=sql.SQL(", ").join(
                    (
                        sql.SQL("{c} = d.{c}") if kind == SET else sql.SQL("{c} = {t}.{c} + d.{c}")
                    ).format(c=sql.Identifier(column), t=sql.Identifier(table.name))
                    for column, kind in shape
                ),
                values=self._unnest(table, columns),
                columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
                k=sql.Identifier(table.key),
            )
            cur.execute(statement, [list(column) for column in zip(*rows, strict=True)])
