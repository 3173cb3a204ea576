"""Waking a Celery task after the current transaction commits.

The database is the record; the broker is only a wake-up call. Every task woken here has a
periodic sweep that finds the same work in the database, so when the broker cannot be reached
the work is merely delayed: the outage is logged (once, not once per call) and the caller's
transaction stands. Services call `wake("rollout.tasks.<name>", *ids)` and never import the
tasks module, which imports services (HOUSE.md rule 2; Zulip's queue_event_on_commit).
"""

import logging
import threading

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What publishing raises when the broker is down: kombu's wrapper once its retries are spent,
# or the socket/file error itself (the embedded filesystem broker).
BROKER_ERRORS = (OperationalError, OSError)

_state = threading.local()


def wake(task_name: str, *args: object) -> None:
    """After commit (at once outside a transaction), enqueue `task_name` with `args`.

    `task_name` is a registered task's full name, e.g. "rollout.tasks.send_webhooks"; an unknown
    name raises KeyError when the wake-up fires (a test asserts every name used is registered).
    `current_app.tasks[name].delay` rather than `send_task`, so eager mode runs it in tests.
    """
    transaction.on_commit(lambda: _enqueue(task_name, args))


def _enqueue(task_name: str, args: tuple[object, ...]) -> None:
    task = current_app.tasks[task_name]
    try:
        task.delay(*args)
    except BROKER_ERRORS:
        if not getattr(_state, "broker_down", False):
            _state.broker_down = True
            logger.warning(
                "Could not enqueue %s: the broker is unreachable. The work is stored; the periodic"
                " sweep will do it. (Further failures are not logged until the broker answers.)",
                task_name,
                exc_info=True,
            )
        return
    if getattr(_state, "broker_down", False):
        _state.broker_down = False
        logger.info("The broker answers again (enqueued %s).", task_name)
