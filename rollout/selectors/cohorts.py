"""Reads for the cohorts page."""

from collections.abc import Iterable

from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber

from rollout.models import Cohort, CohortMember, Workflow


def cohort_list_for_workflow(workflow: Workflow) -> QuerySet[Cohort]:
    """The workflow's cohorts by name with `member_count`. One query; the members themselves are
    read a page at a time (cohort_members_pages)."""
    return (
        Cohort.objects.filter(workflow=workflow)
        .annotate(member_count=Count("memberships"))
        .order_by("name")
    )


def cohort_members_pages(
    workflow: Workflow, windows: dict[int, tuple[int, int]]
) -> dict[int, list[CohortMember]]:
    """{cohort id: its members by name (users joined) from 0-based position start up to stop}
    for each (start, stop) in `windows` — each cohort of the page at its own page of members, in
    one query whatever the number of cohorts and members (a ROW_NUMBER per cohort)."""
    if not windows:
        return {}
    start = Case(
        *(When(cohort_id=pk, then=Value(lo)) for pk, (lo, _hi) in windows.items()),
        output_field=IntegerField(),
    )
    stop = Case(
        *(When(cohort_id=pk, then=Value(hi)) for pk, (_lo, hi) in windows.items()),
        output_field=IntegerField(),
    )
    position = Window(
        RowNumber(),
        partition_by=F("cohort_id"),
        order_by=[F("user__display_name").asc(), F("user__email").asc(), F("pk").asc()],
    )
    rows = (
        CohortMember.objects.filter(cohort__workflow=workflow, cohort_id__in=list(windows))
        .select_related("user")
        .annotate(position=position)
        .alias(start=start, stop=stop)
        .filter(position__gt=F("start"), position__lte=F("stop"))
        .order_by("cohort_id", "position")
    )
    pages: dict[int, list[CohortMember]] = {pk: [] for pk in windows}
    for membership in rows:
        pages[membership.cohort_id].append(membership)
    return pages


def cohort_list_by_name(workflow: Workflow) -> list[Cohort]:
    """The workflow's cohorts by name, nothing prefetched: for filters and pickers."""
    return list(Cohort.objects.filter(workflow=workflow).order_by("name"))


def cohort_list_by_ids(workflow: Workflow, cohort_ids: Iterable[int]) -> list[Cohort]:
    """Those of the given cohorts that are this workflow's (ids of another workflow's are
    dropped)."""
    return list(Cohort.objects.filter(workflow=workflow, pk__in=list(cohort_ids)))


def cohort_get_for_workflow(workflow: Workflow, cohort_id: int) -> Cohort:
    """One cohort of this workflow; Cohort.DoesNotExist for another workflow's cohort."""
    return Cohort.objects.select_related("workflow").get(workflow=workflow, pk=cohort_id)


def cohort_member_list(cohort: Cohort) -> QuerySet[CohortMember]:
    """The cohort's members by name, then email, with their accounts: callers slice a page."""
    return (
        CohortMember.objects.filter(cohort=cohort)
        .select_related("user")
        .order_by("user__display_name", "user__email", "pk")
    )
