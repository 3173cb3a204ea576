"""RolloutAPI: ninja's NinjaAPI with JSON errors everywhere, the body limit and the rate limit."""

from typing import Any

from django.http import Http404
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, Throttled, ValidationError
from ninja.openapi.schema import OpenAPISchema

from rollout.api import errors
from rollout.api.edge import guarded, unknown_path
from rollout.api.fast_decision import fast_decision
from rollout.api.openapi import add_common_errors, hoist_local_defs
from rollout.api.throttling import TokenRateThrottle


class RolloutAPI(NinjaAPI):
    def __init__(self, **kwargs: Any) -> None:
        # Set on the API, so every operation and router inherits it, including ones added later.
        kwargs.setdefault("throttle", TokenRateThrottle())
        super().__init__(**kwargs)
        self.add_exception_handler(ValidationError, errors.validation_error)
        self.add_exception_handler(AuthenticationError, errors.authentication_error)
        self.add_exception_handler(Throttled, errors.throttled)
        self.add_exception_handler(Http404, errors.unexpected_error)
        self.add_exception_handler(Exception, errors.unexpected_error)

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        urls = super()._get_urls()
        for url in urls:
            if isinstance(url, URLPattern):
                # ninja's root view only raises Http404 (the root's name stays: ninja reverses it).
                view = unknown_path if url.name == "api-root" else url.callback
                url.callback = guarded(view)
                if url.name == "decision":
                    # In front of the guard: it answers only body-less GETs it fully checked.
                    url.callback = fast_decision(url.callback)
        # Last, so it only catches what no operation matched.
        return [*urls, re_path(r"^(?P<rest>.*)$", guarded(unknown_path), name="unknown-path")]

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPISchema:
        schema = super().get_openapi_schema(**kwargs)
        hoist_local_defs(schema)
        add_common_errors(schema)
        return schema
