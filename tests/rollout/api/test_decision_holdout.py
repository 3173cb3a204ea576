"""GET /api/v1/decision and outcome holdouts: a member in the holdout gets `off` with
`"reason": "holdout"` (before any briefing check), through the full path and the warm cache
alike; changing the holdout or moving someone out of it changes the answer at once."""

import pytest

from rollout.selectors.decision import in_holdout, member_key
from rollout.services.briefings import BriefingText, briefing_publish
from rollout.services.cohorts import cohort_enrol
from rollout.services.holdouts import holdout_release
from tests.rollout.api.test_decision import ask
from tests.rollout.holdout_fixtures import holdout_cohort
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db


def held(cohort: str = "Tier 1") -> dict:
    return {
        "mode": "off",
        "phase": "limited",
        "cohort": cohort,
        "config_version": 1,
        "reason": "holdout",
    }


LIVE = {
    "mode": "live",
    "phase": "limited",
    "cohort": "Tier 1",
    "config_version": 1,
    "review_level": "every",
}


@pytest.fixture
def setup(workflow, ops_leader):
    make_plan(workflow, current="limited")
    return holdout_cohort(workflow, ops_leader)


def test_a_holdout_member_is_off_with_the_reason_and_no_briefing_url(api_client, api_token, setup):
    response = ask(api_client, api_token, user=setup.held_out[0].email)
    assert response.status_code == 200
    assert response.json() == held()
    assert ask(api_client, api_token, user=setup.ai[0].email).json() == LIVE


def test_the_warm_path_serves_the_holdout_answer_without_a_query(
    api_client, api_token, setup, django_assert_num_queries
):
    email = setup.held_out[0].email
    ask(api_client, api_token, user=email)
    with django_assert_num_queries(0):
        response = ask(api_client, api_token, user=email)
    assert response.json() == held()


def test_the_holdout_applies_before_the_briefing(
    api_client, api_token, workflow, workflow_owner, setup, django_capture_on_commit_callbacks
):
    """A control group must not depend on who read the briefing: unbriefed holdout members
    are held out, not 'not briefed'."""
    text = BriefingText("Drafts replies.", "- A wrong refund.", "", "1. Do not send it.")
    with django_capture_on_commit_callbacks(execute=True):
        briefing_publish(workflow=workflow, actor=workflow_owner, text=text, material=True)
    assert ask(api_client, api_token, user=setup.held_out[0].email).json() == held()
    assert ask(api_client, api_token, user=setup.ai[0].email).json()["reason"] == "not_briefed"


def test_lowering_the_holdout_invalidates_cached_answers(
    api_client, api_token, ops_leader, setup, django_capture_on_commit_callbacks
):
    email = setup.held_out[0].email
    assert ask(api_client, api_token, user=email).json() == held()
    assert ask(api_client, api_token, user=email).json() == held()  # from memory
    with django_capture_on_commit_callbacks(execute=True):
        cohort_enrol(
            cohort=setup.cohort,
            phase="limited",
            percentage=100,
            holdout_percentage=0,
            actor=ops_leader,
        )
    assert ask(api_client, api_token, user=email).json() == LIVE


def test_moving_someone_out_of_the_holdout_makes_them_live_at_once(
    api_client, api_token, ops_leader, setup, django_capture_on_commit_callbacks
):
    person = setup.held_out[0]
    assert ask(api_client, api_token, user=person.email).json() == held()
    with django_capture_on_commit_callbacks(execute=True):
        holdout_release(
            cohort=setup.cohort, user=person, actor=ops_leader, reason="Leads the pilot team."
        )
    assert ask(api_client, api_token, user=person.email).json() == LIVE
    # The others stay held out.
    for other in setup.held_out[1:]:
        assert ask(api_client, api_token, user=other.email).json() == held()


def test_raising_the_enrolment_percentage_keeps_the_holdout(
    api_client, api_token, workflow, ops_leader, django_capture_on_commit_callbacks
):
    make_plan(workflow, current="limited")
    setup = holdout_cohort(workflow, ops_leader, people=100, holdout=30)
    with django_capture_on_commit_callbacks(execute=True):
        cohort_enrol(cohort=setup.cohort, phase="limited", percentage=40, actor=ops_leader)
    held_before = {
        u.email
        for u in setup.held_out
        if ask(api_client, api_token, user=u.email).json().get("reason") == "holdout"
    }
    assert held_before
    with django_capture_on_commit_callbacks(execute=True):
        cohort_enrol(cohort=setup.cohort, phase="limited", percentage=90, actor=ops_leader)
    for email in held_before:
        assert ask(api_client, api_token, user=email).json() == held()
    assert all(in_holdout(workflow.pk, member_key(u.pk), 30) for u in setup.held_out)


def test_the_schema_documents_the_holdout_reason(api_client):
    schema = api_client.get("/api/v1/openapi.json").json()
    reason = schema["components"]["schemas"]["DecisionOut"]["properties"]["reason"]
    assert "holdout" in str(reason) and "not_briefed" in str(reason)
