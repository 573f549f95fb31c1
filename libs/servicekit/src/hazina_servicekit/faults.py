"""Faults a service's tests plant in its own read side, to prove parked events can be retried.

Each service's ``test_parked_events`` needs a projection that fails on one event until "the fix
is deployed": a trigger refusing one value in one read table, dropped later. Written once here;
which table, column and value stay the service's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from psycopg import sql
from psycopg_pool import ConnectionPool

MESSAGE = "read model bug"


def read_model_bug(
    pool: ConnectionPool, *, table: str, column: str, value: str
) -> Callable[[], None]:
    """From now on inserting ``value`` into ``table.column`` raises ``read model bug``.

    Returns the fix: calling it drops the trigger, so the same insert succeeds.
    """
    name = sql.Identifier(f"refuse_{uuid.uuid4().hex[:12]}")
    where = sql.Identifier(table)
    with pool.connection() as conn:
        conn.execute(
            sql.SQL(
                """
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.{column} = {value} THEN RAISE EXCEPTION {message}; END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER {name} BEFORE INSERT ON {table}
                    FOR EACH ROW EXECUTE FUNCTION {name}();
                """
            ).format(
                name=name,
                column=sql.Identifier(column),
                value=sql.Literal(value),
                message=sql.Literal(MESSAGE),
                table=where,
            )
        )

    def fix() -> None:
        with pool.connection() as conn:
            conn.execute(sql.SQL("DROP TRIGGER {name} ON {table}").format(name=name, table=where))

    return fix
