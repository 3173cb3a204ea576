"""The product's URLs plus the baseline the decision endpoint is compared with: a bare view at
/api/v1/bench/bare-decision, where it goes through exactly what any request to the API goes
through (the same server, settings and middleware), and the same view at /bench/bare-decision,
where it goes through what a page goes through."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as product_urlpatterns


@login_not_required  # as the API's views are: no sign-in redirect, the same JSON answer
def bare_decision(request: HttpRequest) -> JsonResponse:
    """A bare Django view returning the decision endpoint's JSON: no auth, no query, no cache —
    what the same server and middleware cost before any of Rollout's work."""
    return JsonResponse({"mode": "live", "phase": "limited", "cohort": "Bench cohort"})


@csrf_exempt  # as OFREP's views are: token-authenticated POSTs
@login_not_required
def bare_ofrep(request: HttpRequest) -> JsonResponse:
    """A bare Django view answering an OFREP evaluation's POST with JSON of the same shape: the
    baseline of bench/ofrep.py (no auth, no body parsing, no cache)."""
    return JsonResponse(
        {
            "key": "bench-workflow",
            "value": "live",
            "variant": "live",
            "reason": "TARGETING_MATCH",
            "metadata": {"phase": "limited", "cohort": "Bench cohort", "config_version": 1},
        }
    )


# Both ahead of the product's URLs (the API's own catch-all answers any other path under it).
urlpatterns = [
    path("api/v1/bench/bare-decision", bare_decision),
    path("bench/bare-decision", bare_decision),
    path("ofrep/v1/bench/bare-evaluate", bare_ofrep),
    *product_urlpatterns,
]
