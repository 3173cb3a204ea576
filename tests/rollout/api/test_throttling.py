"""Rate limiting per API token (rollout.api.throttling)."""

import re

import pytest
from django.test import override_settings

from rollout.api import api
from rollout.api.auth import MSG_MISSING
from rollout.api.errors import MSG_RATE_LIMITED
from rollout.api.throttling import DEFAULT_RATE_PER_MINUTE, rate_per_minute
from tests.factories import make_workflow
from tests.rollout.api.conftest import issue_token
from tests.rollout.api.manage.conftest import issue_personal_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/decision"
PARAMS = {"workflow": "support-reply-drafting", "user": "someone@example.com"}
# 20 seconds into a minute: the window ends in 40 seconds.
T0 = 1_800_000_000 - 1_800_000_000 % 60 + 20.25


@pytest.fixture
def frozen_clock(monkeypatch):
    now = [T0]
    monkeypatch.setattr("rollout.api.throttling.clock", lambda: now[0])
    return now


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=3)
def test_the_request_over_the_rate_waits_for_the_next_window(api_client, api_token, frozen_clock):
    for _ in range(3):
        assert api_client.get(URL, PARAMS, headers=api_token.headers).status_code == 200
    response = api_client.get(URL, PARAMS, headers=api_token.headers)
    assert response.status_code == 429
    assert response.json() == {"detail": MSG_RATE_LIMITED}
    assert response["Retry-After"] == "40"

    frozen_clock[0] += 39.5
    response = api_client.get(URL, PARAMS, headers=api_token.headers)
    assert response["Retry-After"] == "1"

    frozen_clock[0] += 0.5  # the next window
    assert api_client.get(URL, PARAMS, headers=api_token.headers).status_code == 200


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=1)
def test_each_token_has_its_own_budget(api_client, api_token, workflow, workflow_owner):
    second = issue_token(workflow, workflow_owner, name="Batch job")
    assert api_client.get(URL, PARAMS, headers=api_token.headers).status_code == 200
    assert api_client.get(URL, PARAMS, headers=api_token.headers).status_code == 429
    assert api_client.get(URL, PARAMS, headers=second.headers).status_code == 200


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=1)
def test_requests_without_a_token_are_not_counted_or_throttled(api_client, api_token):
    assert api_client.get(URL, PARAMS, headers=api_token.headers).status_code == 200
    response = api_client.get(URL, PARAMS)
    assert response.status_code == 401
    assert response.json() == {"detail": MSG_MISSING}
    assert api_client.get("/api/v1/openapi.json").status_code == 200


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=1)
def test_invalid_requests_count_too(api_client, api_token):
    assert api_client.get(URL, headers=api_token.headers).status_code == 400
    assert api_client.get(URL, PARAMS, headers=api_token.headers).status_code == 429


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=0)
def test_every_operation_with_a_token_is_throttled(api_client, api_token, workflow_owner):
    """Every operation in the schema, including ones added after this test was written; the
    management operations with a personal token (theirs), the others with a workflow's."""
    personal = issue_personal_token(workflow_owner)
    schema = api.get_openapi_schema()
    secured = [
        (method, path, operation["security"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if operation.get("security")
    ]
    assert ("get", URL) in [(method, path) for method, path, _ in secured]
    for method, path, security in secured:
        url = re.sub(r"\{[^}]+\}", "1", path)  # "1" fits both int and str path converters
        by_person = any("PersonalTokenAuth" in scheme for scheme in security)
        headers = personal.headers if by_person else api_token.headers
        response = api_client.generic(method.upper(), url, headers=headers)
        assert response.status_code == 429, (method, path)
        if path.startswith("/otlp/"):  # OTLP answers a google.rpc.Status (rollout.api.otlp)
            assert response.json() == {"code": 8, "message": MSG_RATE_LIMITED}
        elif path.startswith("/ofrep/"):  # OFREP's error shape (rollout.api.ofrep)
            assert response.json() == {"errorDetails": MSG_RATE_LIMITED}
        else:
            assert response.json() == {"detail": MSG_RATE_LIMITED}
        assert 1 <= int(response["Retry-After"]) <= 60


class UnreachableCache:
    def incr(self, *args, **kwargs):
        raise ConnectionError("cache down")

    add = incr


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=1)
def test_an_unreachable_rate_counter_falls_back_to_a_local_limit(
    api_client, api_token, monkeypatch, caplog
):
    # With a really closed port: tests/rollout/api/test_cache_outage.py.
    monkeypatch.setattr("rollout.api.throttling.cache", UnreachableCache())
    assert api_client.get(URL, PARAMS, headers=api_token.headers).status_code == 200
    assert api_client.get(URL, PARAMS, headers=api_token.headers).status_code == 429
    assert "The cache is unreachable" in caplog.text


def test_rate_defaults_to_6000_a_minute(settings):
    if hasattr(settings, "ROLLOUT_API_RATE_PER_MINUTE"):
        del settings.ROLLOUT_API_RATE_PER_MINUTE
    assert rate_per_minute() == DEFAULT_RATE_PER_MINUTE == 6000
    settings.ROLLOUT_API_RATE_PER_MINUTE = 120
    assert rate_per_minute() == 120


def test_a_token_of_another_workflow_is_throttled_on_its_own_budget(
    api_client, api_token, ops_leader
):
    other = make_workflow(actor=ops_leader, slug="invoice-coding")
    other_token = issue_token(other, ops_leader, name="Invoices")
    with override_settings(ROLLOUT_API_RATE_PER_MINUTE=1):
        assert api_client.get(URL, PARAMS, headers=other_token.headers).status_code == 403
        assert api_client.get(URL, PARAMS, headers=api_token.headers).status_code == 200
