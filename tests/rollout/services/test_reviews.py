"""Reviews: starting one freezes its snapshot and lists the items to re-attest."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import (
    ActivityEntry,
    AttestationItem,
    Cohort,
    CohortMember,
    Feedback,
    NoticeKind,
    NoticeStatus,
    Review,
    ReviewStatus,
    Threshold,
    Workflow,
)
from rollout.services import reviews as svc
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready
from tests.rollout.usage_events_data import events, ingest, outcomes


def add_threshold(workflow: Workflow) -> Threshold:
    return Threshold.objects.create(
        workflow=workflow,
        metric="error_rate",
        comparator="lte",
        limit=0.05,
        window_days=7,
        min_sample=10,
        bad_output="A reply that states a wrong refund amount.",
        action="alert",
    )


@pytest.fixture
def tier1(workflow: Workflow) -> Cohort:
    cohort = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    member = UserFactory(email="agent@example.com")
    CohortMember.objects.create(cohort=cohort, user=member)
    return cohort


@pytest.fixture
def reviewed(workflow, tier1, ops_leader) -> Workflow:
    make_plan(workflow, current="limited")
    make_shadow_ready(workflow, ops_leader)
    add_threshold(workflow)
    ingest(workflow, events("invocation", 40, user_ref="agent@example.com"))
    ingest(workflow, outcomes(accepted=30, overridden=10, user_ref="agent@example.com"))
    return workflow


def test_starting_freezes_a_snapshot_that_later_data_does_not_change(
    reviewed, tier1, workflow_owner
):
    Feedback.objects.create(
        workflow=reviewed, cohort=tier1, rating="not_helpful", category="wrong_output", text="x"
    )
    review = svc.review_start(workflow=reviewed, actor=workflow_owner)
    snapshot = Review.objects.get(pk=review.pk).snapshot
    assert snapshot["phase"] == "Limited roll-out"
    assert snapshot["usage"]["cohorts"][0]["cohort"] == "Tier 1"
    assert snapshot["usage"]["cohorts"][0]["invocations"] == 40
    assert snapshot["usage"]["cohorts"][0]["acceptance_text"] == "75.0%"
    assert snapshot["feedback"]["by_category"] == [{"category": "Wrong output", "count": 1}]
    assert [t["metric"] for t in snapshot["thresholds"]] == ["error_rate"]
    assert snapshot["phases"][0]["phase"] == "Limited roll-out"

    # Later data arrives: the stored snapshot stays what it was.
    ingest(reviewed, events("invocation", 25, user_ref="agent@example.com"))
    Feedback.objects.create(
        workflow=reviewed, cohort=tier1, rating="not_helpful", category="slow", text="y"
    )
    assert Review.objects.get(pk=review.pk).snapshot == snapshot
    assert snapshot["usage"]["cohorts"][0]["invocations"] == 40


def test_starting_lists_the_items_to_reattest(reviewed, workflow_owner, ops_leader):
    ops_leader.is_active = False
    ops_leader.save(update_fields=["is_active"])
    review = svc.review_start(workflow=reviewed, actor=workflow_owner)
    items = list(review.attestations.values_list("item", "flag"))
    assert [i for i, _ in items] == [
        AttestationItem.OWNER,
        AttestationItem.THRESHOLD,
        AttestationItem.ESCALATION_LEVEL,
        AttestationItem.DATA_SOURCE,
        AttestationItem.READINESS,
    ]
    # The level's contact was deactivated: flagged without anyone asking.
    assert dict(items)[AttestationItem.ESCALATION_LEVEL] == svc.MSG_CONTACT_INACTIVE
    assert ActivityEntry.objects.filter(verb="started a review").count() == 1


def test_one_review_at_a_time_and_only_owner_or_ops(reviewed, workflow_owner, other_user):
    with pytest.raises(ApplicationError) as exc:
        svc.review_start(workflow=reviewed, actor=other_user)
    assert exc.value.message == svc.MSG_NOT_ALLOWED
    assert not Review.objects.exists()
    svc.review_start(workflow=reviewed, actor=workflow_owner)
    with pytest.raises(ApplicationError) as exc:
        svc.review_start(workflow=reviewed, actor=workflow_owner)
    assert exc.value.message == svc.MSG_ALREADY_IN_PROGRESS
    assert Review.objects.filter(status=ReviewStatus.IN_PROGRESS).count() == 1


# --- b) re-attestation --------------------------------------------------------------------------


def item(review: Review, kind: str):
    return review.attestations.get(item=kind)


def test_items_hold_or_change_with_what_changed(reviewed, workflow_owner):
    review = svc.review_start(workflow=reviewed, actor=workflow_owner)
    source = item(review, AttestationItem.DATA_SOURCE)
    with pytest.raises(ApplicationError) as exc:
        svc.review_attest(attestation=source, actor=workflow_owner, answer="changed")
    assert exc.value.message == svc.MSG_WHAT_CHANGED
    with pytest.raises(ApplicationError) as exc:
        svc.review_attest(attestation=source, actor=workflow_owner, answer="maybe")
    assert exc.value.message == svc.MSG_BAD_ANSWER
    source.refresh_from_db()
    assert source.answer == ""
    svc.review_attest(
        attestation=source,
        actor=workflow_owner,
        answer="changed",
        what_changed="Now a nightly export of the CRM.",
    )
    owner = svc.review_attest(
        attestation=item(review, AttestationItem.OWNER), actor=workflow_owner, answer="holds"
    )
    source.refresh_from_db()
    assert (source.answer, source.what_changed) == ("changed", "Now a nightly export of the CRM.")
    assert (owner.answer, owner.answered_by) == ("holds", workflow_owner)
    assert ActivityEntry.objects.filter(verb="re-attested").count() == 2


def test_a_loosened_threshold_is_changed_by_the_threshold_service_and_marked(
    reviewed, workflow_owner
):
    review = svc.review_start(workflow=reviewed, actor=workflow_owner)
    attestation = item(review, AttestationItem.THRESHOLD)
    with pytest.raises(ApplicationError) as exc:
        svc.review_attest(attestation=attestation, actor=workflow_owner, answer="changed")
    assert exc.value.message == svc.MSG_NEW_LIMIT_REQUIRED
    with pytest.raises(ApplicationError) as exc:
        svc.review_attest(
            attestation=attestation, actor=workflow_owner, answer="changed", new_limit=0.05
        )
    assert exc.value.message == svc.MSG_SAME_LIMIT
    answered = svc.review_attest(
        attestation=attestation, actor=workflow_owner, answer="changed", new_limit=0.08
    )
    threshold = Threshold.objects.get(workflow=reviewed)
    assert answered.threshold_fit == "loosened"
    assert (threshold.limit, threshold.added_after_launch) == (0.08, True)
    # Rule 2: the loosening after the limited roll-out started is in the log as such.
    assert ActivityEntry.objects.filter(verb="changed threshold after launch").exists()
    tightened = svc.review_attest(
        attestation=attestation, actor=workflow_owner, answer="changed", new_limit=0.03
    )
    assert tightened.threshold_fit == "tightened"
    kept = svc.review_attest(attestation=attestation, actor=workflow_owner, answer="holds")
    assert (kept.threshold_fit, kept.what_changed) == ("kept", "")


def test_an_inactive_contact_cannot_hold(reviewed, workflow_owner, ops_leader):
    ops_leader.is_active = False
    ops_leader.save(update_fields=["is_active"])
    review = svc.review_start(workflow=reviewed, actor=workflow_owner)
    level = item(review, AttestationItem.ESCALATION_LEVEL)
    with pytest.raises(ApplicationError) as exc:
        svc.review_attest(attestation=level, actor=workflow_owner, answer="holds")
    assert "cannot hold" in exc.value.message
    svc.review_attest(
        attestation=level,
        actor=workflow_owner,
        answer="changed",
        what_changed="Level 1 is now the support lead.",
    )


# --- d) completing ------------------------------------------------------------------------------


def answer_all(review: Review, actor) -> None:
    for attestation in review.attestations.all():
        svc.review_attest(attestation=attestation, actor=actor, answer="holds")


def test_completing_needs_every_answer_and_a_decision(reviewed, workflow_owner):
    review = svc.review_start(workflow=reviewed, actor=workflow_owner)
    with pytest.raises(ApplicationError) as exc:
        svc.review_complete(review=review, actor=workflow_owner)
    assert exc.value.message.startswith("Answer every item first: 5 still open")
    answer_all(review, workflow_owner)
    with pytest.raises(ApplicationError) as exc:
        svc.review_complete(review=review, actor=workflow_owner)
    assert exc.value.message == svc.MSG_NO_DECISION
    review.refresh_from_db()
    assert review.status == ReviewStatus.IN_PROGRESS


def test_completing_sets_the_next_due_date_drafts_the_outcome_and_logs(reviewed, workflow_owner):
    reviewed.review_cadence_days = 91
    reviewed.save(update_fields=["review_cadence_days"])
    review = svc.review_start(workflow=reviewed, actor=workflow_owner)
    answer_all(review, workflow_owner)
    svc.review_decide(
        review=review, actor=workflow_owner, kind="continue", rationale="Thresholds pass."
    )
    review = svc.review_complete(review=review, actor=workflow_owner, summary="A calm quarter.")
    expected = timezone.localdate() + timedelta(days=91)
    reviewed.refresh_from_db()
    assert (review.status, review.next_due, reviewed.next_review_due) == (
        ReviewStatus.COMPLETED,
        expected,
        expected,
    )
    notice = review.outcome_notice
    assert (notice.kind, notice.status, notice.audience) == (
        NoticeKind.REVIEW_OUTCOME,
        NoticeStatus.DRAFT,
        "everyone",
    )
    assert "**Continue as is**: Thresholds pass." in notice.body
    entry = ActivityEntry.objects.get(verb="completed a review")
    assert entry.changes["Next review due"][1] == f"{expected:%d %b %Y}"
    # Completed: nothing in it changes any more.
    with pytest.raises(ApplicationError) as exc:
        svc.review_decide(review=review, actor=workflow_owner, kind="hold", rationale="x")
    assert exc.value.message == svc.MSG_NOT_IN_PROGRESS
    # The next review looks back from this one's start.
    second = svc.review_start(workflow=reviewed, actor=workflow_owner)
    assert second.period_start == review.started_at
