"""Reads of autonomy change requests (rollout.models.autonomy). Callers have already checked the
user may see the workflow; the approvals queue is for ops leaders."""

from django.db.models import QuerySet

from rollout.models import AutonomyRequest, AutonomyStatus, Cohort, Workflow


def _shown(rows: QuerySet[AutonomyRequest]) -> QuerySet[AutonomyRequest]:
    return rows.select_related(
        "workflow", "cohort", "requested_by", "overridden_by"
    ).prefetch_related("approvals__approver")


def autonomy_pending_by_cohort(workflow: Workflow) -> dict[int, AutonomyRequest]:
    """The pending request of each cohort that has one (two queries)."""
    rows = _shown(AutonomyRequest.objects.filter(workflow=workflow, status=AutonomyStatus.PENDING))
    return {request.cohort_id: request for request in rows}


def autonomy_history(cohort: Cohort, *, limit: int = 10) -> list[AutonomyRequest]:
    """The cohort's latest requests, newest first."""
    return list(
        _shown(AutonomyRequest.objects.filter(cohort=cohort)).order_by("-requested_at", "-id")[
            :limit
        ]
    )


def autonomy_get_for_cohort(cohort: Cohort, request_id: int) -> AutonomyRequest:
    """One request of this cohort; AutonomyRequest.DoesNotExist for another's."""
    return AutonomyRequest.objects.get(pk=request_id, cohort=cohort)


def autonomy_list_open() -> QuerySet[AutonomyRequest]:
    """Pending requests across the portfolio, oldest first: beside promotions in the approvals
    queue."""
    return _shown(AutonomyRequest.objects.filter(status=AutonomyStatus.PENDING)).order_by(
        "requested_at", "id"
    )
