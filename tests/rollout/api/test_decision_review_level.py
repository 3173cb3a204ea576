"""The decision answer's review level (the autonomy ladder): present on a live answer, with the
sample rate at `sample`; cached answers carry it and a change of level reaches them at once."""

import pytest
from django.core.cache import cache
from jsonschema import Draft202012Validator

from rollout.models import Cohort, ReviewLevel
from rollout.selectors.decision import (
    Decision,
    decide_cached,
    decision_memo_key,
    plan_version,
)
from rollout.services.autonomy import autonomy_change
from tests.rollout.api.test_decision import ask
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

LIVE = {"mode": "live", "phase": "limited", "cohort": "Tier 1", "config_version": 1}


def test_a_sampled_enrolment_answers_its_level_and_rate(api_client, api_token, sampled_cohort):
    body = ask(api_client, api_token, user="mia.member@example.com").json()
    assert body == {**LIVE, "review_level": "sample", "review_sample_rate": 10}


@pytest.mark.parametrize("level", [ReviewLevel.EVERY, ReviewLevel.NONE])
def test_other_levels_answer_no_rate(api_client, api_token, sampled_cohort, level):
    Cohort.objects.filter(pk=sampled_cohort.pk).update(review_level=level)
    body = ask(api_client, api_token, user="EMP-7").json()
    assert body == {**LIVE, "review_level": str(level)}


@pytest.mark.parametrize("current", ["shadow", "audit"])
def test_an_answer_that_is_not_live_has_no_level(api_client, api_token, workflow, member, current):
    make_plan(workflow, current=current)
    body = ask(api_client, api_token, user=member.email).json()
    assert "review_level" not in body and "review_sample_rate" not in body


def test_a_change_of_level_reaches_cached_answers_at_once(
    api_client, api_token, sampled_cohort, ops_leader, django_capture_on_commit_callbacks
):
    user = "mia.member@example.com"
    assert ask(api_client, api_token, user=user).json()["review_level"] == "sample"
    assert ask(api_client, api_token, user=user).json()["review_level"] == "sample"  # cached
    with django_capture_on_commit_callbacks(execute=True):
        # More review is immediate (no approval).
        assert (
            autonomy_change(cohort=sampled_cohort, actor=ops_leader, to_level=ReviewLevel.EVERY)
            is None
        )
    assert ask(api_client, api_token, user=user).json() == {**LIVE, "review_level": "every"}


def test_a_cached_answer_of_the_old_shape_is_recomputed(sampled_cohort, workflow):
    user = "mia.member@example.com"
    version = plan_version(workflow.slug)
    # What a process from before the review level cached: no review fields.
    old = (version, "live", "limited", "Tier 1", None, None, None, 1)
    cache.set(decision_memo_key(workflow.slug, user), old)
    assert decide_cached(workflow.slug, user) == Decision(
        "live", "limited", "Tier 1", config_version=1, review_level="sample", review_sample_rate=10
    )


def test_the_schema_documents_the_level_and_rate(api_client):
    schema = api_client.get("/api/v1/openapi.json").json()
    properties = schema["components"]["schemas"]["DecisionOut"]["properties"]
    level = properties["review_level"]
    assert {"enum": ["every", "sample", "none"], "type": "string"} in level["anyOf"]
    rate = properties["review_sample_rate"]
    assert {"type": "integer", "minimum": 1, "maximum": 50} in rate["anyOf"]
    assert "sha256(str(event_id))" in rate["description"]


@pytest.mark.parametrize("level", [ReviewLevel.SAMPLE, ReviewLevel.EVERY, ReviewLevel.NONE])
def test_every_live_answer_matches_the_published_schema(
    api_client, api_token, sampled_cohort, level
):
    Cohort.objects.filter(pk=sampled_cohort.pk).update(review_level=level)
    schema = api_client.get("/api/v1/openapi.json").json()
    decision_out = schema["components"]["schemas"]["DecisionOut"]
    body = ask(api_client, api_token, user="EMP-7").json()
    Draft202012Validator(decision_out).validate(body)
    assert set(body) <= set(decision_out["properties"])
