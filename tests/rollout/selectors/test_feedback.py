"""Feedback reads: the feedback per cohort and local day (for the usage CSV), and per cohort over
a period (for the usage page)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from rollout.models import Cohort, Feedback
from rollout.selectors.feedback import feedback_counts_by_day, feedback_summary_by_cohort

pytestmark = pytest.mark.django_db


def given(workflow, cohort, rating, at: datetime) -> None:
    feedback = Feedback.objects.create(
        workflow=workflow, cohort=cohort, rating=rating, category="wrong_output"
    )
    Feedback.objects.filter(pk=feedback.pk).update(created_at=at)


def test_feedback_is_counted_per_cohort_and_local_day(workflow, django_assert_num_queries):
    eu = Cohort.objects.create(workflow=workflow, name="EU agents")
    utc = ZoneInfo("UTC")
    # 23:30 UTC on 1 March is 2 March in Auckland (UTC+13 in March).
    given(workflow, eu, "not_helpful", datetime(2026, 3, 1, 23, 30, tzinfo=utc))
    given(workflow, eu, "helpful", datetime(2026, 3, 1, 9, 0, tzinfo=utc))
    given(workflow, None, "not_helpful", datetime(2026, 3, 2, 1, 0, tzinfo=utc))
    given(workflow, eu, "not_helpful", datetime(2026, 2, 20, 9, 0, tzinfo=utc))  # before the range

    with timezone.override("Pacific/Auckland"), django_assert_num_queries(1):
        counts = feedback_counts_by_day(workflow, start=date(2026, 3, 1), end=date(2026, 3, 3))

    assert counts == {
        (eu.pk, date(2026, 3, 1)): (0, 1),
        (eu.pk, date(2026, 3, 2)): (1, 1),
        (None, date(2026, 3, 2)): (1, 1),
    }
    with timezone.override("UTC"):
        only_eu = feedback_counts_by_day(
            workflow, start=date(2026, 3, 1), end=date(2026, 3, 3), cohort=eu
        )
    assert only_eu == {(eu.pk, date(2026, 3, 1)): (1, 2)}


def test_the_summary_per_cohort_adds_up_each_cohorts_categories(
    workflow, django_assert_num_queries
):
    """Shares, most common categories and latest texts per cohort: two queries (the counts per
    cohort and category, the texts), one when the period has no feedback at all."""
    eu = Cohort.objects.create(workflow=workflow, name="EU agents")
    utc = ZoneInfo("UTC")
    with django_assert_num_queries(1):
        assert feedback_summary_by_cohort(workflow, date(2026, 3, 1), date(2026, 3, 3)) == {}
    for rating, category, text in (
        ("not_helpful", "wrong_output", "Wrong total"),
        ("not_helpful", "wrong_output", ""),
        ("helpful", "praise", "Saved me time"),
        ("not_helpful", "slow", ""),
    ):
        feedback = Feedback.objects.create(
            workflow=workflow, cohort=eu, rating=rating, category=category, text=text
        )
        Feedback.objects.filter(pk=feedback.pk).update(created_at=datetime(2026, 3, 2, tzinfo=utc))
    given(workflow, None, "helpful", datetime(2026, 3, 2, 9, 0, tzinfo=utc))
    given(workflow, eu, "not_helpful", datetime(2026, 2, 20, 9, 0, tzinfo=utc))  # before it

    with timezone.override("UTC"), django_assert_num_queries(2):
        summary = feedback_summary_by_cohort(workflow, date(2026, 3, 1), date(2026, 3, 3))

    assert (summary[eu.pk].not_helpful, summary[eu.pk].total) == (3, 4)
    assert summary[eu.pk].negative_share == 0.75
    assert summary[eu.pk].top_categories[0] == ("Wrong output", 2)
    assert sorted(summary[eu.pk].recent) == ["Saved me time", "Wrong total"]
    assert (summary[None].not_helpful, summary[None].total, summary[None].recent) == (0, 1, [])
