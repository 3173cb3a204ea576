"""Fail closed (HOUSE.md rule 10): LoginRequiredMiddleware makes every page need a sign-in, and
only these views are marked @login_not_required. A new public view must be added here on purpose."""

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC = {
    # Django's own sign-in and password-reset views (marked by Django).
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    # Signing out twice lands on the sign-in page.
    "logout",
    # Load balancers and monitors; /metrics checks its own bearer token.
    "healthz",
    "metrics",
    # Authenticated by the secret token in its address.
    "calendar_feed",
    # One-click unsubscribe (RFC 8058): the signed link in the email is the authority.
    "email_unsubscribe",
    # The open standards' endpoints authenticate with the workflow's API token, as the API does:
    # OpenFeature's OFREP and OpenTelemetry's OTLP/HTTP traces.
    "ofrep_evaluate_flag",
    "ofrep_evaluate_flags",
    "otlp_traces",
    # Any other path under their prefixes: the standard's 404, whoever asks.
    "ofrep_unknown_path",
    "otlp_unknown_path",
}


def _patterns(resolver: URLResolver, namespace: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _patterns(pattern, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}", pattern.callback


def test_the_middleware_is_installed_after_authentication(settings):
    middleware = settings.MIDDLEWARE
    login_required = f"{LoginRequiredMiddleware.__module__}.{LoginRequiredMiddleware.__name__}"
    assert middleware.index(login_required) > middleware.index(
        "core.middleware.PageAuthenticationMiddleware"
    )


def test_only_the_listed_views_and_the_token_api_are_open_without_a_sign_in():
    open_views = set()
    for name, callback in _patterns(get_resolver()):
        if name.startswith("admin:"):
            continue  # the admin site sends to its own sign-in
        if not getattr(callback, "login_required", True):
            open_views.add(name)
    api = {name for name in open_views if name.startswith("api:")}
    assert api  # the API authenticates with its own token, in JSON
    assert open_views - api == PUBLIC


def test_a_page_sends_the_signed_out_to_the_sign_in_page(db):
    response = Client().get("/workflows/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/workflows/"


def test_the_api_answers_the_signed_out_in_json_not_with_a_redirect(db):
    response = Client().get("/api/v1/decision?workflow=x&user=y")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
