"""Rolling outcome events up into OutcomeDay rows (issue 18 §1).

Rebuilt whole with each dirty day by rollout.services.usage_rollup, like the day's other
rollups: per (cohort, person, arm, metric) the count, sum and sum of squares of the day's outcome
values, so the impact figures (rollout.selectors.impact) never scan raw events. Only events
stamped with an arm count: those of people in neither arm are no part of the comparison.
"""

from datetime import date

from django.db.models import Count, F, FloatField, Sum
from django.db.models.fields.json import KT

from core.dates import day_bounds
from rollout.models import EventKind, OutcomeDay, UsageEvent


def outcome_key(user_id: int) -> str:
    """OutcomeDay.user_ref of a person: as UsageActiveUser names a known person ("#<id>"); an
    event in an arm always has a known person."""
    return f"#{user_id}"


def outcome_rollup_rebuild_day(*, workflow_id: int, day: date) -> int:
    """Replace the day's OutcomeDay rows with a recomputation from its outcome events. One
    aggregate query, one delete, one insert. Returns the number of rows written. Call inside
    the day's rebuild transaction."""
    start, end = day_bounds(day)
    rows = (
        UsageEvent.objects.filter(
            workflow_id=workflow_id,
            occurred_at__gte=start,
            occurred_at__lt=end,
            kind=EventKind.OUTCOME,
            arm__isnull=False,
            user_id__isnull=False,
            value__isnull=False,
        )
        .annotate(metric=KT("attrs__metric"))
        .values("cohort_id", "user_id", "arm", "metric")
        .annotate(
            n=Count("event_id"),
            total=Sum("value"),
            total_sq=Sum(F("value") * F("value"), output_field=FloatField()),
        )
        .order_by()
    )
    days = [
        OutcomeDay(
            workflow_id=workflow_id,
            cohort_id=row["cohort_id"],
            user_ref=outcome_key(row["user_id"]),
            arm=row["arm"],
            metric=row["metric"],
            day=day,
            count=row["n"],
            total=row["total"],
            total_sq=row["total_sq"],
        )
        for row in rows
        if row["metric"]
    ]
    OutcomeDay.objects.filter(workflow_id=workflow_id, day=day).delete()
    OutcomeDay.objects.bulk_create(days, batch_size=1000)
    return len(days)
