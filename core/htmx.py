from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request after HtmxMiddleware: `request.htmx` tells an htmx call from a page load."""

    htmx: HtmxDetails
