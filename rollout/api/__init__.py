"""The JSON API at /api/v1/ (PRODUCT.md "JSON API").

Every error is JSON: `{"detail": "..."}`, plus `"errors": [{"field": ..., "message": ...}]` (and
`"index"` for an item of a batch) when the input is invalid.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from rollout.api.auth import ApiTokenAuth

MSG_INVALID_INPUT = "The request is invalid; see errors."

api = NinjaAPI(
    title="Rollout API",
    version="1",
    urls_namespace="api",
    auth=ApiTokenAuth(),
    description=(
        "Machine access to Rollout. Authenticate with `Authorization: Bearer <token>`; a token "
        "belongs to one workflow and is created on that workflow's API tokens page."
    ),
)


def _error_item(error: dict[str, Any]) -> dict[str, Any]:
    # loc is (source, name, …): "query"/"body" first, then field names and list indexes.
    path = list(error.get("loc", ()))[1:]
    item: dict[str, Any] = {}
    indexes = [part for part in path if isinstance(part, int)]
    if indexes:
        item["index"] = indexes[0]
    item["field"] = ".".join(str(part) for part in path if not isinstance(part, int))
    item["message"] = error.get("msg", "Invalid value.")
    return item


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [_error_item(error) for error in exc.errors]
    return api.create_response(request, {"detail": MSG_INVALID_INPUT, "errors": errors}, status=400)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(request, {"detail": exc.message}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="rollout"'
    return response


# Registers the operations; imported last because the modules use `api`.
from rollout.api import decision  # noqa: E402, F401
