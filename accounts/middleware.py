"""Every page in its reader's time zone."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.selectors import user_time_zone
from core.middleware import is_token_api


class ReaderTimeZoneMiddleware:
    """Activates the zone of the person asking (theirs, else the organisation's default) for the
    request, so every time on the page reads in it: Django's `date` filter, `localtime` and forms
    all use the active zone. Installed after AuthenticationMiddleware, which provides
    request.user; a token-authenticated API request has none and answers in UTC (ISO 8601).

    A signed-out request is left in the deployment's TIME_ZONE and reads nothing: the pages a
    stranger sees (sign-in, password reset, /healthz, the iCalendar feed, in UTC) show no local
    time, and the password-reset pages must do the same work for every address, cache warm or
    not (tests/accounts/views/test_password_reset.py).

    Costs no query: the authentication backend reads the organisation's default zone with the
    person (accounts.selectors.user_get_signed_in)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_token_api(request) or not request.user.is_authenticated:
            return self.get_response(request)
        timezone.activate(user_time_zone(request.user))
        try:
            return self.get_response(request)
        finally:
            # A worker thread serves the next request, maybe someone else's: nothing carries over.
            timezone.deactivate()
