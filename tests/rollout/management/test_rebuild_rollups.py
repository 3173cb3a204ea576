"""`rebuild_rollups`: whatever happened to the rollups, they come back equal to a recomputation."""

import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import User
from rollout.management.commands.rebuild_rollups import MSG_UNKNOWN_WORKFLOW
from rollout.models import UsageActiveUser, UsageDirtyDay, UsageEvent, UsageRollup, Workflow
from rollout.services.cohorts import cohort_create, cohort_members_add
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.usage_ingest import EventData, usage_events_store
from rollout.services.usage_rollup import COUNTER
from tests.factories import UserFactory, make_workflow

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)
KINDS = [("invocation", 640), ("accepted", None), ("invocation", 2300), ("overridden", None)]


def rebuild(*args: str) -> str:
    out = StringIO()
    call_command("rebuild_rollups", *args, stdout=out)
    return out.getvalue()


def store_usage(workflow: Workflow, members: list[User]) -> None:
    """Four days of events (the middle two with none on one day) by two cohort members and one
    person Rollout does not know, rolled up as after ingestion."""
    cohort = cohort_create(workflow=workflow, name="Tier 1", actor=workflow.owner)
    cohort_members_add(cohort=cohort, users=members, actor=workflow.owner)
    batch = []
    for days_back, refs in ((3, ["ext-7"]), (1, [m.email for m in members]), (0, ["ext-7"])):
        for ref in [*refs, members[0].email]:
            for kind, latency in KINDS:
                at = NOON - timedelta(days=days_back) + timedelta(minutes=len(batch))
                batch.append(
                    EventData(
                        event_id=uuid.uuid4(),
                        user_ref=ref,
                        kind=kind,
                        occurred_at=at,
                        latency_ms=latency,
                    )
                )
    usage_events_store(workflow=workflow, events=batch)
    usage_refresh_pending()


def rollups(workflow: Workflow | None = None) -> dict[str, list[tuple]]:
    """Every rollup and active-user row as plain values (ids left out: rebuilt rows are new)."""
    rows = UsageRollup.objects.order_by("workflow_id", "period", "start", "cohort_id")
    people = UsageActiveUser.objects.order_by("workflow_id", "day", "cohort_id", "user_ref")
    if workflow is not None:
        rows, people = rows.filter(workflow=workflow), people.filter(workflow=workflow)
    fields = [f.name for f in UsageRollup._meta.fields if f.name != "id"]
    return {
        "rollups": [tuple(r[f] for f in fields) for r in rows.values(*fields)],
        "active": list(people.values_list("workflow_id", "cohort_id", "day", "user_ref")),
    }


def recomputed_days(workflow: Workflow) -> dict[tuple, dict]:
    """The daily rows computed straight from the raw events, independently of the service."""
    days: dict[tuple, dict] = defaultdict(lambda: {"counts": Counter(), "people": set()})
    for event in UsageEvent.objects.filter(workflow=workflow):
        day = days[(event.cohort_id, timezone.localdate(event.occurred_at))]
        day["counts"][COUNTER[event.kind]] += 1
        day["counts"]["latency_count"] += event.latency_ms is not None
        day["people"].add(event.user_id or event.user_ref)
    return {
        key: {**value["counts"], "active_users": len(value["people"])}
        for key, value in days.items()
    }


def rolled_up_days(workflow: Workflow) -> dict[tuple, dict]:
    result = {}
    for row in UsageRollup.objects.filter(workflow=workflow, period="day"):
        counts = {
            name: getattr(row, name)
            for name in [*set(COUNTER.values()), "latency_count", "active_users"]
        }
        result[(row.cohort_id, row.day)] = {k: v for k, v in counts.items() if v}
    return result


@pytest.fixture
def members() -> list[User]:
    return [UserFactory(email="ann@example.com"), UserFactory(email="bob@example.com")]


def tamper(workflow: Workflow) -> None:
    """Lose some rows, corrupt others, and invent some on days without events."""
    days = UsageRollup.objects.filter(workflow=workflow, period="day")
    days.filter(day=DAY).delete()
    hours = UsageRollup.objects.filter(workflow=workflow, period="hour")
    hours.filter(pk=hours.filter(day=DAY - timedelta(days=1)).first().pk).delete()
    days.filter(day=DAY - timedelta(days=3)).update(invocations=999, latency_hist=[1, 2, 3])
    UsageActiveUser.objects.filter(workflow=workflow, day=DAY - timedelta(days=1)).delete()
    for day in (DAY - timedelta(days=2), DAY + timedelta(days=5)):
        UsageRollup.objects.create(
            workflow=workflow, period="day", day=day, start=NOON, invocations=5
        )
        UsageActiveUser.objects.create(workflow=workflow, day=day, user_ref="ghost@example.com")


def test_restores_tampered_rollups_to_a_fresh_recomputation(workflow, members) -> None:
    store_usage(workflow, members)
    fresh = rollups()
    assert recomputed_days(workflow) == rolled_up_days(workflow)
    tamper(workflow)
    assert rollups() != fresh

    output = rebuild()

    assert output == "Rebuilt 4 days of usage rollups (all workflows) from raw events.\n"
    assert rollups() == fresh
    assert rolled_up_days(workflow) == recomputed_days(workflow)
    assert not UsageDirtyDay.objects.exists()


def test_rebuilds_only_the_workflow_named(workflow, members, ops_leader) -> None:
    other = make_workflow(actor=ops_leader, owner=workflow.owner, name="Invoice coding")
    store_usage(workflow, members)
    store_usage(other, members)
    fresh = rollups(workflow)
    tamper(workflow)
    tamper(other)
    tampered_other = rollups(other)

    output = rebuild("--workflow", workflow.slug)

    assert output == "Rebuilt 4 days of usage rollups (Support reply drafting) from raw events.\n"
    assert rollups(workflow) == fresh
    assert rollups(other) == tampered_other


def test_a_workflow_whose_events_are_all_gone_loses_its_rollups(workflow, members) -> None:
    store_usage(workflow, members)
    UsageEvent.objects.filter(workflow=workflow).delete()

    output = rebuild("--workflow", workflow.slug)

    assert output == "Rebuilt 0 days of usage rollups (Support reply drafting) from raw events.\n"
    assert rollups(workflow) == {"rollups": [], "active": []}


def test_an_unknown_slug_is_refused_with_a_clear_message(workflow, members) -> None:
    store_usage(workflow, members)
    before = rollups()

    with pytest.raises(CommandError) as raised:
        rebuild("--workflow", "no-such-workflow")

    assert str(raised.value) == "No workflow has the slug 'no-such-workflow'."
    assert str(raised.value) == MSG_UNKNOWN_WORKFLOW.format(slug="no-such-workflow")
    assert rollups() == before
