from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path, re_path

from rollout.api import api
from rollout.api.ofrep.views import (
    ofrep_evaluate_flag,
    ofrep_evaluate_flags,
    ofrep_unknown_path,
)
from rollout.api.otlp import otlp_traces, otlp_unknown_path
from rollout.views.health import healthz
from rollout.views.metrics import metrics


def _token_authenticated(urls: tuple[list, str, str]) -> tuple[list, str, str]:
    """The API authenticates every request with its own token (401 in JSON, never a redirect to
    the sign-in page), so LoginRequiredMiddleware lets all its views through."""

    def mark(patterns: list[URLPattern | URLResolver]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                mark(pattern.url_patterns)
            else:
                login_not_required(pattern.callback)

    mark(urls[0])
    return urls


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", _token_authenticated(api.urls)),
    # OFREP at the standard's own paths (rollout/api/ofrep). Any key, even empty or with a slash,
    # reaches the view, so an unknown one is the protocol's JSON 404, never Django's HTML page.
    path("ofrep/v1/evaluate/flags", ofrep_evaluate_flags, name="ofrep_evaluate_flags"),
    re_path(
        r"^ofrep/v1/evaluate/flags/(?P<key>[\s\S]*)\Z",
        ofrep_evaluate_flag,
        name="ofrep_evaluate_flag",
    ),
    path("otlp/v1/traces", otlp_traces, name="otlp_traces"),
    # Any other path of either standard's prefix answers in that standard's terms.
    re_path(r"^ofrep/(?P<rest>[\s\S]*)\Z", ofrep_unknown_path, name="ofrep_unknown_path"),
    re_path(r"^otlp/(?P<rest>[\s\S]*)\Z", otlp_unknown_path, name="otlp_unknown_path"),
    path("", include("accounts.urls")),
    path("", include("rollout.urls")),
]
