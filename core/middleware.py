"""Middleware of the ground floor."""

import logging
from collections.abc import Callable

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control

from core.db import connection_lost

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2

# Where the JSON API and OFREP are mounted (config/urls.py; a test holds them together).
TOKEN_API_PREFIX = "/api/"
OFREP_PREFIX = "/ofrep/"
OTLP_PREFIX = "/otlp/"


def is_token_api(request: HttpRequest) -> bool:
    """A request to the JSON API or to OTLP that brings its own credentials (Authorization:
    Bearer ...), or to OFREP with its token (Authorization, or OFREP's X-API-Key). OFREP and OTLP
    never read a session: their views answer 401 to a request without a valid token, whatever
    session it carries."""
    meta, path = request.META, request.path_info
    if path.startswith(OFREP_PREFIX):
        return "HTTP_AUTHORIZATION" in meta or "HTTP_X_API_KEY" in meta
    return "HTTP_AUTHORIZATION" in meta and path.startswith((TOKEN_API_PREFIX, OTLP_PREFIX))


class _PagesOnly:
    """Mixed into a Django middleware: a token-authenticated API request goes straight past it,
    every other request through it unchanged.

    An API request that sends an Authorization header is authenticated by that token alone:
    every API view then ignores the browser session (the metrics endpoint reads the session only
    when no Authorization header is sent), and none reads request.user or flash messages. So the
    middleware that provide those are work with no effect on such a request — about a third of
    the CPU of a warm decision request (`make bench`). Nothing they check is skipped: the token is
    the whole of the request's identity. A view under the prefix that read request.user would
    fail with an error, not open up. They stay subclasses of Django's own, so Django's system
    checks still find them installed. CSRF's middleware stays for every request: cheap on the
    API's csrf_exempt views, and Django's deploy check asks for it by name.
    """

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_token_api(request):
            return self.get_response(request)
        return super().__call__(request)


class PageSessionMiddleware(_PagesOnly, SessionMiddleware):
    pass


class PageAuthenticationMiddleware(_PagesOnly, AuthenticationMiddleware):
    pass


class PageMessageMiddleware(_PagesOnly, MessageMiddleware):
    pass


class NoStoreWhenSignedInMiddleware:
    """Cache-Control: no-store, private on every response to a signed-in person.

    A page meant for one person must not stay in a shared proxy, nor on disk for the back button
    of a shared computer after signing out. A view that set its own Cache-Control (never_cache,
    an export meant to be cached) keeps it. Static files never get here (WhiteNoise answers them
    earlier), and a token-authenticated API request has no request.user (see _PagesOnly).
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
