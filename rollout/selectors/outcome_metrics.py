"""Reads of the outcome metrics an owner declared on a workflow (rollout.models.outcome)."""

from django.db.models import QuerySet
from django.http import Http404

from rollout.models import OutcomeMetric, Workflow


def outcome_metric_names(workflow_id: int) -> frozenset[str]:
    """The names events may report as attrs.metric: the declared, not archived, metrics (one
    query)."""
    return frozenset(
        OutcomeMetric.objects.filter(workflow_id=workflow_id, archived_at__isnull=True).values_list(
            "name", flat=True
        )
    )


def outcome_metric_list(workflow: Workflow, *, archived: bool = True) -> QuerySet[OutcomeMetric]:
    """The workflow's outcome metrics, current ones first, by name."""
    metrics = OutcomeMetric.objects.filter(workflow=workflow)
    if not archived:
        metrics = metrics.filter(archived_at__isnull=True)
    return metrics.order_by("archived_at", "name")


def outcome_metric_get(workflow: Workflow, metric_id: int | str | None) -> OutcomeMetric:
    """One metric of the workflow, or 404."""
    try:
        return OutcomeMetric.objects.get(workflow=workflow, pk=int(metric_id or 0))
    except (ValueError, OutcomeMetric.DoesNotExist):
        raise Http404("No such outcome metric.") from None
