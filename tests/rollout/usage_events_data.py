"""Usage events for the usage-tracking tests: built as the integration reports them, stored through
the ingestion service, rolled up by the rollup service (never written straight into rollups)."""

import uuid
from datetime import date, datetime, timedelta

from django.utils import timezone

from core.dates import day_bounds
from rollout.models import Threshold, Workflow
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.usage_ingest import EventData, IngestResult, usage_events_store

SOMEONE = "someone@example.com"


def event(
    kind: str = "invocation",
    *,
    user_ref: str = SOMEONE,
    at: datetime | None = None,
    latency_ms: int | None = None,
    attrs: dict | None = None,
    event_id: uuid.UUID | None = None,
) -> EventData:
    return EventData(
        event_id=event_id or uuid.uuid4(),
        user_ref=user_ref,
        kind=kind,
        occurred_at=at or timezone.now() - timedelta(minutes=1),
        latency_ms=latency_ms,
        attrs=attrs or {},
    )


def events(kind: str, count: int, **fields) -> list[EventData]:
    return [event(kind, **fields) for _ in range(count)]


def at_noon(day: date) -> datetime:
    """Midday (local time) of `day`: safely inside the day, whatever the clock says now."""
    return day_bounds(day)[0] + timedelta(hours=12)


def days_ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


def ingest(workflow: Workflow, batch: list[EventData]) -> IngestResult:
    """Store a batch and bring the rollups up to date, as the task after ingestion does."""
    result = usage_events_store(workflow=workflow, events=batch)
    usage_refresh_pending()
    return result


def outcomes(*, accepted: int = 0, edited: int = 0, overridden: int = 0, **fields) -> list:
    return (
        events("accepted", accepted, **fields)
        + events("edited", edited, **fields)
        + events("overridden", overridden, **fields)
    )


def errors_out_of(errors: int, invocations: int, **fields) -> list[EventData]:
    """`invocations` invocations, `errors` of them failed: an error rate of errors ÷ invocations."""
    return events("invocation", invocations, **fields) + events("error", errors, **fields)


def make_threshold(workflow: Workflow, **fields) -> Threshold:
    values = {
        "metric": "error_rate",
        "comparator": "lte",
        "limit": 0.05,
        "window_days": 7,
        "min_sample": 100,
        "scope": "workflow",
        "bad_output": "A reply that promises a refund we do not give.",
        "action": "alert",
    }
    values.update(fields)
    return Threshold.objects.create(workflow=workflow, **values)
