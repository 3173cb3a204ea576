"""What every URL under /api/v1/ goes through before and after ninja.

ninja's exception handlers only see exceptions raised inside an operation. A body over the limit,
a method the path does not allow (ninja answers those in plain text), a path with no operation
(Django would render its HTML 404 page), and errors outside an operation are answered here, so
every response of the API is JSON.
"""

import functools
import logging
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from core.acting import stop_acting_via_token
from core.db import connection_lost
from rollout.api.errors import (
    MSG_METHOD_NOT_ALLOWED,
    MSG_NUL,
    MSG_UNKNOWN_PATH,
    json_error,
    unexpected_error,
)
from rollout.api.limits import MSG_BODY_TOO_LARGE, body_too_large

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponseBase]


def _has_nul(request: HttpRequest) -> bool:
    # PostgreSQL refuses NUL in a string parameter, so a slug or user ref holding one would reach
    # the database as an error (a 500) in production, while SQLite in the tests takes it.
    return "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", "")


def guarded(view: View, *, repeatable: bool = False) -> View:
    """`view`, with the body limit checked first and every error it lets through made JSON.

    When the database connection is lost under it (a terminated backend, a failover), a
    `repeatable` view — a read, or a write that is idempotent — is answered once more on a new
    connection: what the first try wrote was rolled back with its connection, or is found again.
    Otherwise, or if that fails too, the answer is 503 with Retry-After."""

    @functools.wraps(view)  # also copies csrf_exempt: API operations authenticate by token
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        try:
            return _answer(request, *args, **kwargs)
        finally:
            # A personal token acts for this one call (rollout.api.manage.auth): whatever the
            # server does after the response, nothing else is logged "via token".
            stop_acting_via_token()

    def _answer(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        try:
            if body_too_large(request):
                return json_error(413, MSG_BODY_TOO_LARGE)
            if _has_nul(request):
                return json_error(400, MSG_NUL, errors=[])
            try:
                response = view(request, *args, **kwargs)
            except Exception as exc:
                if not (repeatable and connection_lost(exc)):
                    raise
                logger.warning("Lost the database connection; answering %s again", request.path)
                connection.close()  # the next query opens a new one
                response = view(request, *args, **kwargs)
        except Exception as exc:
            return unexpected_error(request, exc)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = json_error(405, MSG_METHOD_NOT_ALLOWED)
            response["Allow"] = allowed
        return response

    return wrapper


@csrf_exempt  # a POST to an unknown path gets the JSON 404, not the CSRF failure page
def unknown_path(request: HttpRequest, rest: str = "") -> HttpResponse:
    return json_error(404, MSG_UNKNOWN_PATH)
