"""The decision endpoint's fast lane (rollout/api/fast_decision.py): a repeat question answered
from this process's memo gives exactly what the ninja operation gives, is rate-limited the same
way, and never outlives a plan change or a revocation made in this process."""

import pytest
from django.test import override_settings

from rollout.api import fast_decision
from rollout.api.errors import MSG_RATE_LIMITED
from rollout.services.api_tokens import api_token_revoke
from rollout.services.phase_control import phase_pause
from tests.rollout.api.test_decision import ask
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def served_fast(monkeypatch) -> list[bool]:
    """Records, per request, whether the fast lane answered it."""
    calls: list[bool] = []
    original = fast_decision._answer_from_memory

    def spy(request):
        response = original(request)
        calls.append(response is not None)
        return response

    monkeypatch.setattr(fast_decision, "_answer_from_memory", spy)
    return calls


def test_a_repeat_question_is_answered_from_memory_with_the_same_body(
    api_client, api_token, workflow, member, served_fast, django_assert_num_queries
):
    make_plan(workflow, current="limited")
    first = ask(api_client, api_token, user=member.email)
    with django_assert_num_queries(0):
        second = ask(api_client, api_token, user=member.email)
    assert served_fast == [False, True]
    assert second.status_code == first.status_code == 200
    assert (
        second.json()
        == first.json()
        == {
            "mode": "live",
            "phase": "limited",
            "cohort": "Tier 1",
            "config_version": 1,
            "review_level": "every",
        }
    )
    assert second["Content-Type"] == first["Content-Type"]


def test_unusual_queries_take_the_full_path(api_client, api_token, workflow, served_fast):
    make_plan(workflow, current="shadow")
    ask(api_client, api_token, user="a@example.com")
    response = ask(api_client, api_token, user="a@example.com", extra="1")
    assert served_fast == [False, False]
    assert response.status_code == 200


def test_a_plan_change_is_seen_at_once(
    api_client, api_token, workflow, workflow_owner, member, django_capture_on_commit_callbacks
):
    make_plan(workflow, current="limited")
    assert ask(api_client, api_token, user=member.email).json()["mode"] == "live"
    with django_capture_on_commit_callbacks(execute=True):
        phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="off", reason="Drift")
    assert ask(api_client, api_token, user=member.email).json() == {
        "mode": "off",
        "phase": "limited",
        "cohort": None,
        "config_version": 1,
    }


def test_a_revoked_token_is_refused_at_once(
    api_client, api_token, workflow, ops_leader, django_capture_on_commit_callbacks
):
    make_plan(workflow, current="shadow")
    assert ask(api_client, api_token, user="a@example.com").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        api_token_revoke(token=api_token.token, actor=ops_leader)
    assert ask(api_client, api_token, user="a@example.com").status_code == 401


@override_settings(ROLLOUT_API_RATE_PER_MINUTE=2)
def test_the_fast_lane_counts_against_the_rate_limit(api_client, api_token, workflow, served_fast):
    make_plan(workflow, current="shadow")
    assert ask(api_client, api_token, user="a").status_code == 200
    assert ask(api_client, api_token, user="a").status_code == 200
    response = ask(api_client, api_token, user="a")
    assert served_fast == [False, True, True]
    assert response.status_code == 429
    assert response.json() == {"detail": MSG_RATE_LIMITED}
    assert 1 <= int(response["Retry-After"]) <= 60


def test_an_encoded_user_is_read_as_the_full_path_reads_it(
    api_client, api_token, workflow, member, served_fast
):
    make_plan(workflow, current="limited")
    path = "/api/v1/decision?workflow=support-reply-drafting&user=Mia.Member%40example.com"
    first = api_client.get(path, headers=api_token.headers)
    second = api_client.get(path, headers=api_token.headers)
    assert served_fast == [False, True]
    assert (
        second.json()
        == first.json()
        == {
            "mode": "live",
            "phase": "limited",
            "cohort": "Tier 1",
            "config_version": 1,
            "review_level": "every",
        }
    )


@pytest.mark.parametrize(
    "query",
    [
        "workflow=support-reply-drafting&user=a&user=b",  # a parameter twice
        "workflow=support-reply-drafting&user=a&",  # an empty third field
        "workflow=support-reply-drafting&user=%FF",  # not UTF-8
        "workflow=support-reply-drafting",  # one missing
    ],
)
def test_anything_but_the_two_parameters_once_each_takes_the_full_path(
    api_client, api_token, workflow, served_fast, query
):
    make_plan(workflow, current="shadow")
    ask(api_client, api_token, user="a")
    api_client.get(f"/api/v1/decision?{query}", headers=api_token.headers)
    assert served_fast == [False, False]
