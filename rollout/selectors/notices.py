"""Reads of change notices for the people who write and approve them (the authoring side).

The recipients' side (inbox, delivery counts) lives with delivery. Callers have already checked
access to the workflow (rollout.permissions.access_workflow); the approvals list is for ops leaders.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When

from accounts.models import User
from rollout.models import (
    ChangeNotice,
    Cohort,
    CohortMember,
    Follow,
    Incident,
    NoticeAudience,
    NoticeKind,
    NoticeStatus,
    Workflow,
)

# The order the notices page shows its groups in: what needs the author's attention first.
STATUS_ORDER = (
    NoticeStatus.DRAFT,
    NoticeStatus.AWAITING_APPROVAL,
    NoticeStatus.SCHEDULED,
    NoticeStatus.PUBLISHED,
    NoticeStatus.CANCELLED,
)


def notice_lead_time(workflow: Workflow) -> timedelta:
    return timedelta(days=workflow.lead_time_days)


def notice_is_short(notice: ChangeNotice) -> bool:
    """Rule 5: less than the workflow's lead time between publish and effective (urgent)."""
    return notice.effective_at - notice.publish_at < notice_lead_time(notice.workflow)


def _with_related(notices: QuerySet[ChangeNotice]) -> QuerySet[ChangeNotice]:
    return notices.select_related("created_by", "approved_by", "incident").prefetch_related(
        Prefetch("cohorts", queryset=Cohort.objects.order_by("name"))
    )


def notice_list_for_workflow(workflow: Workflow) -> QuerySet[ChangeNotice]:
    """Every notice of the workflow in STATUS_ORDER, newest publish time first within a status,
    cohorts prefetched: the notices page cuts it into pages."""
    status_rank = Case(
        *(When(status=status, then=Value(rank)) for rank, status in enumerate(STATUS_ORDER)),
        default=Value(len(STATUS_ORDER)),
        output_field=IntegerField(),
    )
    return (
        _with_related(ChangeNotice.objects.filter(workflow=workflow))
        .alias(status_rank=status_rank)
        .order_by("status_rank", "-publish_at", "-id")
    )


def notice_status_counts(workflow: Workflow) -> dict[str, int]:
    """{status: number of the workflow's notices}, statuses without any left out. One query."""
    rows = (
        ChangeNotice.objects.filter(workflow=workflow)
        .values("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {row["status"]: row["count"] for row in rows}


def notice_groups(
    workflow: Workflow, notices: Iterable[ChangeNotice]
) -> list[tuple[str, list[ChangeNotice]]]:
    """[(status, notices)] of some of the workflow's notices (a page of notice_list_for_workflow),
    in the order given, empty groups left out."""
    by_status: dict[str, list[ChangeNotice]] = {}
    for notice in notices:
        notice.workflow = workflow
        by_status.setdefault(notice.status, []).append(notice)
    return list(by_status.items())


def notice_get_for_workflow(workflow: Workflow, notice_id: int) -> ChangeNotice:
    """One notice of this workflow; raises ChangeNotice.DoesNotExist for another's."""
    notice = _with_related(ChangeNotice.objects.filter(workflow=workflow)).get(pk=notice_id)
    notice.workflow = workflow
    return notice


def notice_get_for_incident(incident: Incident) -> ChangeNotice | None:
    """The explanation published as a change notice when the incident closed (the latest), or
    None. Its updates, posted while it was open, are notices of another kind."""
    return (
        ChangeNotice.objects.filter(incident=incident, kind=NoticeKind.INCIDENT_EXPLANATION)
        .order_by("-pk")
        .first()
    )


def notice_list_awaiting_approval() -> QuerySet[ChangeNotice]:
    """Urgent notices waiting for an ops leader, across the portfolio, soonest effective first."""
    return (
        ChangeNotice.objects.filter(status=NoticeStatus.AWAITING_APPROVAL)
        .select_related("workflow", "created_by")
        .order_by("effective_at", "id")
    )


def notice_audience_cohort_ids(notice: ChangeNotice) -> list[int]:
    """The cohorts the notice goes to: the chosen ones, or every cohort of the workflow."""
    if notice.audience == NoticeAudience.EVERYONE:
        return list(
            Cohort.objects.filter(workflow_id=notice.workflow_id).values_list("pk", flat=True)
        )
    return [cohort.pk for cohort in notice.cohorts.all()]


def notice_audience_user_ids(
    notice: ChangeNotice, *, cohort_ids: Iterable[int] | None = None
) -> set[int]:
    """The active people the notice would reach today: members of its cohorts, plus the
    workflow's followers when it includes them. `cohort_ids` overrides the stored cohorts (the
    form's preview, before anything is saved)."""
    ids = list(notice_audience_cohort_ids(notice) if cohort_ids is None else cohort_ids)
    who = Q(pk__in=CohortMember.objects.filter(cohort_id__in=ids).values("user_id"))
    if notice.include_followers:
        who |= Q(pk__in=Follow.objects.filter(workflow_id=notice.workflow_id).values("user_id"))
    return set(User.objects.filter(who, is_active=True).values_list("pk", flat=True))


def notices_covering(
    workflow: Workflow, cohort_ids: Iterable[int], statuses: Iterable[str]
) -> dict[int, list[ChangeNotice]]:
    """{cohort id: the workflow's notices in `statuses` that reach it} — chosen for it, or to
    everyone. Two queries, whatever the number of cohorts and notices."""
    statuses = list(statuses)
    wanted = set(cohort_ids)
    notices = list(
        ChangeNotice.objects.filter(workflow=workflow, status__in=statuses).order_by("pk")
    )
    links = ChangeNotice.cohorts.through.objects.filter(
        changenotice__workflow=workflow, changenotice__status__in=statuses, cohort_id__in=wanted
    ).values_list("changenotice_id", "cohort_id")
    chosen: dict[int, set[int]] = {}
    for notice_id, cohort_id in links:
        chosen.setdefault(notice_id, set()).add(cohort_id)
    covering: dict[int, list[ChangeNotice]] = {cohort_id: [] for cohort_id in wanted}
    for notice in notices:
        reached = wanted if notice.audience == NoticeAudience.EVERYONE else chosen.get(notice.pk)
        for cohort_id in reached or ():
            covering[cohort_id].append(notice)
    return covering
