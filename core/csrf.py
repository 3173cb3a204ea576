"""CSRF protection for a page sent with `Referrer-Policy: no-referrer`.

A page whose address holds a secret (the signed approval link) tells the browser never to send
that address on, as a Referer, anywhere. The same policy also makes the browser send
`Origin: null` with a POST from the page, even to its own site (Fetch standard, "append a request
`Origin` header"), and Django's CSRF check refuses a null origin: every form on the page would
fail.

`csrf_protect_no_referrer` is Django's check unchanged — the CSRF cookie and the token posted
with the form, and the origin — except that an origin of "null" is taken as this site's when the
browser itself says the request comes from this site's own pages: `Sec-Fetch-Site: same-origin`.
No page can set that header (it is a forbidden header name, set by the browser only), and a
cross-site form gets `cross-site`; a browser that sends no such header gets Django's refusal, as
before, and can decide on the request's ordinary page. The view must also be `csrf_exempt`, so
the site-wide middleware leaves the check to this one.
"""

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware

NULL_ORIGIN = "null"


class _NoReferrerCsrfViewMiddleware(CsrfViewMiddleware):
    def _origin_verified(self, request: HttpRequest) -> bool:
        if (
            request.META.get("HTTP_ORIGIN") == NULL_ORIGIN
            and request.META.get("HTTP_SEC_FETCH_SITE") == "same-origin"
        ):
            return True
        return super()._origin_verified(request)


csrf_protect_no_referrer = decorator_from_middleware(_NoReferrerCsrfViewMiddleware)
