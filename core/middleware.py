"""Middleware of the ground floor."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


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
