"""PostgreSQL connections from one DATABASE_URL; each service keeps its tables in its own schema."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any, cast

import psycopg
from psycopg import sql
from psycopg.adapt import PyFormat
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.array import BaseListDumper, ListBinaryDumper, ListDumper
from psycopg_pool import ConnectionPool

from hazina_contracts.money import AmountCents

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _amounts_as_ints(values: list[Any]) -> list[Any]:
    if any(type(value) is AmountCents for value in values):
        return [int(value) if type(value) is AmountCents else value for value in values]
    return values


class _AmountsAsInts(BaseListDumper):
    """A (flat) list that holds amounts is typed as if they were plain ints.

    psycopg types a list of ``int`` by its largest element, but a list holding an ``int``
    subclass by one element of it, and refuses a list that mixes the two: a batch's
    ``[AmountCents(224_400), AmountCents(5)]`` went as ``smallint[]`` and failed, and a batch of
    repayments (amounts) and savings changes (ints) was refused as mixed types. Either made a
    consumer's batch fall back to one message at a time. Only the choice of the array's type
    changes; each element is dumped as before.
    """

    def get_key(self, obj: list[Any], format: PyFormat) -> Any:
        return super().get_key(_amounts_as_ints(obj), format)

    def upgrade(self, obj: list[Any], format: PyFormat) -> BaseListDumper:
        # ListDumper and ListBinaryDumper, the classes this is mixed into, answer a list dumper.
        return cast(BaseListDumper, super().upgrade(_amounts_as_ints(obj), format))


class AmountListDumper(_AmountsAsInts, ListDumper):
    __doc__ = _AmountsAsInts.__doc__


class AmountListBinaryDumper(_AmountsAsInts, ListBinaryDumper):
    __doc__ = _AmountsAsInts.__doc__


# Every connection copies psycopg's global adapters when it opens, so this holds for every pool
# a service makes (its own, the event store's, the request path's async one). The text dumper
# is registered last, as psycopg does, so that it stays the one chosen by default.
psycopg.adapters.register_dumper(list, AmountListBinaryDumper)
psycopg.adapters.register_dumper(list, AmountListDumper)


def identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"'{name}' is not a safe SQL identifier")
    return name


def conninfo_for(database_url: str, **overrides: str) -> str:
    """Normalise a URL (including ``?host=/socket/dir`` forms) into a libpq conninfo string."""
    params = conninfo_to_dict(database_url)
    params.update(overrides)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def database_url_with_name(database_url: str, dbname: str) -> str:
    return conninfo_for(database_url, dbname=identifier(dbname))


def ensure_schema(database_url: str, schema: str) -> None:
    with psycopg.connect(conninfo_for(database_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(identifier(schema)))
        )


@contextlib.contextmanager
def one_start_at_a_time(database_url: str, service: str) -> Iterator[None]:
    """Hold a lock while one process of ``service`` makes its schema, tables and triggers, so
    processes started together (its API and its workers, replicas) never race on the DDL."""
    with psycopg.connect(conninfo_for(database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"hazina start {service}",))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (f"hazina start {service}",))


def ensure_database(database_url: str, dbname: str) -> None:
    """Create ``dbname`` on the server ``database_url`` points at, if it does not exist."""
    with psycopg.connect(conninfo_for(database_url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(identifier(dbname))))


def drop_database(database_url: str, dbname: str) -> None:
    with psycopg.connect(conninfo_for(database_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(identifier(dbname))
            )
        )


def open_pool(
    database_url: str,
    schema: str,
    *,
    min_size: int = 1,
    max_size: int = 8,
    autocommit: bool = False,
) -> ConnectionPool:
    """A pool whose connections resolve unqualified names in the service's schema first.

    ``autocommit``: each statement commits by itself, for a busy read path that would otherwise
    pay a BEGIN and a ROLLBACK round trip around every query (a ``conn.transaction()`` still
    groups statements)."""
    pool = ConnectionPool(
        conninfo_for(database_url),
        min_size=min_size,
        max_size=max_size,
        kwargs={
            "options": f"-c search_path={identifier(schema)},public",
            "autocommit": autocommit,
        },
        open=False,
        name=f"{schema}-pool",
    )
    pool.open(wait=True, timeout=30)
    return pool


def ping(pool: ConnectionPool) -> bool:
    try:
        with pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False
