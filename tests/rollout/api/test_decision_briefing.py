"""GET /api/v1/decision and the failure-mode briefing: a member who has not acknowledged it gets
the fallback with `reason` and `briefing_url`, from a warm cache without a query, and the answer
changes at once when they acknowledge (through the full path and the fast lane alike)."""

import pytest
from django.conf import settings

from rollout.services.briefings import BriefingText, briefing_acknowledge, briefing_publish
from tests.rollout.api.test_decision import ask
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

TEXT = BriefingText("Drafts replies.", "- A wrong refund amount.", "", "1. Do not send it.")
NOT_BRIEFED = {
    "mode": "shadow",
    "phase": "limited",
    "cohort": None,
    "config_version": 1,
    "reason": "not_briefed",
    "briefing_url": f"{settings.SITE_URL}/workflows/support-reply-drafting/briefing/",
}
LIVE = {
    "mode": "live",
    "phase": "limited",
    "cohort": "Tier 1",
    "config_version": 1,
    "review_level": "every",
}


@pytest.fixture
def briefing(workflow, workflow_owner, member, django_capture_on_commit_callbacks):
    make_plan(workflow, current="limited")
    with django_capture_on_commit_callbacks(execute=True):
        return briefing_publish(workflow=workflow, actor=workflow_owner, text=TEXT, material=True)


def test_an_unbriefed_member_is_told_why_and_where(api_client, api_token, member, briefing):
    response = ask(api_client, api_token, user=member.email)
    assert response.status_code == 200
    assert response.json() == NOT_BRIEFED


def test_warm_path_makes_no_query_for_a_held_back_member(
    api_client, api_token, member, briefing, django_assert_num_queries
):
    ask(api_client, api_token, user=member.email)
    with django_assert_num_queries(0):
        response = ask(api_client, api_token, user=member.email)
    assert response.json() == NOT_BRIEFED


def test_acknowledging_changes_the_answer_at_once(
    api_client, api_token, member, briefing, django_capture_on_commit_callbacks
):
    assert ask(api_client, api_token, user=member.email).json() == NOT_BRIEFED
    assert ask(api_client, api_token, user=member.email).json() == NOT_BRIEFED  # memo
    with django_capture_on_commit_callbacks(execute=True):
        briefing_acknowledge(briefing=briefing, user=member)
    assert ask(api_client, api_token, user=member.email).json() == LIVE


def test_the_schema_documents_reason_and_briefing_url(api_client):
    schema = api_client.get("/api/v1/openapi.json").json()
    properties = schema["components"]["schemas"]["DecisionOut"]["properties"]
    assert set(properties) == {
        "mode",
        "phase",
        "cohort",
        "config_version",
        "reason",
        "briefing_url",
        "review_level",
        "review_sample_rate",
    }
    assert "not_briefed" in str(properties["reason"])
    required = schema["components"]["schemas"]["DecisionOut"]["required"]
    assert "reason" not in required and "briefing_url" not in required
