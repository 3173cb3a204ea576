"""Usage figures the pages need beside rollout.selectors.usage: distinct people over a period per
cohort (a sum of daily active users would count a person once per day), and daily active users
per workflow for the portfolio's sparklines. One query each, whatever the data size."""

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, QuerySet, Sum

from rollout.models import Cohort, RollupPeriod, UsageActiveUser, UsageRollup, Workflow


def active_users_by_cohort(workflow: Workflow, *, start: date, end: date) -> dict[int | None, int]:
    """{cohort id (None: people in no cohort): distinct people active in start..end}."""
    return dict(
        UsageActiveUser.objects.filter(workflow=workflow, day__gte=start, day__lte=end)
        .values("cohort_id")
        .annotate(n=Count("user_ref", distinct=True))
        .values_list("cohort_id", "n")
        .order_by()
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


def usage_ever_reported(workflow: Workflow) -> bool:
    """Whether any usage of the workflow was ever rolled up (tells "not yet" from "not lately")."""
    return UsageRollup.objects.filter(workflow=workflow).exists()
