"""Usage data for the usage, health, overview and portfolio page tests, made the way the product
makes it: events stored by the ingestion service, then rolled up (and thresholds evaluated) by the
rollup service."""

import uuid
from datetime import date, datetime, timedelta

from django.utils import timezone

from accounts.models import User
from core.dates import day_bounds
from rollout.models import Cohort, Workflow
from rollout.services import thresholds as threshold_services
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.usage_ingest import EventData, usage_events_store
from tests.factories import UserFactory


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


def make_cohort(workflow: Workflow, actor: User, name: str, members: int) -> Cohort:
    """A cohort whose members are <name-slug>-<n>@example.com."""
    cohort = cohort_create(workflow=workflow, actor=actor, name=name)
    prefix = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-") or "cohort"
    users = [UserFactory(email=f"{prefix}-{workflow.pk}-{n}@example.com") for n in range(members)]
    cohort_members_add(cohort=cohort, users=users, actor=actor)
    return cohort


def member_ref(cohort: Cohort, n: int) -> str:
    """The user_ref (email) of the cohort's n-th member as make_cohort made them."""
    prefix = "".join(ch if ch.isalnum() else "-" for ch in cohort.name.lower()).strip("-")
    return f"{prefix or 'cohort'}-{cohort.workflow_id}-{n}@example.com"


def day_events(
    user_ref: str,
    day: date,
    *,
    invocations: int = 0,
    accepted: int = 0,
    edited: int = 0,
    overridden: int = 0,
    errors: int = 0,
    fallbacks: int = 0,
    agreed: int = 0,
    disagreed: int = 0,
    latency_ms: int = 400,
) -> list[EventData]:
    """One person's events on one day (at 10:00 local time); invocations carry the latency."""
    when: datetime = day_bounds(day)[0] + timedelta(hours=10)
    kinds = {
        "accepted": accepted,
        "edited": edited,
        "overridden": overridden,
        "error": errors,
        "fallback": fallbacks,
        "agreed": agreed,
        "disagreed": disagreed,
    }
    events = [
        EventData(uuid.uuid4(), user_ref, "invocation", when, latency_ms=latency_ms)
        for _ in range(invocations)
    ]
    for kind, count in kinds.items():
        events += [EventData(uuid.uuid4(), user_ref, kind, when) for _ in range(count)]
    return events


def record_usage(workflow: Workflow, events: list[EventData]) -> None:
    """Store the events and bring the rollups (and threshold statuses) up to date."""
    for start in range(0, len(events), 1000):
        usage_events_store(workflow=workflow, events=events[start : start + 1000])
    usage_refresh_pending()


def add_threshold(workflow: Workflow, actor: User, **fields):
    """A threshold made by the thresholds service, with the usual fields unless given."""
    values = {
        "comparator": "lte",
        "marginal_limit": None,
        "window_days": 7,
        "min_sample": 10,
        "scope": "workflow",
        "bad_output": "A reply that promises a refund we don't offer.",
        "action": "alert",
        **fields,
    }
    return threshold_services.threshold_create(workflow=workflow, actor=actor, **values)
