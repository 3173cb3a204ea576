"""Every error of the API is JSON, including those no operation raises itself."""

import json

import pytest
from django.core.exceptions import TooManyFieldsSent
from django.http import Http404
from django.test import Client, RequestFactory

from rollout.api import api
from rollout.api.edge import guarded
from rollout.api.errors import (
    MSG_MALFORMED,
    MSG_METHOD_NOT_ALLOWED,
    MSG_NOT_FOUND,
    MSG_NUL,
    MSG_SERVER_ERROR,
    MSG_UNKNOWN_PATH,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/decision"
PARAMS = {"workflow": "support-reply-drafting", "user": "someone@example.com"}


@pytest.fixture
def csrf_client() -> Client:
    """Enforces CSRF like a real browserless client meets it: the API must not depend on it."""
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "path", ["/api/v1/", "/api/v1/no-such-operation", "/api/v1/decision/", "/api/v1/a/b/c"]
)
def test_unknown_paths(csrf_client, method, path):
    response = csrf_client.generic(method, path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": MSG_UNKNOWN_PATH}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_wrong_method(csrf_client, api_token, method):
    response = csrf_client.generic(method, URL, headers=api_token.headers)
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    if method != "HEAD":  # a HEAD response has no body
        assert response.json() == {"detail": MSG_METHOD_NOT_ALLOWED}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/decision?workflow=support-reply-drafting&user=a%00b",
        "/api/v1/workflows/support%00/metrics",
    ],
)
def test_nul_characters_never_reach_the_database(api_client, api_token, url):
    response = api_client.get(url, headers=api_token.headers)
    assert response.status_code == 400
    assert response.json() == {"detail": MSG_NUL, "errors": []}


def test_a_bug_is_logged_and_answered_as_json(api_client, api_token, monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("a bug")

    monkeypatch.setattr("rollout.api.decision.decide_cached", broken)
    response = api_client.get(URL, PARAMS, headers=api_token.headers)
    assert response.status_code == 500
    assert response.json() == {"detail": MSG_SERVER_ERROR}
    assert "a bug" not in response.content.decode()
    assert "Unexpected error in GET /api/v1/decision" in caplog.text
    assert "RuntimeError: a bug" in caplog.text


def test_a_bug_outside_any_operation_is_json_too(caplog):
    def view(request):
        raise RuntimeError("a bug")

    response = guarded(view)(RequestFactory().get("/api/v1/anything"))
    assert response.status_code == 500
    assert json.loads(response.content) == {"detail": MSG_SERVER_ERROR}
    assert "RuntimeError: a bug" in caplog.text


def test_http404_in_an_operation_is_json(api_client, api_token, monkeypatch):
    def not_found(*args):
        raise Http404("secret detail")

    monkeypatch.setattr("rollout.api.decision.decide_cached", not_found)
    response = api_client.get(URL, PARAMS, headers=api_token.headers)
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_NOT_FOUND}


def test_djangos_bad_request_exceptions_keep_their_meaning():
    def view(request):
        raise TooManyFieldsSent("too many")

    response = guarded(view)(RequestFactory().post("/api/v1/anything"))
    assert response.status_code == 400
    assert json.loads(response.content) == {"detail": MSG_MALFORMED}


def test_the_schema_and_docs_are_served(api_client):
    assert api_client.get("/api/v1/openapi.json").status_code == 200
    assert api_client.get("/api/v1/docs").status_code == 200


def test_the_schema_documents_the_common_errors_of_every_operation():
    schema = api.get_openapi_schema()
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert operations
    for operation in operations:
        responses = operation["responses"]
        if operation.get("parameters") or operation.get("requestBody"):
            assert 400 in responses
        if operation.get("requestBody"):
            assert 413 in responses
        if operation.get("security"):
            assert {401, 429} <= responses.keys()
            assert "Retry-After" in responses[429]["headers"]
        # Keyed by int, as ninja keys them: a string key beside it is a duplicate in the JSON.
        assert all(isinstance(status, int) for status in responses)
    components = schema["components"]["schemas"]
    assert {"ErrorOut", "ValidationErrorOut", "ErrorItemOut"} <= components.keys()
