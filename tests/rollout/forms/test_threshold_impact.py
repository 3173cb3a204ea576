"""The threshold form and impact: the outcome metric is required for impact and only there, the
choices are the workflow's current metrics, and the limit stays in the metric's unit."""

import pytest

from rollout.forms.thresholds import ThresholdForm
from rollout.models import OutcomeMetric
from rollout.services.thresholds import MSG_OUTCOME_ONLY_FOR_IMPACT, MSG_OUTCOME_REQUIRED
from tests.factories import make_workflow

pytestmark = pytest.mark.django_db

BASE = {
    "comparator": "gte",
    "limit": "20",
    "window_days": "14",
    "min_sample": "1",
    "scope": "workflow",
    "action": "alert",
    "bad_output": "Tickets take as long as without the AI.",
}


def test_impact_needs_an_outcome_metric_of_this_workflow(workflow, workflow_owner, ops_leader):
    metric = OutcomeMetric.objects.create(workflow=workflow, name="handle_time_s", label="HT")
    archived = OutcomeMetric.objects.create(
        workflow=workflow, name="old", label="Old", archived_at="2026-01-01T00:00:00Z"
    )
    other = make_workflow(owner=workflow_owner, actor=ops_leader, slug="other-flow")
    foreign = OutcomeMetric.objects.create(workflow=other, name="csat", label="CSAT")

    form = ThresholdForm(BASE | {"metric": "impact"}, workflow=workflow)
    assert form.errors == {"outcome_metric": [MSG_OUTCOME_REQUIRED]}
    assert list(form.fields["outcome_metric"].queryset) == [metric]
    for not_offered in (archived, foreign):
        form = ThresholdForm(
            BASE | {"metric": "impact", "outcome_metric": not_offered.pk}, workflow=workflow
        )
        assert "outcome_metric" in form.errors

    form = ThresholdForm(
        BASE | {"metric": "impact", "outcome_metric": metric.pk}, workflow=workflow
    )
    assert form.is_valid(), form.errors
    kwargs = form.service_kwargs()
    assert (kwargs["limit"], kwargs["outcome_metric"]) == (20.0, metric)  # not a percentage


def test_only_impact_takes_an_outcome_metric(workflow):
    metric = OutcomeMetric.objects.create(workflow=workflow, name="handle_time_s", label="HT")
    form = ThresholdForm(
        BASE | {"metric": "error_rate", "limit": "2", "outcome_metric": metric.pk},
        workflow=workflow,
    )
    assert form.errors == {"outcome_metric": [MSG_OUTCOME_ONLY_FOR_IMPACT]}
