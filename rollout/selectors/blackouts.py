"""Reads of blackout windows: org-wide ones (workflow None) and one workflow's own."""

from django.db.models import QuerySet

from rollout.models import BlackoutWindow, Workflow


def blackout_list(workflow: Workflow | None) -> QuerySet[BlackoutWindow]:
    """Org-wide windows (workflow None), or one workflow's own windows, soonest first, with who
    added each."""
    return (
        BlackoutWindow.objects.filter(workflow=workflow)
        .select_related("created_by")
        .order_by("starts_at", "pk")
    )


def blackout_get(workflow: Workflow | None, blackout_id: int) -> BlackoutWindow:
    """One org-wide window (workflow None) or one of this workflow's; raises
    BlackoutWindow.DoesNotExist for any other."""
    return BlackoutWindow.objects.get(pk=blackout_id, workflow=workflow)
