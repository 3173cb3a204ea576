"""Database helpers the ground floor can share."""

import logging
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connection
from django.db.models.expressions import RawSQL

logger = logging.getLogger(__name__)

RECONNECT_PAUSES = (0.1, 0.5, 2.0, 5.0)  # seconds before each new try


# SQLSTATE classes of a connection that went away: 08 (connection exception), 57P (the server
# shutting down, crashed, or terminating the backend: pg_terminate_backend is 57P01).
LOST_SQLSTATES = ("08", "57P")


def connection_lost(exc: BaseException) -> bool:
    """True when `exc` is the database connection going away under a statement — a terminated
    backend, a restarted server, a failover — rather than the statement's own error (a deadlock,
    a constraint, a timeout, SQLite's "locked"), which the same request would meet again.

    Told by the error itself: after a transaction.atomic() block the connection has already been
    closed and opened anew by Django, so asking it would not tell."""
    if isinstance(exc, InterfaceError):  # Django's "connection already closed", psycopg's own
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith(LOST_SQLSTATES)
    # psycopg raises OperationalError without a SQLSTATE when the socket itself fails ("server
    # closed the connection unexpectedly", "the connection is lost", cannot connect).
    return type(cause).__module__.startswith("psycopg")


def retry_on_lost_connection[T](write: Callable[[], T]) -> T:
    """Run `write` — one short autocommit statement that is safe to repeat, such as "mark this
    row sent if it is still sending" — reconnecting when the database connection was lost (a
    failover, a restarted PostgreSQL, a backend terminated). For recording something that has
    already happened outside the database, where giving up would report it wrongly. Inside a
    transaction nothing can be retried: it raises at once."""
    for pause in (*RECONNECT_PAUSES, None):
        try:
            return write()
        except (OperationalError, InterfaceError):
            if pause is None or connection.in_atomic_block:
                raise
            logger.warning("Lost the database connection; reconnecting", exc_info=True)
            connection.close()  # the next query opens a new connection
            time.sleep(pause)
    raise AssertionError("unreachable")


def lock_until_commit(namespace: int, key: int) -> None:
    """Wait for, then hold until the current transaction ends, the lock named (namespace, key):
    for work that must not interleave with the same work in another transaction, where no row
    can be locked for it (rows yet to be inserted). A PostgreSQL transaction-level advisory lock:
    it locks no row, so nothing else waits for it. SQLite lets one transaction write at a time
    already: nothing to do there. Keys are taken modulo 2**31 (an advisory lock key is a 32-bit
    integer): two keys that meet share a lock, which only makes them wait for each other."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_until_commit() outside a transaction would not hold the lock.")
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [namespace, key % 2**31])


_SEPARATOR = "\x1f"  # the unit separator
_SPLIT = "SELECT unnest(string_to_array(%s, %s))"


def one_of_texts(values: set[str]) -> set[str] | RawSQL:
    """The right side of an `__in` filter on texts. On PostgreSQL one parameter: a batch names
    up to thousands of people or traces, and as many placeholders cost more to build and parse
    than the query itself. It is one text the server splits (psycopg builds an array parameter
    element by element in Python, which also cost more than the query); the separator is a
    control character, in no person's reference nor trace id (both refuse them). A set holding
    it, or "" (which splitting would drop), goes as an array."""
    if connection.vendor != "postgresql":
        return values
    if "" not in values and not any(_SEPARATOR in value for value in values):
        return RawSQL(_SPLIT, [_SEPARATOR.join(values), _SEPARATOR])  # noqa: S611 — constant SQL
    return RawSQL("SELECT unnest(%s::text[])", [list(values)])
