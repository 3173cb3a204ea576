"""core.db.connection_lost tells a connection that went away from a statement's own error."""

import sqlite3

import psycopg
import pytest
from django.db import DatabaseError, InterfaceError, OperationalError
from psycopg import errors as pg

from core.db import connection_lost


def _wrapped(django_error: type[Exception], cause: Exception) -> Exception:
    """As Django's DatabaseErrorWrapper raises it: the driver's error as the cause."""
    try:
        raise django_error(str(cause)) from cause
    except Exception as exc:  # noqa: BLE001
        return exc


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (
            _wrapped(OperationalError, pg.AdminShutdown("terminating connection")),
            True,
        ),
        (_wrapped(OperationalError, pg.CrashShutdown("crash")), True),
        (_wrapped(OperationalError, pg.ConnectionFailure("failure")), True),
        (_wrapped(OperationalError, psycopg.OperationalError("the connection is lost")), True),
        (_wrapped(InterfaceError, psycopg.InterfaceError("connection already closed")), True),
        (
            _wrapped(OperationalError, pg.DeadlockDetected("deadlock")),
            False,
        ),  # deadlock: not the link
        (_wrapped(OperationalError, pg.QueryCanceled("timeout")), False),
        (_wrapped(OperationalError, sqlite3.OperationalError("database is locked")), False),
        (_wrapped(DatabaseError, psycopg.DatabaseError("other")), False),
        (ValueError("not a database error"), False),
    ],
)
def test_connection_lost(error: Exception, lost: bool) -> None:
    assert connection_lost(error) is lost
