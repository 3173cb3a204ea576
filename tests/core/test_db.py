"""core.db.connection_lost tells a connection that went away from a statement's own error;
core.db.lock_until_commit holds a lock until the transaction ends."""

import sqlite3

import psycopg
import pytest
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from psycopg import errors as pg

from accounts.models import User
from core.db import connection_lost, lock_until_commit, one_of_texts


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


def _advisory_locks_held() -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT classid::int, objid::int FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid() AND granted"
        )
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_the_lock_is_held_until_the_transaction_ends() -> None:
    with transaction.atomic():
        lock_until_commit(7, 42)
        lock_until_commit(7, 2**31 + 5)  # beyond 32 bits: taken modulo 2**31
        assert sorted(_advisory_locks_held()) == [(7, 5), (7, 42)]
    assert _advisory_locks_held() == []


def test_the_lock_needs_a_transaction() -> None:
    with pytest.raises(RuntimeError):
        lock_until_commit(7, 42)


@pytest.mark.django_db
def test_one_of_texts_matches_exactly_the_texts_given():
    names = ["plain", "a,b", '{"x"}', "quote'd", "back\\slash", "NULL", "é ü", "sep\x1fin", " "]
    User.objects.bulk_create(  # bulk: no model validation, so a control character goes in too
        [User(email=f"user{i}@example.com", display_name=name) for i, name in enumerate(names)]
    )
    wanted_sets = [
        {"plain"},
        set(names),
        {"a,b", '{"x"}', "nobody"},
        {"nobody"},
        {"sep\x1fin", "plain"},
        {"", "plain"},
    ]
    for wanted in wanted_sets:
        chosen = User.objects.filter(display_name__in=one_of_texts(wanted))
        assert set(chosen.values_list("display_name", flat=True)) == wanted & set(names)
    # "" is a text like any other (users without an external id have it).
    assert User.objects.filter(external_id__in=one_of_texts({""})).count() == len(names)
