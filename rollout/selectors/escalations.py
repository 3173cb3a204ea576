"""Reads of escalations. Callers have already checked the user may see the workflow
(rollout.permissions.access_workflow); `escalation_list_for_contact` is scoped to the person."""

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When
from django.http import Http404

from accounts.models import User
from rollout.models import (
    OPEN_ESCALATION,
    Cohort,
    Escalation,
    EscalationEvent,
    EscalationStatus,
    Feedback,
    Incident,
    Severity,
    Threshold,
    Workflow,
)
from rollout.selectors.usage import ALL, NO_COHORT

# What an escalation can be opened from by hand, by the name of its query parameter.
ORIGIN_MODELS: dict[str, type[Feedback] | type[Incident] | type[Threshold]] = {
    "feedback": Feedback,
    "incident": Incident,
    "threshold": Threshold,
}


def _with_timeline(escalations: QuerySet[Escalation]) -> QuerySet[Escalation]:
    """Everything a page shows of an escalation, its full timeline included, in a fixed number of
    queries whatever the number of escalations and events."""
    events = EscalationEvent.objects.select_related("actor", "contact").order_by("at", "id")
    return escalations.select_related(
        "workflow__owner",
        "current_contact",
        "opened_by",
        "acknowledged_by",
        "resolved_by",
        "incident",
    ).prefetch_related(Prefetch("events", queryset=events))


def escalation_list_open(workflow: Workflow) -> QuerySet[Escalation]:
    """Open and acknowledged escalations of the workflow, most severe first, then oldest first."""
    rank = Case(
        *(When(severity=value, then=Value(i)) for i, value in enumerate(reversed(Severity.values))),
        default=Value(len(Severity.values)),
    )
    rows = Escalation.objects.filter(workflow=workflow, status__in=OPEN_ESCALATION)
    return _with_timeline(rows).alias(rank=rank).order_by("rank", "opened_at", "id")


def escalation_list_past(workflow: Workflow) -> QuerySet[Escalation]:
    """The workflow's resolved escalations, most recently resolved first."""
    rows = Escalation.objects.filter(workflow=workflow, status=EscalationStatus.RESOLVED)
    return _with_timeline(rows).order_by("-resolved_at", "-id")


def escalation_get_for_workflow(workflow: Workflow, escalation_id: int) -> Escalation:
    """One escalation of this workflow with its timeline; an escalation of another workflow is a
    404 like an unknown one."""
    escalation = _with_timeline(Escalation.objects.filter(workflow=workflow, pk=escalation_id))
    found = escalation.first()
    if found is None:
        raise Http404("No such escalation.")
    return found


def escalation_get_or_none(workflow: Workflow, escalation_id: int) -> Escalation | None:
    """One escalation of this workflow without its timeline, or None (another workflow's too)."""
    return Escalation.objects.filter(workflow=workflow, pk=escalation_id).first()


def escalation_origin_get(
    workflow: Workflow, kind: str, item_id: int
) -> Feedback | Incident | Threshold | None:
    """The item of this workflow an escalation is opened from (`kind` is a key of
    ORIGIN_MODELS), or None when it is not this workflow's."""
    return ORIGIN_MODELS[kind].objects.filter(workflow=workflow, pk=item_id).first()


def escalation_list_for_contact(user: User) -> QuerySet[Escalation]:
    """Open escalations waiting on this person (they are the current contact), oldest first —
    for the home page. Acknowledged ones are included: they are still theirs to resolve."""
    if not user.is_authenticated:
        return Escalation.objects.none()
    return (
        Escalation.objects.filter(current_contact=user, status__in=OPEN_ESCALATION)
        .select_related("workflow")
        .order_by("opened_at", "id")
    )


def escalation_list_open_critical(workflow: Workflow) -> list[tuple[int, str, str]]:
    """(id, status, title) of the workflow's open escalations at the highest severity, by id."""
    return list(
        Escalation.objects.filter(
            workflow=workflow, status__in=OPEN_ESCALATION, severity=Severity.CRITICAL
        )
        .order_by("pk")
        .values_list("pk", "status", "title")
    )


class OpenEscalations(NamedTuple):
    total: int
    critical: int


def open_escalation_counts(workflow_ids: Iterable[int]) -> dict[int, OpenEscalations]:
    """{workflow id: (open, of which critical)} counting open and acknowledged escalations, only
    for workflows with any (the portfolio). One query."""
    rows = (
        Escalation.objects.filter(workflow_id__in=list(workflow_ids), status__in=OPEN_ESCALATION)
        .values("workflow_id")
        .annotate(total=Count("id"), critical=Count("id", filter=Q(severity=Severity.CRITICAL)))
        .order_by()
    )
    return {row["workflow_id"]: OpenEscalations(row["total"], row["critical"]) for row in rows}


def escalations_opened_count(
    workflow: Workflow, *, start: datetime, end: datetime, scope: Cohort | str = ALL
) -> int:
    """Escalations of the workflow opened in [start, end]. A cohort's are those opened from its
    members' feedback (an escalation records no cohort of its own otherwise); people in no
    cohort's, those from feedback of no cohort. One query."""
    rows = Escalation.objects.filter(workflow=workflow, opened_at__gte=start, opened_at__lte=end)
    if isinstance(scope, Cohort):
        rows = rows.filter(feedback__cohort=scope)
    elif scope == NO_COHORT:
        rows = rows.filter(feedback__isnull=False, feedback__cohort__isnull=True)
    return rows.count()


def escalation_rate_measure(
    workflow: Workflow,
    *,
    start: datetime,
    end: datetime,
    scope: Cohort | str = ALL,
    invocations: int,
) -> tuple[float | None, int]:
    """(escalation rate, sample) for threshold evaluation: escalations opened in the window ÷
    the scope's invocations over it; (None, 0) without invocations (never a silent pass)."""
    if not invocations:
        return None, 0
    opened = escalations_opened_count(workflow, start=start, end=end, scope=scope)
    return opened / invocations, invocations
