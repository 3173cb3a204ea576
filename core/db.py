"""Database helpers the ground floor can share."""

import logging
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

RECONNECT_PAUSES = (0.1, 0.5, 2.0, 5.0)  # seconds before each new try


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
