"""Usage figures the pages need beside rollout.selectors.usage: distinct people over a period per
cohort (a sum of daily active users would count a person once per day), and daily active users
per workflow for the portfolio's sparklines. A query or two each, whatever the data size."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum

from rollout.models import (
    Cohort,
    CohortMember,
    RollupPeriod,
    UsageActiveUser,
    UsageLastActive,
    UsageRollup,
    Workflow,
)


@dataclass(frozen=True)
class ActivePeople:
    """Distinct people active over a period: per cohort (None: people in no cohort), and in any
    cohort of the workflow (a person who changed cohorts counts once)."""

    by_cohort: dict[int | None, int]
    in_any_cohort: int


def _active_between(workflow: Workflow, start: date, end: date) -> QuerySet[UsageLastActive]:
    """The (cohort, person) rows with a day in start..end. A row's day is the person's latest:
    within the period, they were active in it; before it, they were not. Only a latest day after
    `end` needs a look at that person's days (UsageActiveUser): for a period ending today, only
    people with an event dated up to an hour ahead, past midnight."""
    days = UsageActiveUser.objects.filter(
        workflow=workflow, user_ref=OuterRef("user_ref"), day__gte=start, day__lte=end
    )
    later_but_also_within = Q(
        Exists(days.filter(cohort=OuterRef("cohort"))), cohort__isnull=False
    ) | Q(Exists(days.filter(cohort__isnull=True)), cohort__isnull=True)
    return UsageLastActive.objects.filter(workflow=workflow, day__gte=start).filter(
        Q(day__lte=end) | Q(later_but_also_within, day__gt=end)
    )


def active_people(
    workflow: Workflow, *, start: date, end: date, cohort_ids: Sequence[int] | None = None
) -> ActivePeople:
    """Distinct people active in start..end, over one row per person (not per person and day):
    fast for a period ending today, as the usage page's always does. Two queries; one when the
    caller names the cohorts it wants counted (`cohort_ids`: `by_cohort` then holds those and
    people in no cohort, and leaves out those with nobody active, as without)."""
    rows = _active_between(workflow, start, end)
    if cohort_ids is None:
        by_cohort = dict(
            rows.values("cohort_id")
            .annotate(n=Count("pk"))
            .values_list("cohort_id", "n")
            .order_by()
        )
        in_any_cohort = rows.filter(cohort__isnull=False).values("user_ref").distinct().count()
        return ActivePeople(by_cohort, in_any_cohort)
    counts = rows.aggregate(
        in_any=Count("user_ref", distinct=True, filter=Q(cohort__isnull=False)),
        none=Count("pk", filter=Q(cohort__isnull=True)),
        **{f"cohort_{pk}": Count("pk", filter=Q(cohort_id=pk)) for pk in cohort_ids},
    )
    found = {None: counts["none"]} | {pk: counts[f"cohort_{pk}"] for pk in cohort_ids}
    return ActivePeople({key: n for key, n in found.items() if n}, counts["in_any"])


@dataclass(frozen=True)
class Members:
    """Members per cohort, and people in any cohort of the workflow (a person in several cohorts
    counts once)."""

    by_cohort: dict[int, int]
    in_any_cohort: int


def cohort_members(workflow: Workflow, cohort_ids: Sequence[int]) -> Members:
    """Members of each of `cohort_ids` (cohorts of the workflow), and people in any cohort of
    the workflow. One query."""
    counts = CohortMember.objects.filter(cohort__workflow=workflow).aggregate(
        in_any=Count("user_id", distinct=True),
        **{f"cohort_{pk}": Count("pk", filter=Q(cohort_id=pk)) for pk in cohort_ids},
    )
    return Members({pk: counts[f"cohort_{pk}"] for pk in cohort_ids}, counts["in_any"])


def workflow_member_count(workflow: Workflow) -> int:
    """People in any cohort of the workflow, each once."""
    return (
        CohortMember.objects.filter(cohort__workflow=workflow).values("user_id").distinct().count()
    )


def daily_active_by_workflow(
    workflow_ids: list[int], *, start: date, end: date
) -> dict[int, list[int]]:
    """{workflow id: [active users on each day start..end]}, summed over cohorts (a person is
    attributed to one cohort per event, so the daily rollups do not count them twice)."""
    days = (end - start).days + 1
    series: dict[int, list[int]] = defaultdict(lambda: [0] * days)
    for row in (
        UsageRollup.objects.filter(
            workflow_id__in=workflow_ids, period=RollupPeriod.DAY, day__gte=start, day__lte=end
        )
        .values("workflow_id", "day")
        .annotate(n=Sum("active_users"))
        .order_by()
    ):
        series[row["workflow_id"]][(row["day"] - start).days] = row["n"] or 0
    return {pk: series[pk] if pk in series else [0] * days for pk in workflow_ids}


def period_days(days: int, *, today: date) -> tuple[date, date]:
    """The last `days` days, today included."""
    return today - timedelta(days=days - 1), today


def usage_cohorts(workflow: Workflow) -> QuerySet[Cohort]:
    """The workflow's cohorts by name, without members: for the usage page's cohort picker."""
    return Cohort.objects.filter(workflow=workflow).order_by("name")


class RollupStamp(NamedTuple):
    rows: int  # daily rollup rows of the days
    last: int | None  # the highest id among them


def usage_rollup_stamp(workflow: Workflow, *, start: date, end: date) -> RollupStamp:
    """(how many daily rollup rows, the highest row id) of the workflow's days start..end: a
    mark that changes whenever any of those days is rolled up again or loses its rows. A day's
    rollup is always replaced whole, in one transaction with everything derived from its events
    (people active that day and their latest day, costs, data-source health, outcomes:
    rollout.services.usage_rollup.usage_rollup_rebuild_day), and new rows take ids never given
    before; a deleted row (retention, a deleted cohort) lowers the count. One query, on the
    rollup's (workflow, period, day) index."""
    found = UsageRollup.objects.filter(
        workflow=workflow, period=RollupPeriod.DAY, day__gte=start, day__lte=end
    ).aggregate(rows=Count("pk"), last=Max("pk"))
    return RollupStamp(found["rows"], found["last"])


def usage_ever_reported(workflow: Workflow) -> bool:
    """Whether any usage of the workflow was ever rolled up (tells "not yet" from "not lately")."""
    return UsageRollup.objects.filter(workflow=workflow).exists()
