"""Middleware of the ground floor."""

import logging
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control

from core.db import connection_lost

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2


class NoStoreWhenSignedInMiddleware:
    """Cache-Control: no-store, private on every response to a signed-in person.

    A page meant for one person must not stay in a shared proxy, nor on disk for the back button
    of a shared computer after signing out. A view that set its own Cache-Control (never_cache,
    an export meant to be cached) keeps it. Static files never get here (WhiteNoise answers them
    earlier), and the token API's callers are not signed in.
    Installed after AuthenticationMiddleware, which provides request.user.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response


class LostConnectionMiddleware:
    """A page whose database connection went away mid-request (a terminated backend, a
    restarted server, a failover) answers 503 with Retry-After — "try again", which is true —
    instead of a 500 that reads as a bug. The next request gets a new connection. The JSON API
    answers its own (rollout/api/edge.py), repeating what is safe to repeat."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not connection_lost(exc):
            return None
        logger.warning("Lost the database connection in %s %s", request.method, request.path)
        connection.close()
        safe = request.method in ("GET", "HEAD")
        page = render_to_string(
            "errors/connection_lost.html",
            {"safe": safe, "path": request.get_full_path(), "retry_after": RETRY_AFTER_SECONDS},
        )
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        patch_cache_control(response, no_store=True)
        return response
