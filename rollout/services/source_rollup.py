"""Rolling one day's input events (input_ok, input_rejected, input_stale) up into SourceHealthDay.

Called by rollout.services.usage_rollup for every day it rebuilds, inside its transaction: the
day's rows are replaced by a recomputation from its raw events, like UsageRollup, so late and
duplicate events are harmless. One aggregate query over the day's input events.

`attrs.data_as_of` is stored by the events API as UTC ISO 8601 text of one fixed shape
(rollout.api.events), so the newest one is the largest text and the database can pick it.
"""

from datetime import date, datetime

from django.db import transaction
from django.db.models import Count, Max, Q
from django.db.models.fields.json import KT

from core.dates import day_bounds
from rollout.models import INPUT_KINDS, EventKind, SourceHealthDay, UsageEvent

_COUNTER = {
    EventKind.INPUT_OK: "ok",
    EventKind.INPUT_REJECTED: "rejected",
    EventKind.INPUT_STALE: "stale",
}


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def source_health_rebuild_day(*, workflow_id: int, day: date) -> int:
    """Replace the day's SourceHealthDay rows with a recomputation from its input events.
    Returns the number of input events the day holds."""
    start, end = day_bounds(day)
    undated = Q(as_of__isnull=True) & ~Q(kind=EventKind.INPUT_STALE)
    rows = (
        UsageEvent.objects.filter(
            workflow_id=workflow_id,
            occurred_at__gte=start,
            occurred_at__lt=end,
            kind__in=INPUT_KINDS,
        )
        .annotate(source=KT("attrs__source"), as_of=KT("attrs__data_as_of"))
        .values("source", "kind")
        .annotate(
            n=Count("event_id"),
            seen=Max("occurred_at"),
            dated=Max("as_of"),
            # An accepted or rejected input without data_as_of vouches for data of its time.
            undated=Max("occurred_at", filter=undated),
        )
        .order_by()
    )
    days: dict[str, SourceHealthDay] = {}
    total = 0
    for row in rows:
        key = row["source"] or ""
        if not key:
            continue  # the API refuses input events without a source; nothing to attribute
        total += row["n"]
        health = days.get(key)
        if health is None:
            health = days[key] = SourceHealthDay(
                workflow_id=workflow_id, source_key=key, day=day, last_seen_at=row["seen"]
            )
        setattr(health, _COUNTER[row["kind"]], row["n"])
        health.last_seen_at = max(health.last_seen_at, row["seen"])
        dated = datetime.fromisoformat(row["dated"]) if row["dated"] else None
        health.last_data_as_of = _later(health.last_data_as_of, _later(dated, row["undated"]))
        if row["kind"] == EventKind.INPUT_STALE:
            health.last_stale_at = row["seen"]
    with transaction.atomic():
        SourceHealthDay.objects.filter(workflow_id=workflow_id, day=day).delete()
        SourceHealthDay.objects.bulk_create(days.values())
    return total
