"""Reviewers of sampled outputs, grading, a harmful grade's escalation, the reviewed error rate
(with its Wilson interval) as a threshold metric, and retention of excerpts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.lib.wilson import wilson_interval
from rollout.models import (
    ActivityEntry,
    Escalation,
    EscalationSource,
    Metric,
    Notification,
    OutputReview,
    OutputReviewer,
    Threshold,
    ThresholdStatus,
    Verdict,
)
from rollout.selectors.output_reviews import (
    output_review_progress,
    reviewed_error_measure,
    reviewed_error_rates,
)
from rollout.services import output_reviews as svc
from rollout.services.evaluation import thresholds_evaluate_workflow
from rollout.services.retention import retention_apply
from tests.factories import UserFactory
from tests.rollout.output_review_fixtures import make_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(workflow, workflow_owner):
    person = UserFactory(display_name="Rita Reviewer")
    svc.output_reviewer_add(workflow=workflow, user=person, actor=workflow_owner)
    return person


# --- Reviewers ---------------------------------------------------------------------------------


def test_the_owner_names_a_reviewer_who_is_told_and_it_is_logged(workflow, workflow_owner):
    person = UserFactory(display_name="Rita Reviewer")
    svc.output_reviewer_add(workflow=workflow, user=person, actor=workflow_owner)
    assert OutputReviewer.objects.filter(workflow=workflow, user=person).exists()
    entry = ActivityEntry.objects.get(verb="named a reviewer of sampled outputs")
    assert entry.actor == workflow_owner and entry.target == str(person)
    note = Notification.objects.get(recipient=person)
    assert note.url == f"/workflows/{workflow.slug}/review-queue/"
    svc.output_reviewer_remove(workflow=workflow, user=person, actor=workflow_owner)
    assert not OutputReviewer.objects.exists()
    assert ActivityEntry.objects.filter(verb="removed a reviewer of sampled outputs").exists()


def test_only_the_owner_or_an_ops_leader_names_reviewers(workflow, other_user, reviewer):
    with pytest.raises(ApplicationError, match="Only the workflow's owner"):
        svc.output_reviewer_add(workflow=workflow, user=UserFactory(), actor=other_user)
    with pytest.raises(ApplicationError, match="Only the workflow's owner"):
        svc.output_reviewer_add(workflow=workflow, user=UserFactory(), actor=reviewer)


def test_a_reviewer_twice_or_inactive_is_refused(workflow, workflow_owner, reviewer):
    with pytest.raises(ApplicationError) as twice:
        svc.output_reviewer_add(workflow=workflow, user=reviewer, actor=workflow_owner)
    assert twice.value.message == svc.MSG_ALREADY_REVIEWER.format(user=reviewer)
    gone = UserFactory(is_active=False)
    with pytest.raises(ApplicationError):
        svc.output_reviewer_add(workflow=workflow, user=gone, actor=workflow_owner)
    with pytest.raises(ApplicationError):
        svc.output_reviewer_remove(workflow=workflow, user=gone, actor=workflow_owner)
    assert OutputReviewer.objects.count() == 1


# --- Grading -----------------------------------------------------------------------------------


def test_a_reviewer_grades_with_a_note(workflow, sampled_cohort, reviewer):
    item = make_review(workflow, sampled_cohort)
    graded = svc.output_review_grade(review=item, actor=reviewer, grade="minor", note=" Tone. ")
    assert (graded.grade, graded.note, graded.graded_by) == ("minor", "Tone.", reviewer)
    assert graded.graded_at is not None
    assert not Escalation.objects.exists()


@pytest.mark.parametrize(
    ("grade", "note", "message"),
    [
        ("great", "", svc.MSG_BAD_GRADE),
        ("", "", svc.MSG_BAD_GRADE),
        ("wrong", "x" * 2001, svc.MSG_NOTE_TOO_LONG),
    ],
)
def test_bad_input_changes_nothing(workflow, sampled_cohort, reviewer, grade, note, message):
    item = make_review(workflow, sampled_cohort)
    with pytest.raises(ApplicationError) as refused:
        svc.output_review_grade(review=item, actor=reviewer, grade=grade, note=note)
    assert refused.value.message == message
    item.refresh_from_db()
    assert (item.grade, item.graded_at) == ("", None)


def test_nobody_else_grades(workflow, sampled_cohort, executive):
    item = make_review(workflow, sampled_cohort)
    member = sampled_cohort.members.get()
    for person in (member, executive):
        with pytest.raises(ApplicationError, match="Only the owner"):
            svc.output_review_grade(review=item, actor=person, grade="correct")
    assert OutputReview.objects.get().grade == ""


def test_harmful_opens_one_escalation(workflow, sampled_cohort, reviewer, workflow_owner):
    item = make_review(workflow, sampled_cohort)
    svc.output_review_grade(review=item, actor=reviewer, grade="harmful", note="Leaks an address.")
    escalation = Escalation.objects.get()
    assert escalation.source == EscalationSource.OUTPUT_REVIEW
    assert escalation.title == "Harmful AI output found in review (Tier 1)"
    assert "Leaks an address." in escalation.description
    item.refresh_from_db()
    assert item.escalation == escalation
    # Graded again (a correction, then harmful again): still the one escalation.
    svc.output_review_grade(review=item, actor=workflow_owner, grade="wrong")
    svc.output_review_grade(review=item, actor=workflow_owner, grade="harmful")
    assert Escalation.objects.count() == 1
    assert ActivityEntry.objects.filter(verb="graded a sampled output harmful").count() == 1


# --- Reviewed error rate -----------------------------------------------------------------------


def test_wilson_interval_at_known_values():
    # Newcombe (1998) method 3, r = 3 of n = 20: 0.0524 to 0.3604.
    low, high = wilson_interval(3, 20)
    assert low == pytest.approx(0.0524, abs=5e-5)
    assert high == pytest.approx(0.3604, abs=5e-5)
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=5e-5))
    assert wilson_interval(10, 10) == (pytest.approx(0.7225, abs=5e-5), 1.0)
    assert wilson_interval(0, 0) is None


def test_grades_give_the_reviewed_error_rate_per_cohort_and_for_the_workflow(
    workflow, sampled_cohort, ops_leader
):
    other = workflow.cohorts.create(name="Tier 2")
    for grade in ["correct"] * 14 + ["minor"] * 3 + ["wrong"] * 2 + ["harmful"]:
        make_review(workflow, sampled_cohort, grade=grade)
    for grade in ["correct", "wrong"]:
        make_review(workflow, other, grade=grade)
    make_review(workflow, sampled_cohort)  # waiting: not graded, not counted
    make_review(workflow, sampled_cohort, grade="wrong", days_ago=40)  # outside the window
    now = timezone.now()
    whole, tier1, tier2 = reviewed_error_rates(
        workflow, start=now - timedelta(days=30), end=now, cohorts=[sampled_cohort, other]
    )
    assert (whole.graded, whole.errors, whole.harmful) == (22, 4, 1)
    assert (tier1.graded, tier1.errors, tier1.rate) == (20, 3, 0.15)
    assert tier1.interval == pytest.approx((0.0524, 0.3604), abs=5e-5)
    assert (tier2.label, tier2.rate) == ("Tier 2", 0.5)
    measured = reviewed_error_measure(
        workflow, start=now - timedelta(days=30), end=now, scope=sampled_cohort
    )
    assert measured == (0.15, 20)


def test_the_reviewed_error_rate_is_a_threshold_metric(workflow, sampled_cohort, workflow_owner):
    threshold = Threshold.objects.create(
        workflow=workflow,
        metric=Metric.REVIEWED_ERROR_RATE,
        comparator="lte",
        limit=0.10,
        window_days=14,
        min_sample=10,
        scope="per_cohort",
        bad_output="A reply a reviewer grades wrong or harmful.",
        action="block_promotion",
    )
    for grade in ["correct"] * 8:
        make_review(workflow, sampled_cohort, grade=grade)
    [status] = thresholds_evaluate_workflow(workflow=workflow)
    assert status.verdict == Verdict.INSUFFICIENT_DATA  # 8 graded of the 10 needed
    for grade in ["correct"] * 9 + ["wrong"]:
        make_review(workflow, sampled_cohort, grade=grade)
    [status] = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.sample) == (Verdict.PASS, 18)
    assert status.observed == pytest.approx(1 / 18)
    for _ in range(3):
        make_review(workflow, sampled_cohort, grade="harmful")
    [status] = thresholds_evaluate_workflow(workflow=workflow)
    assert status.verdict == Verdict.FAIL
    assert ThresholdStatus.objects.get(threshold=threshold).cohort == sampled_cohort


def test_progress_counts_this_weeks_grades_and_what_waits(workflow, sampled_cohort):
    make_review(workflow, sampled_cohort, grade="correct", days_ago=0.01)
    make_review(workflow, sampled_cohort, grade="wrong", days_ago=20, graded_days_ago=15)
    make_review(workflow, sampled_cohort)
    make_review(workflow, sampled_cohort)
    progress = output_review_progress(workflow)
    assert (progress.graded_this_week, progress.waiting, progress.this_week) == (1, 2, 3)


# --- Retention ---------------------------------------------------------------------------------


def test_excerpts_go_a_set_number_of_days_after_grading_grades_stay(
    workflow, sampled_cohort, settings
):
    settings.ROLLOUT_REVIEW_EXCERPT_DAYS = 90
    old = make_review(workflow, sampled_cohort, grade="wrong", days_ago=100, graded_days_ago=91)
    recent = make_review(
        workflow, sampled_cohort, grade="correct", days_ago=100, graded_days_ago=89
    )
    waiting = make_review(workflow, sampled_cohort, days_ago=200)
    run = retention_apply()
    assert run.excerpts_deleted == 1
    old.refresh_from_db()
    assert (old.excerpt, old.grade) == ("", "wrong")
    assert old.excerpt_deleted_at is not None
    for kept in (recent, waiting):
        kept.refresh_from_db()
        assert kept.excerpt and kept.excerpt_deleted_at is None
    assert retention_apply().excerpts_deleted == 0  # once
