"""Signed-in pages carry Cache-Control: no-store, private (a shared or back-button cache must not
keep a page meant for one person). Static files keep their own long-lived caching."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from core.middleware import NoStoreWhenSignedInMiddleware

PAGES = ["home", "profile", "inbox", "people_list", "workflow_portfolio"]


def _directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.mark.parametrize("name", PAGES)
def test_every_signed_in_page_is_no_store(client, ops_leader, name):
    client.force_login(ops_leader)

    response = client.get(reverse(name))

    assert response.status_code == 200
    assert {"no-store", "private"} <= _directives(response)


def test_a_signed_in_htmx_partial_and_a_post_answer_are_no_store(client, ops_leader):
    client.force_login(ops_leader)

    partial = client.get(reverse("inbox_count"), HTTP_HX_REQUEST="true")
    assert {"no-store", "private"} <= _directives(partial)
    posted = client.post(reverse("profile"), {"display_name": "Olivia Ops"})
    assert {"no-store", "private"} <= _directives(posted)


def test_a_view_that_sets_its_own_cache_control_keeps_it(client, ops_leader):
    """never_cache (the token page) already says no-store; nothing is added twice."""
    client.force_login(ops_leader)

    response = client.get(reverse("login"))  # never_cache; a signed-in visitor is redirected

    assert response["Cache-Control"].count("no-store") == 1


def test_static_files_keep_their_own_caching(client, ops_leader):
    client.force_login(ops_leader)

    response = client.get("/static/css/rollout.css")

    assert response.status_code == 200
    assert "no-store" not in _directives(response)


def test_the_middleware_is_installed_after_authentication(settings):
    middleware = settings.MIDDLEWARE
    assert middleware.index("core.middleware.NoStoreWhenSignedInMiddleware") > middleware.index(
        "core.middleware.PageAuthenticationMiddleware"
    )


def _through_middleware(user, response: HttpResponse) -> HttpResponse:
    request = RequestFactory().get("/")
    request.user = user
    return NoStoreWhenSignedInMiddleware(lambda request: response)(request)


def test_an_own_cache_control_is_kept(ops_leader):
    own = HttpResponse()
    own["Cache-Control"] = "private, max-age=60"

    assert _through_middleware(ops_leader, own)["Cache-Control"] == "private, max-age=60"


def test_anonymous_answers_are_left_alone():
    assert not _through_middleware(AnonymousUser(), HttpResponse()).has_header("Cache-Control")
