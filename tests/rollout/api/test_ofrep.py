"""OFREP single evaluation, POST /ofrep/v1/evaluate/flags/{key}: every reason and its metadata,
with the exact body (issue 19 §1)."""

import json

import pytest
from django.conf import settings
from django.test import Client

from rollout.selectors.decision import in_percentage, member_key, percentage_bucket
from rollout.services import cohorts as cohort_svc
from rollout.services.briefings import BriefingText, briefing_publish
from rollout.services.holdouts import holdout_release
from rollout.services.phase_control import phase_pause
from rollout.services.retirement import workflow_retire
from tests.factories import UserFactory
from tests.rollout.api.conftest import IssuedToken
from tests.rollout.holdout_fixtures import holdout_cohort
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db

SLUG = "support-reply-drafting"
URL = f"/ofrep/v1/evaluate/flags/{SLUG}"


def evaluate(client: Client, token: IssuedToken, targeting_key: str, *, key: str = SLUG, **ctx):
    body = {"context": {"targetingKey": targeting_key, **ctx}}
    return client.post(
        f"/ofrep/v1/evaluate/flags/{key}",
        json.dumps(body),
        content_type="application/json",
        headers=token.headers,
    )


def answer(value: str, reason: str, **metadata) -> dict:
    return {"key": SLUG, "value": value, "variant": value, "reason": reason, "metadata": metadata}


def bucket_of(workflow, user) -> int:
    return percentage_bucket(workflow.pk, member_key(user.pk))


def test_a_member_at_100_percent_is_live_by_targeting(api_client, api_token, workflow, member):
    make_plan(workflow, current="limited")
    response = evaluate(api_client, api_token, "Mia.Member@EXAMPLE.com", plan="premium")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == answer(
        "live",
        "TARGETING_MATCH",
        phase="limited",
        cohort="Tier 1",
        bucket=bucket_of(workflow, member),
        config_version=1,
        review_level="every",
        rollout_reason="enrolled",
    )
    # By external id, the same person.
    assert evaluate(api_client, api_token, "EMP-7").json() == response.json()


def test_someone_in_no_enrolled_cohort_is_off_and_static(api_client, api_token, workflow, member):
    make_plan(workflow, current="limited")
    response = evaluate(api_client, api_token, "someone@example.com")
    assert response.json() == answer(
        "off", "STATIC", phase="limited", config_version=1, rollout_reason="not_enrolled"
    )


def test_shadow_phase_is_static(api_client, api_token, workflow, member):
    make_plan(workflow, current="shadow")
    response = evaluate(api_client, api_token, member.email)
    assert response.json() == answer(
        "shadow", "STATIC", phase="shadow", config_version=1, rollout_reason="shadow"
    )


def test_before_the_plan_starts_and_in_audit_it_is_static(api_client, api_token, workflow):
    response = evaluate(api_client, api_token, "anyone@example.com")
    assert response.json() == answer(
        "off", "STATIC", config_version=1, rollout_reason="not_started"
    )


def test_audit_phase_is_static(api_client, api_token, workflow, member):
    make_plan(workflow, current="audit")
    assert evaluate(api_client, api_token, member.email).json() == answer(
        "off", "STATIC", phase="audit", config_version=1, rollout_reason="audit"
    )


def test_a_paused_workflow_is_disabled_with_its_fallback(
    api_client, api_token, workflow, member, workflow_owner
):
    make_plan(workflow, current="limited")
    phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="shadow", reason="Drift")
    assert evaluate(api_client, api_token, member.email).json() == answer(
        "shadow", "DISABLED", phase="limited", config_version=1, rollout_reason="paused"
    )


def test_a_retired_workflow_is_disabled(api_client, api_token, workflow, member, workflow_owner):
    make_plan(workflow, current="limited")
    workflow_retire(workflow=workflow, actor=workflow_owner, reason="Replaced by a new tool")
    assert evaluate(api_client, api_token, member.email).json() == answer(
        "off", "DISABLED", config_version=1, rollout_reason="retired"
    )


def _partial_cohort(workflow, ops_leader, percentage: int = 50):
    users = [UserFactory(email=f"p{i}@example.com") for i in range(30)]
    cohort = cohort_svc.cohort_create(workflow=workflow, name="Half", actor=ops_leader)
    cohort_svc.cohort_members_add(cohort=cohort, users=users, actor=ops_leader)
    cohort_svc.cohort_enrol(cohort=cohort, phase="limited", percentage=percentage, actor=ops_leader)
    inside = [u for u in users if in_percentage(workflow.pk, member_key(u.pk), percentage)]
    outside = [u for u in users if u not in inside]
    assert inside and outside  # 30 people at 50 %: both sides hold someone
    return inside, outside


