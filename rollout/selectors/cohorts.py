"""Reads for the cohorts page."""

from collections.abc import Iterable

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import User
from rollout.models import Cohort, CohortMember, Workflow


def cohort_list_for_workflow(workflow: Workflow) -> QuerySet[Cohort]:
    """The workflow's cohorts with `member_count` and `memberships` (with users) prefetched,
    in three queries whatever the number of cohorts and members."""
    memberships = CohortMember.objects.select_related("user").order_by(
        "user__display_name", "user__email"
    )
    return (
        Cohort.objects.filter(workflow=workflow)
        .annotate(member_count=Count("memberships"))
        .prefetch_related(Prefetch("memberships", queryset=memberships))
        .order_by("name")
    )


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


def user_list_addable(cohort: Cohort) -> QuerySet[User]:
    """Active people not yet in the cohort, for the "add members" picker."""
    return (
        User.objects.filter(is_active=True)
        .exclude(cohort_memberships__cohort=cohort)
        .order_by("display_name", "email")
    )
