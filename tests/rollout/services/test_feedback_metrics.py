"""Negative-feedback share: counted per scope, judged by thresholds, summarised per cohort."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.models import Cohort, Feedback, Phase, Verdict
from rollout.selectors.feedback import (
    ALL,
    NO_COHORT,
    feedback_counts,
    feedback_list_open_for_author,
    feedback_summary_by_cohort,
)
from rollout.services.evaluation import thresholds_evaluate_workflow
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import make_threshold

pytestmark = pytest.mark.django_db


def given(workflow, cohort, rating, *, days_ago=0, category="wrong_output", text="", author=None):
    feedback = Feedback.objects.create(
        workflow=workflow, cohort=cohort, rating=rating, category=category, text=text, author=author
    )
    at = timezone.now() - timedelta(days=days_ago, minutes=1)
    Feedback.objects.filter(pk=feedback.pk).update(created_at=at)
    return feedback


@pytest.fixture
def cohorts(workflow):
    return (
        Cohort.objects.create(workflow=workflow, name="EU agents"),
        Cohort.objects.create(workflow=workflow, name="US agents"),
    )


def test_counts_per_scope_and_window(workflow, cohorts):
    eu, us = cohorts
    for rating in ("not_helpful", "not_helpful", "helpful"):
        given(workflow, eu, rating)
    given(workflow, us, "helpful")
    given(workflow, None, "not_helpful")
    given(workflow, eu, "not_helpful", days_ago=10)  # outside the window
    today = timezone.localdate()
    window = {"start": today - timedelta(days=6), "end": today}
    assert feedback_counts(workflow, **window, scope=ALL) == (3, 5)
    assert feedback_counts(workflow, **window, scope=eu) == (2, 3)
    assert feedback_counts(workflow, **window, scope=us) == (0, 1)
    assert feedback_counts(workflow, **window, scope=NO_COHORT) == (1, 1)


def test_a_negative_feedback_share_threshold_is_measured_and_breached(workflow):
    make_plan(workflow, current="limited")
    make_threshold(
        workflow, metric="negative_feedback_share", limit=0.25, min_sample=4, action="alert"
    )
    for rating in ("not_helpful", "not_helpful", "helpful", "helpful"):
        given(workflow, None, rating)
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.observed, status.sample) == (Verdict.FAIL, 0.5, 4)
    assert status.reason == "50% over 4 cases: should be at most 25%."
    assert not Phase.objects.filter(workflow=workflow, status="paused").exists()


def test_per_cohort_threshold_judges_each_cohort(workflow, cohorts):
    eu, us = cohorts
    make_threshold(
        workflow, metric="negative_feedback_share", limit=0.5, min_sample=2, scope="per_cohort"
    )
    given(workflow, eu, "not_helpful")
    given(workflow, eu, "helpful")
    given(workflow, us, "not_helpful")
    statuses = {s.cohort: s for s in thresholds_evaluate_workflow(workflow=workflow)}
    assert (statuses[eu].verdict, statuses[eu].observed) == (Verdict.PASS, 0.5)
    assert (statuses[us].verdict, statuses[us].sample) == (Verdict.INSUFFICIENT_DATA, 1)


def test_summary_by_cohort(workflow, cohorts, django_assert_max_num_queries):
    eu, us = cohorts
    for i, (category, rating) in enumerate(
        [
            ("wrong_output", "not_helpful"),
            ("wrong_output", "not_helpful"),
            ("slow", "not_helpful"),
            ("praise", "helpful"),
            ("confusing", "not_helpful"),
        ]
    ):
        given(workflow, eu, rating, category=category, text=f"text {i}", days_ago=0)
    given(workflow, us, "helpful", category="praise")
    today = timezone.localdate()
    with django_assert_max_num_queries(3):
        summary = feedback_summary_by_cohort(workflow, today - timedelta(days=6), today)
    assert set(summary) == {eu.pk, us.pk}
    assert (summary[eu.pk].not_helpful, summary[eu.pk].total) == (4, 5)
    assert summary[eu.pk].negative_share == 0.8
    assert summary[eu.pk].top_categories == [("Wrong output", 2), ("Confusing", 1), ("Praise", 1)]
    assert len(summary[eu.pk].recent) == 3
    assert summary[us.pk].recent == [] and summary[us.pk].negative_share == 0.0


def test_open_feedback_of_an_author(workflow):
    mia = UserFactory()
    open_one = given(workflow, None, "not_helpful", author=mia)
    Feedback.objects.filter(pk=given(workflow, None, "helpful", author=mia).pk).update(
        status="resolved"
    )
    given(workflow, None, "helpful", author=UserFactory())
    assert list(feedback_list_open_for_author(mia)) == [open_one]
