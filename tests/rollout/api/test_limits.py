"""413 for a request body over MAX_BODY_BYTES, on every path under /api/v1/."""

import pytest
from django.test import override_settings

from rollout.api import MAX_BODY_BYTES
from rollout.api.limits import MSG_BODY_TOO_LARGE

pytestmark = pytest.mark.django_db

URL = "/api/v1/decision"
PARAMS = "?workflow=support-reply-drafting&user=someone@example.com"
TOO_LARGE = {"detail": MSG_BODY_TOO_LARGE}


def test_the_limit_is_one_mebibyte():
    assert MAX_BODY_BYTES == 1024 * 1024
    assert MSG_BODY_TOO_LARGE.startswith("The request body is larger than 1 MiB")


@pytest.mark.parametrize("path", [URL, "/api/v1/events", "/api/v1/no-such-operation"])
def test_a_body_over_the_limit(api_client, api_token, path):
    response = api_client.post(
        path, b"[" + b" " * MAX_BODY_BYTES + b"]", "application/json", headers=api_token.headers
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_the_limit_comes_before_authentication(api_client):
    response = api_client.post(URL, b"x" * (MAX_BODY_BYTES + 1), "application/json")
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_a_body_of_exactly_the_limit_is_accepted(api_client, api_token):
    response = api_client.generic(
        "GET", URL + PARAMS, b"x" * MAX_BODY_BYTES, "application/json", headers=api_token.headers
    )
    assert response.status_code == 200


def test_a_declared_length_over_the_limit_is_refused_unread(api_client, api_token):
    # The test client's payload would refuse to be read past its 2 bytes: nothing reads it.
    response = api_client.generic(
        "POST", URL, b"{}", "application/json", CONTENT_LENGTH=str(MAX_BODY_BYTES + 1)
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


def test_a_malformed_content_length_is_not_an_error(api_client, api_token):
    response = api_client.generic(
        "GET", URL + PARAMS, b"", headers=api_token.headers, CONTENT_LENGTH="lots"
    )
    assert response.status_code == 200


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_djangos_own_lower_limit_is_a_413_too(api_client, api_token):
    response = api_client.generic(
        "GET", URL + PARAMS, b"x" * 1001, "application/json", headers=api_token.headers
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
