"""Error bodies of the JSON API: their schemas, their messages, and the exception handlers.

Every error is `{"detail": "..."}`; invalid input adds `"errors": [{"field", "message"}]` (with
`"index"` for an item of a batch). Messages are constants so tests assert the exact words.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import Schema
from ninja.errors import AuthenticationError, Throttled, ValidationError

from core.db import connection_lost
from core.errors import ApplicationError
from core.middleware import RETRY_AFTER_SECONDS
from rollout.api.limits import MSG_BODY_TOO_LARGE

logger = logging.getLogger(__name__)

MSG_INVALID_INPUT = "The request is invalid; see errors."
MSG_MALFORMED = "The request is malformed."
MSG_NUL = "The path or query contains a NUL character (%00), which no field accepts."
MSG_FORBIDDEN = "This API token may not do this."
MSG_NOT_FOUND = "Not found."
MSG_NOT_NULL = "This field cannot be null (in a change, leave it out to keep its value)."
MSG_UNKNOWN_PATH = "No API operation has this path. The operations are listed at /api/v1/docs."
MSG_METHOD_NOT_ALLOWED = "This method is not allowed here; see the Allow header."
MSG_RATE_LIMITED = "Too many requests with this API token. Retry after the Retry-After seconds."
MSG_SERVER_ERROR = "Something went wrong on our side. It has been logged; please retry later."
MSG_CONNECTION_LOST = (
    "The database connection was lost while answering. Send the request again after the "
    "Retry-After seconds."
)

WWW_AUTHENTICATE = 'Bearer realm="rollout"'
# The name of an operation's parameter bound to its whole JSON body (rollout.api.manage).
BODY_PARAMETER = "payload"


class ErrorOut(Schema):
    detail: str


class ErrorItemOut(Schema):
    index: int | None = None
    field: str
    message: str


class ValidationErrorOut(ErrorOut):
    errors: list[ErrorItemOut] = []


def json_error(status: int, detail: str, **extra: Any) -> HttpResponse:
    """An error response built without the API instance: for code outside ninja's handlers."""
    return JsonResponse({"detail": detail, **extra}, status=status)


def _error_item(error: dict[str, Any]) -> dict[str, Any]:
    # loc is (source, name, …): "query"/"body" first, then field names and list indexes.
    loc = list(error.get("loc", ()))
    path = loc[1:]
    if loc[:2] == ["body", BODY_PARAMETER]:
        # The operation's parameter that holds the body is not a field of the body.
        path = loc[2:]
    item: dict[str, Any] = {}
    indexes = [part for part in path if isinstance(part, int)]
    if indexes:
        item["index"] = indexes[0]
    item["field"] = ".".join(str(part) for part in path if not isinstance(part, int))
    # pydantic prefixes the messages of custom validators with "Value error, ".
    item["message"] = error.get("msg", "Invalid value.").removeprefix("Value error, ")
    return item


def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [_error_item(error) for error in exc.errors]
    return json_error(400, MSG_INVALID_INPUT, errors=errors)


def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = json_error(401, exc.message)
    response["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


def application_error_body(exc: ApplicationError) -> dict[str, Any]:
    """The JSON body of a refusal a service raised: its message, and the field it belongs to."""
    body: dict[str, Any] = {"detail": exc.message}
    if exc.field:
        body["errors"] = [{"field": exc.field, "message": exc.message}]
    return body


def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """A service refused (the management API calls the pages' services): 400 with its words."""
    return json_error(400, **application_error_body(exc))


def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    # ninja adds the Retry-After header from the throttle's wait() after this returns.
    return json_error(429, MSG_RATE_LIMITED)


def operation_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """ninja's handler of last resort. A lost database connection goes on up to the guard
    (rollout/api/edge.py), which may answer the request again on a new connection."""
    if connection_lost(exc):
        raise exc
    return unexpected_error(request, exc)


def unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The last resort, for exceptions no other handler knows. Django's own exceptions that
    mean "bad request" keep their status; a lost database connection is 503 with Retry-After;
    anything else is a bug: logged, answered as JSON 500."""
    if connection_lost(exc):
        logger.warning("Lost the database connection in %s %s", request.method, request.path)
        response = json_error(503, MSG_CONNECTION_LOST)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, Http404):
        return json_error(404, MSG_NOT_FOUND)
    if isinstance(exc, RequestDataTooBig):
        return json_error(413, MSG_BODY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation):
        return json_error(400, MSG_MALFORMED)
    if isinstance(exc, PermissionDenied):
        # A refusal that explains itself (core.acting.refuse_via_token) keeps its words.
        return json_error(403, str(exc) or MSG_FORBIDDEN)
    logger.exception("Unexpected error in %s %s", request.method, request.path, exc_info=exc)
    return json_error(500, MSG_SERVER_ERROR)
