"""A real lost database connection, for tests: the backend is terminated from a second
connection (pg_terminate_backend), as a failover or a restarted server would. PostgreSQL only:
SQLite has no server to lose."""

import contextlib
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a lost connection needs a database server"
)


def terminate_backend(conn) -> None:
    """Kill `conn`'s PostgreSQL backend from a second connection."""
    import psycopg

    pid = conn.connection.info.backend_pid
    params = conn.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])


@contextlib.contextmanager
def connection_lost_at(
    matches: Callable[[str], bool], *, after: bool = False
) -> Iterator[list[str]]:
    """Terminate the connection's backend just before the first statement for which
    `matches(sql)` is true, so that statement meets a dead connection — or, `after`, just after
    it, so whatever the connection does next does (a COPY, which no execute wrapper sees). Yields
    the statements cut (one at most). Closes a connection left unusable, so the test database
    can still be flushed."""
    cut: list[str] = []

    def lose(execute, sql, params, many, context):
        if cut or not matches(sql):
            return execute(sql, params, many, context)
        cut.append(sql)
        if after:
            result = execute(sql, params, many, context)
            terminate_backend(connection)
            return result
        terminate_backend(connection)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(lose):
            yield cut
    finally:
        if connection.connection is not None and not connection.is_usable():
            connection.close()
