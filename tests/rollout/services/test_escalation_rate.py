"""Rule 3: an escalation-rate threshold is measured (escalations opened ÷ invocations over its
window), so a gate with one can pass or fail; without invocations it stays insufficient data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.models import Cohort, Escalation, EscalationSource, Feedback, Verdict
from rollout.selectors.escalations import escalation_rate_measure, escalations_opened_count
from rollout.selectors.usage import ALL, NO_COHORT
from rollout.services.evaluation import MSG_NO_DATA, thresholds_evaluate_workflow
from tests.factories import UserFactory
from tests.rollout.usage_events_data import events, ingest, make_threshold

pytestmark = pytest.mark.django_db


def opened(workflow, count, *, days_ago=0, feedback=None):
    for n in range(count):
        escalation = Escalation.objects.create(
            workflow=workflow,
            title=f"Escalation {n}",
            source=EscalationSource.FEEDBACK if feedback else EscalationSource.MANUAL,
            feedback=feedback,
        )
        Escalation.objects.filter(pk=escalation.pk).update(
            opened_at=timezone.now() - timedelta(days=days_ago)
        )


def rate_threshold(workflow, **fields):
    values = {"metric": "escalation_rate", "limit": 0.02, "marginal_limit": 0.03, "min_sample": 100}
    values.update(fields)
    return make_threshold(workflow, **values)


@pytest.mark.parametrize(
    ("escalations", "verdict"),
    [(0, Verdict.PASS), (2, Verdict.PASS), (3, Verdict.MARGINAL), (4, Verdict.FAIL)],
)
def test_escalations_over_invocations_give_the_verdict(workflow, escalations, verdict):
    rate_threshold(workflow)
    ingest(workflow, events("invocation", 100))
    opened(workflow, escalations)
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.sample) == (verdict, 100)
    assert status.observed == pytest.approx(escalations / 100)


def test_without_invocations_it_stays_insufficient_data(workflow):
    rate_threshold(workflow, window_days=7)
    opened(workflow, 5)
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.observed, status.sample) == (
        Verdict.INSUFFICIENT_DATA,
        None,
        0,
    )
    assert status.reason == MSG_NO_DATA.format(days=7)


def test_escalations_before_the_window_do_not_count(workflow):
    rate_threshold(workflow, window_days=7)
    ingest(workflow, events("invocation", 100))
    opened(workflow, 9, days_ago=10)
    opened(workflow, 1)
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert (status.verdict, status.observed) == (Verdict.PASS, pytest.approx(0.01))


def test_a_cohort_counts_the_escalations_from_its_members_feedback(workflow):
    cohort = Cohort.objects.create(workflow=workflow, name="EU agents")
    author = UserFactory()
    feedback = Feedback.objects.create(
        workflow=workflow, cohort=cohort, author=author, rating="not_helpful", text="Wrong."
    )
    opened(workflow, 2, feedback=feedback)
    opened(workflow, 3)  # opened by hand: the whole workflow's, no cohort's
    now = timezone.now()
    window = {"start": now - timedelta(days=1), "end": now}
    assert escalations_opened_count(workflow, scope=ALL, **window) == 5
    assert escalations_opened_count(workflow, scope=cohort, **window) == 2
    assert escalations_opened_count(workflow, scope=NO_COHORT, **window) == 0
    assert escalation_rate_measure(workflow, scope=cohort, invocations=50, **window) == (0.04, 50)
    assert escalation_rate_measure(workflow, scope=cohort, invocations=0, **window) == (None, 0)
