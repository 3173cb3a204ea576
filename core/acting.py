"""Who is acting on a person's behalf: set while a request runs under a personal access token.

The management API's authentication (rollout.api.manage.auth) calls `act_via_token(name)`;
`activity_record` reads `acting_token_name()` to note "via token <name>" on every entry the request
writes, and the services a token must never reach (people, roles, tokens, approvals) call
`refuse_via_token()`. A contextvar, so a request's value never leaks into another thread's; it is
cleared when any request starts and ends, because a worker thread serves request after request.
"""

from contextvars import ContextVar
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.signals import request_finished, request_started

MSG_NOT_VIA_TOKEN = (
    "A personal access token cannot do this: people, roles, tokens and approvals are managed "
    "only in the browser, signed in."
)

_token_name: ContextVar[str | None] = ContextVar("rollout_acting_token", default=None)


def act_via_token(name: str) -> None:
    """From now until the request ends, changes are made through the personal token `name`."""
    _token_name.set(name)


def acting_token_name() -> str | None:
    """The name of the personal token the current request acts through; None when signed in."""
    return _token_name.get()


def stop_acting_via_token(**kwargs: Any) -> None:
    _token_name.set(None)


def refuse_via_token() -> None:
    """Raise PermissionDenied (the API's 403) when the current request acts through a token."""
    if _token_name.get() is not None:
        raise PermissionDenied(MSG_NOT_VIA_TOKEN)


request_started.connect(stop_acting_via_token, dispatch_uid="core.acting.started")
request_finished.connect(stop_acting_via_token, dispatch_uid="core.acting.finished")
