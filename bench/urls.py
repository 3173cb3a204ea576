"""The product's URLs plus the baseline the decision endpoint is compared with."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns


def bare_decision(request: HttpRequest) -> JsonResponse:
    """A bare Django view returning the decision endpoint's JSON: no auth, no query, no cache —
    what the same server and middleware cost before any of Rollout's work."""
    return JsonResponse({"mode": "live", "phase": "limited", "cohort": "Bench cohort"})


urlpatterns = [path("bench/bare-decision", bare_decision), *product_urlpatterns]
