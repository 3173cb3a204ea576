"""Contract of GET /api/v1/decision: every status it answers, with the exact body."""

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from rollout.api.auth import MSG_INVALID, MSG_MISSING
from rollout.api.decision import MSG_OTHER_WORKFLOW, MSG_UNKNOWN_WORKFLOW
from rollout.api.errors import MSG_INVALID_INPUT, MSG_RATE_LIMITED, WWW_AUTHENTICATE
from rollout.services.api_tokens import api_token_revoke
from tests.factories import make_workflow
from tests.rollout.api.conftest import IssuedToken
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

URL = "/api/v1/decision"
SLUG = "support-reply-drafting"


def ask(client: Client, token: IssuedToken, **params: str):
    return client.get(URL, {"workflow": SLUG, **params}, headers=token.headers)


# --- 200 ---------------------------------------------------------------------------------------


def test_live_for_a_member_of_a_live_cohort(api_client, api_token, workflow, member):
    make_plan(workflow, current="limited")
    response = ask(api_client, api_token, user="Mia.Member@EXAMPLE.com")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "mode": "live",
        "phase": "limited",
        "cohort": "Tier 1",
        "config_version": 1,
        "review_level": "every",
    }
    by_id = ask(api_client, api_token, user="EMP-7")
    assert by_id.json() == {
        "mode": "live",
        "phase": "limited",
        "cohort": "Tier 1",
        "config_version": 1,
        "review_level": "every",
    }


def test_off_for_someone_outside_the_cohorts(api_client, api_token, workflow, member):
    make_plan(workflow, current="limited")
    response = ask(api_client, api_token, user="someone@example.com")
    assert response.status_code == 200
    assert response.json() == {
        "mode": "off",
        "phase": "limited",
        "cohort": None,
        "config_version": 1,
    }


def test_shadow_for_everyone_in_shadow(api_client, api_token, workflow):
    make_plan(workflow, current="shadow")
    response = ask(api_client, api_token, user="anyone@example.com")
    assert response.status_code == 200
    assert response.json() == {
        "mode": "shadow",
        "phase": "shadow",
        "cohort": None,
        "config_version": 1,
    }


def test_off_before_the_plan_starts(api_client, api_token):
    response = ask(api_client, api_token, user="anyone@example.com")
    assert response.status_code == 200
    assert response.json() == {"mode": "off", "phase": None, "cohort": None, "config_version": 1}


def test_marks_the_token_used(api_client, api_token):
    assert api_token.token.last_used_at is None
    before = timezone.now()
    ask(api_client, api_token, user="anyone@example.com")
    api_token.token.refresh_from_db()
    assert api_token.token.last_used_at is not None
    assert before <= api_token.token.last_used_at <= timezone.now()


def test_warm_cache_touches_no_database(
    api_client, api_token, workflow, member, django_assert_num_queries
):
    make_plan(workflow, current="limited")
    ask(api_client, api_token, user=member.email)  # warms the cache and writes last_used_at
    with django_assert_num_queries(0):
        response = ask(api_client, api_token, user=member.email)
    assert response.json() == {
        "mode": "live",
        "phase": "limited",
        "cohort": "Tier 1",
        "config_version": 1,
        "review_level": "every",
    }


# --- 400 ---------------------------------------------------------------------------------------


def test_missing_parameters(api_client, api_token):
    response = api_client.get(URL, headers=api_token.headers)
    assert response.status_code == 400
    assert response.json() == {
        "detail": MSG_INVALID_INPUT,
        "errors": [
            {"field": "workflow", "message": "Field required"},
            {"field": "user", "message": "Field required"},
        ],
    }


def test_invalid_parameters(api_client, api_token):
    response = api_client.get(
        URL, {"workflow": "Not A Slug", "user": ""}, headers=api_token.headers
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": MSG_INVALID_INPUT,
        "errors": [
            {
                "field": "workflow",
                "message": "String should match pattern '^[a-z0-9]+(?:-[a-z0-9]+)*$'",
            },
            {"field": "user", "message": "String should have at least 1 character"},
        ],
    }


@pytest.mark.parametrize("user", ["tab\there", "bell\x07", "x" * 255])
def test_user_refs_nobody_can_have(api_client, api_token, user):
    response = ask(api_client, api_token, user=user)
    assert response.status_code == 400
    assert response.json()["detail"] == MSG_INVALID_INPUT
    assert [error["field"] for error in response.json()["errors"]] == ["user"]


# --- 401 ---------------------------------------------------------------------------------------


def assert_unauthorized(response, detail: str) -> None:
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_no_token(api_client):
    assert_unauthorized(api_client.get(URL, {"workflow": SLUG, "user": "a"}), MSG_MISSING)


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "ro_abc"])
def test_not_a_bearer_token(api_client, header):
    response = api_client.get(
        URL, {"workflow": SLUG, "user": "a"}, headers={"Authorization": header}
    )
    assert_unauthorized(response, MSG_MISSING)


@pytest.mark.parametrize("plaintext", ["ro_unknown", "not-ours", "ro_" + "x" * 300])
def test_unknown_token(api_client, plaintext):
    response = api_client.get(
        URL, {"workflow": SLUG, "user": "a"}, headers={"Authorization": f"Bearer {plaintext}"}
    )
    assert_unauthorized(response, MSG_INVALID)


def test_revoked_token(api_client, api_token, workflow_owner):
    api_token_revoke(token=api_token.token, actor=workflow_owner)
    assert_unauthorized(ask(api_client, api_token, user="a"), MSG_INVALID)


def test_authentication_comes_before_validation(api_client):
    assert_unauthorized(api_client.get(URL), MSG_MISSING)


# --- 403 / 404 ---------------------------------------------------------------------------------


def test_token_of_another_workflow(api_client, api_token, ops_leader):
    make_workflow(actor=ops_leader, slug="invoice-coding")
    response = api_client.get(
        URL, {"workflow": "invoice-coding", "user": "a"}, headers=api_token.headers
    )
    assert response.status_code == 403
    assert response.json() == {"detail": MSG_OTHER_WORKFLOW}


def test_unknown_workflow(api_client, api_token):
    response = api_client.get(
        URL, {"workflow": "no-such-workflow", "user": "a"}, headers=api_token.headers
    )
    assert response.status_code == 404
    assert response.json() == {"detail": MSG_UNKNOWN_WORKFLOW}


# --- 429 ---------------------------------------------------------------------------------------


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=2)
def test_rate_limited(api_client, api_token):
    assert ask(api_client, api_token, user="a").status_code == 200
    assert ask(api_client, api_token, user="a").status_code == 200
    response = ask(api_client, api_token, user="a")
    assert response.status_code == 429
    assert response.json() == {"detail": MSG_RATE_LIMITED}
    assert 1 <= int(response["Retry-After"]) <= 60
