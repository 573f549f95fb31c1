"""PostgreSQL connections from one DATABASE_URL; each service keeps its tables in its own schema."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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
