"""RolloutAPI: ninja's NinjaAPI with JSON errors everywhere, the body limits and the rate limit.

`json_response` renders a body exactly as the API's own responses are rendered, for the endpoints
that answer with a response of their own (the endpoint modules hold a Router, not the API).
"""

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.renderers import JSONRenderer

from core.errors import ApplicationError
from rollout.api.checks import JsonParser, UnreadableBody
from rollout.api.edge import guarded, unknown_path
from rollout.api.errors import (
    application_error,
    authentication_error,
    operation_error,
    throttled,
    unexpected_error,
    validation_error,
)
from rollout.api.fast_decision import fast_decision
from rollout.api.openapi import add_common_errors, examples_as_objects, hoist_local_defs
from rollout.api.throttling import TokenRateThrottle

RENDERER = JSONRenderer()


def json_response(request: HttpRequest, data: Any, *, status: int) -> HttpResponse:
    """What `RolloutAPI.create_response(request, data, status=status)` answers."""
    return HttpResponse(
        RENDERER.render(request, data, response_status=status),
        status=status,
        content_type=f"{RENDERER.media_type}; charset={RENDERER.charset}",
    )


# Operations answered again, on a new connection, when the database connection is lost under
# them: reads, and the events batch, which is idempotent on event_id. Others answer 503.
REPEATABLE = frozenset({"decision", "events", "metrics"})


class RolloutAPI(NinjaAPI):
    def __init__(self, **kwargs: Any) -> None:
        # Set on the API, so every operation and router inherits it, including ones added later.
        kwargs.setdefault("throttle", TokenRateThrottle())
        kwargs.setdefault("renderer", RENDERER)
        kwargs.setdefault("parser", JsonParser())
        super().__init__(**kwargs)
        # Functions that add paths served outside /api/v1/ (the open-standard endpoints, mounted
        # at their standard's own URLs) to this API's OpenAPI document, so its docs list them.
        self.extra_openapi: list[Callable[[dict[str, Any]], None]] = []
        self.add_exception_handler(HttpError, self._http_error)
        self.add_exception_handler(ValidationError, validation_error)
        self.add_exception_handler(AuthenticationError, authentication_error)
        self.add_exception_handler(Throttled, throttled)
        self.add_exception_handler(ApplicationError, application_error)
        self.add_exception_handler(Http404, unexpected_error)
        self.add_exception_handler(Exception, operation_error)

    def _http_error(self, request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja answers every parser error "Cannot parse request body": say what is wrong instead.
        if isinstance(exc.__cause__, UnreadableBody):
            message = exc.__cause__.message
            body = {"detail": message, "errors": [{"field": "", "message": message}]}
            return self.create_response(request, body, status=400)
        return self.create_response(request, {"detail": str(exc)}, status=exc.status_code)

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        urls = super()._get_urls()
        for url in urls:
            if isinstance(url, URLPattern):
                # ninja's root view only raises Http404 (the root's name stays: ninja reverses it).
                view = unknown_path if url.name == "api-root" else url.callback
                url.callback = guarded(view, repeatable=url.name in REPEATABLE)
                if url.name == "decision":
                    # In front of the guard: it answers only body-less GETs it fully checked.
                    url.callback = fast_decision(url.callback)
        # Last, so it only catches what no operation matched.
        return [*urls, re_path(r"^(?P<rest>.*)$", guarded(unknown_path), name="unknown-path")]

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(**kwargs)
        for add_paths in self.extra_openapi:
            add_paths(schema)
        hoist_local_defs(schema)
        examples_as_objects(schema)
        add_common_errors(schema)
        return schema
