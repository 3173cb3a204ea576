"""Reading incidents, scoped to what the user may see.

Everyone who may view the workflow (owner, ops leaders, executives, escalation contacts) reads
every incident. A cohort member only reads the explanation of closed incidents that affected one
of their cohorts: an open incident is still being worked out, and another cohort's is not theirs.
"""

from collections.abc import Iterable

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When

from rollout.models import Incident, IncidentStatus, IncidentUpdate, Workflow
from rollout.permissions import AnyUser, can_view_workflow


def _visible(user: AnyUser, workflow: Workflow) -> QuerySet[Incident]:
    incidents = Incident.objects.filter(workflow=workflow)
    if can_view_workflow(user, workflow):
        return incidents
    if not user.is_authenticated:
        return incidents.none()
    return incidents.filter(
        status=IncidentStatus.CLOSED,
        pk__in=Incident.objects.filter(workflow=workflow, cohorts__memberships__user=user).values(
            "pk"
        ),
    )


def incident_list_for_user(user: AnyUser, workflow: Workflow) -> QuerySet[Incident]:
    """The workflow's incidents the user may see: open first, then closed, latest start first;
    cohorts prefetched."""
    open_first = Case(
        When(status=IncidentStatus.OPEN, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        _visible(user, workflow)
        .prefetch_related("cohorts")
        .order_by(open_first, "-started_at", "-id")
    )


def incident_get_for_user(user: AnyUser, workflow: Workflow, incident_id: int) -> Incident:
    """One incident of the workflow the user may see, with who opened and closed it; raises
    Incident.DoesNotExist for one they may not see, like one of another workflow."""
    return (
        _visible(user, workflow)
        .select_related("opened_by", "closed_by")
        .prefetch_related("cohorts")
        .get(pk=incident_id)
    )


def incident_timeline(incident: Incident) -> QuerySet[IncidentUpdate]:
    return incident.updates.select_related("author").order_by("at", "id")


def incident_list_open(workflow: Workflow) -> QuerySet[Incident]:
    """Open incidents of the workflow, latest start first (for owner-facing pages only)."""
    return Incident.objects.filter(workflow=workflow, status=IncidentStatus.OPEN).order_by(
        "-started_at", "-id"
    )


def open_incident_counts(workflow_ids: Iterable[int]) -> dict[int, int]:
    """{workflow id: number of open incidents}, only for workflows with any. One query."""
    rows = (
        Incident.objects.filter(workflow_id__in=list(workflow_ids), status=IncidentStatus.OPEN)
        .values("workflow_id")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {row["workflow_id"]: row["count"] for row in rows}
