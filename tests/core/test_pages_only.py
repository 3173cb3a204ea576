"""Session, authentication and messages middleware: an API request with its own token goes past
them (core.middleware._PagesOnly) and loses nothing it needs; every other request, the API read
with a browser session included, goes through them."""

import pytest
from django.core import checks
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core.middleware import OFREP_PREFIX, OTLP_PREFIX, TOKEN_API_PREFIX
from tests.rollout.api.conftest import issue_token
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def test_an_api_answer_neither_reads_nor_writes_the_session(
    client, workflow, workflow_owner, ops_leader
):
    api_token = issue_token(workflow, workflow_owner)
    make_plan(workflow, current="shadow")
    client.force_login(ops_leader)  # a browser that is signed in, calling the API

    response = client.get(
        "/api/v1/decision",
        {"workflow": workflow.slug, "user": "a@example.com"},
        headers=api_token.headers,
    )

    assert response.status_code == 200
    assert "Vary" not in response
    assert "Cache-Control" not in response
    assert not response.cookies
    for header, value in SECURITY_HEADERS.items():
        assert response[header] == value
    assert response["Content-Security-Policy"].startswith("default-src 'self'")


def test_the_api_read_with_a_browser_session_still_has_the_person(client, workflow, ops_leader):
    client.force_login(ops_leader)

    response = client.get(reverse("api:metrics", kwargs={"slug": workflow.slug}))

    assert response.status_code == 200
    assert response.wsgi_request.auth == ops_leader
    assert {"no-store", "private"} <= {p.strip() for p in response["Cache-Control"].split(",")}


def test_a_page_still_has_its_session_its_person_and_its_csrf_cookie(client, ops_leader):
    client.force_login(ops_leader)

    response = client.get(reverse("profile"))

    assert response.status_code == 200
    assert response.wsgi_request.user == ops_leader
    assert "Cookie" in response["Vary"]
    assert "csrftoken" in response.cookies
    assert response["X-Frame-Options"] == "DENY"


def _under(resolver: URLResolver, prefix: str):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _under(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def test_everything_under_the_prefix_is_the_token_api():
    assert reverse("api:decision").startswith(TOKEN_API_PREFIX)
    under = [(r, cb) for r, cb in _under(get_resolver(), "/") if r.startswith(TOKEN_API_PREFIX)]
    assert under
    for route, callback in under:
        assert getattr(callback, "login_required", True) is False, route


def test_django_still_finds_the_middleware_it_requires():
    assert [e for e in checks.run_checks() if e.level >= checks.ERROR] == []


def test_everything_under_the_ofrep_prefix_is_token_authenticated():
    assert reverse("ofrep_evaluate_flags").startswith(OFREP_PREFIX)
    under = [
        (r, cb)
        for r, cb in _under(get_resolver(), "/")
        if r.startswith("/^" + OFREP_PREFIX[1:]) or r.startswith(OFREP_PREFIX)
    ]
    assert len(under) == 3  # the two evaluations and the JSON 404 of any other path
    for route, callback in under:
        assert getattr(callback, "login_required", True) is False, route


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_an_ofrep_answer_neither_reads_nor_writes_the_session(
    client, workflow, workflow_owner, ops_leader, header
):
    api_token = issue_token(workflow, workflow_owner)
    make_plan(workflow, current="shadow")
    client.force_login(ops_leader)  # a browser that is signed in, calling OFREP
    value = api_token.headers["Authorization"] if header == "Authorization" else api_token.plaintext

    response = client.post(
        f"/ofrep/v1/evaluate/flags/{workflow.slug}",
        {"context": {"targetingKey": "a@example.com"}},
        content_type="application/json",
        headers={header: value},
    )

    assert response.status_code == 200
    assert "Vary" not in response
    assert "Cache-Control" not in response
    assert not response.cookies
    assert not hasattr(response.wsgi_request, "user")
    # Without a token the session is read as for any page, and is no credential for OFREP.
    assert client.post(f"/ofrep/v1/evaluate/flags/{workflow.slug}").status_code == 401


def test_an_unknown_ofrep_path_with_a_token_is_a_json_404_without_the_session(client):
    response = client.post("/ofrep/v2/evaluate", headers={"X-API-Key": "ro_x"})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert not response.cookies


def test_an_otlp_export_neither_reads_nor_writes_the_session(
    client, workflow, workflow_owner, ops_leader
):
    assert reverse("otlp_traces").startswith(OTLP_PREFIX)
    api_token = issue_token(workflow, workflow_owner)
    client.force_login(ops_leader)  # a signed-in browser session, with an exporter's token

    response = client.post(
        "/otlp/v1/traces",
        {"resourceSpans": []},
        content_type="application/json",
        headers=api_token.headers,
    )

    assert response.status_code == 200
    assert not response.cookies
    assert not hasattr(response.wsgi_request, "user")
    # Without a token the session is read as for any page, and is no credential for OTLP.
    assert client.post("/otlp/v1/traces", {}, content_type="application/json").status_code == 401
