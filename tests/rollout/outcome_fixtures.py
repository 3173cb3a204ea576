"""OutcomeDay rows made directly, for the tests of the impact figures (they read rollups only)."""

from datetime import date, timedelta

from django.utils import timezone

from rollout.models import Cohort, OutcomeDay, OutcomeMetric, Workflow


def handle_time(workflow: Workflow) -> OutcomeMetric:
    return OutcomeMetric.objects.create(
        workflow=workflow, name="handle_time_s", label="Handle time", unit="s"
    )


def person_days(
    workflow: Workflow,
    cohort: Cohort | None,
    arm: str,
    means: list[float],
    *,
    metric: str = "handle_time_s",
    day: date | None = None,
    prefix: str = "",
    cases: int = 4,
) -> None:
    """One person per mean, each with `cases` outcomes averaging it on `day` (today)."""
    day = day or timezone.localdate()
    OutcomeDay.objects.bulk_create(
        [
            OutcomeDay(
                workflow=workflow,
                cohort=cohort,
                user_ref=f"#{prefix}{arm}{i}",
                arm=arm,
                metric=metric,
                day=day,
                count=cases,
                total=mean * cases,
                total_sq=mean * mean * cases,
            )
            for i, mean in enumerate(means)
        ]
    )


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)