def test_the_percentage_hash_splits_both_ways(api_client, api_token, workflow, ops_leader):
    make_plan(workflow, current="limited")
    inside, outside = _partial_cohort(workflow, ops_leader)
    live = evaluate(api_client, api_token, inside[0].email)
    assert live.json() == answer(
        "live",
        "SPLIT",
        phase="limited",
        cohort="Half",
        bucket=bucket_of(workflow, inside[0]),
        config_version=1,
        review_level="every",
        rollout_reason="enrolled",
    )
    off = evaluate(api_client, api_token, outside[0].email)
    assert off.json() == answer(
        "off",
        "SPLIT",
        phase="limited",
        bucket=bucket_of(workflow, outside[0]),
        config_version=1,
        rollout_reason="outside_percentage",
    )


def test_the_holdout_hash_splits_both_ways(
    api_client, api_token, workflow, ops_leader, django_capture_on_commit_callbacks
):
    make_plan(workflow, current="limited")
    setup = holdout_cohort(workflow, ops_leader)
    held, ai = setup.held_out[0], setup.ai[0]
    assert evaluate(api_client, api_token, held.email).json() == answer(
        "off",
        "SPLIT",
        phase="limited",
        cohort="Tier 1",
        bucket=bucket_of(workflow, held),
        config_version=1,
        rollout_reason="holdout",
    )
    # At 100 % but with a holdout: the holdout's hash decided they are live.
    assert evaluate(api_client, api_token, ai.email).json()["reason"] == "SPLIT"
    # Moved out of the holdout by a person, not a hash: targeting.
    with django_capture_on_commit_callbacks(execute=True):
        holdout_release(cohort=setup.cohort, user=held, actor=ops_leader, reason="Needs the AI")
    assert evaluate(api_client, api_token, held.email).json() == answer(
        "live",
        "TARGETING_MATCH",
        phase="limited",
        cohort="Tier 1",
        bucket=bucket_of(workflow, held),
        config_version=1,
        review_level="every",
        rollout_reason="enrolled",
    )


def test_not_briefed_is_targeting_with_the_briefing_url(
    api_client, api_token, workflow, member, workflow_owner, django_capture_on_commit_callbacks
):
    make_plan(workflow, current="limited")
    text = BriefingText("Drafts replies.", "- A wrong refund amount.", "", "1. Do not send it.")
    with django_capture_on_commit_callbacks(execute=True):
        briefing_publish(workflow=workflow, actor=workflow_owner, text=text, material=True)
    assert evaluate(api_client, api_token, member.email).json() == answer(
        "shadow",
        "TARGETING_MATCH",
        phase="limited",
        bucket=bucket_of(workflow, member),
        config_version=1,
        rollout_reason="not_briefed",
        briefing_url=f"{settings.SITE_URL}/workflows/{SLUG}/briefing/",
    )


def test_sample_review_names_its_rate(api_client, api_token, workflow, member, ops_leader):
    make_plan(workflow, current="limited")
    cohort = member.cohort_memberships.get().cohort
    cohort.review_level, cohort.review_sample_rate = "sample", 10
    cohort.save()
    metadata = evaluate(api_client, api_token, member.email).json()["metadata"]
    assert metadata["review_level"] == "sample"
    assert metadata["review_sample_rate"] == 10


def test_metadata_holds_primitives_only_and_never_null(api_client, api_token, workflow, member):
    make_plan(workflow, current="limited")
    for ref in (member.email, "someone@example.com"):
        metadata = evaluate(api_client, api_token, ref).json()["metadata"]
        assert all(isinstance(v, str | int | float | bool) for v in metadata.values())


def test_the_warm_path_makes_no_query(
    api_client, api_token, workflow, member, django_assert_num_queries
):
    make_plan(workflow, current="limited")
    first = evaluate(api_client, api_token, member.email)
    with django_assert_num_queries(0):
        again = evaluate(api_client, api_token, member.email)
    assert again.json() == first.json()
    assert again.json()["reason"] == "TARGETING_MATCH"


def test_the_warm_path_keeps_the_reason_through_the_shared_cache(
    api_client, api_token, workflow, ops_leader
):
    """The reason and bucket are kept in the shared cache, not only in this process's memo."""
    from rollout.lib import local_memo

    make_plan(workflow, current="limited")
    inside, _ = _partial_cohort(workflow, ops_leader)
    first = evaluate(api_client, api_token, inside[0].email).json()
    local_memo.forget_all()
    assert evaluate(api_client, api_token, inside[0].email).json() == first
    assert first["reason"] == "SPLIT"


def test_the_native_decision_is_unchanged(api_client, api_token, workflow, member):
    make_plan(workflow, current="limited")
    evaluate(api_client, api_token, member.email)
    native = api_client.get(
        "/api/v1/decision", {"workflow": SLUG, "user": member.email}, headers=api_token.headers
    )
    assert native.content == (
        b'{"mode": "live", "phase": "limited", "cohort": "Tier 1", "config_version": 1, '
        b'"review_level": "every"}'
    )
