"""Environment for an ``eventsourcing`` application stored in PostgreSQL, derived from DATABASE_URL."""

from __future__ import annotations

import uuid

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.conninfo import conninfo_to_dict

from hazina_servicekit.database import identifier


def postgres_env(database_url: str, schema: str, *, pool_size: int = 5) -> dict[str, str]:
    """Settings passed as ``Application(env=...)``; never by mutating ``os.environ``.

    The library's default insert lock is kept on purpose: its DB-functions mode lets
    followers skip events under concurrent writers (see shared/docs/eventsourcing.md §1.5).
    """
    params = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(params.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        "POSTGRES_SCHEMA": identifier(schema),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size * 2),
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "no",
        "CREATE_TABLE": "yes",
    }


def events_table(app: Application[uuid.UUID]) -> str:
    """The table ``app`` stores its events in, for the set-based SQL that reads it directly."""
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        raise TypeError(f"{type(app).__name__} is not stored in PostgreSQL (see postgres_env)")
    return recorder.events_table_name
