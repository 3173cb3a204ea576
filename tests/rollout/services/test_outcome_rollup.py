"""OutcomeDay (rollout.services.outcome_rollup) equals a recomputation from the raw outcome
events, rebuilt with the day by the usage rollup; outcomes are no one's activity."""

import random
import uuid
from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.models import EventKind, OutcomeDay, UsageEvent, UsageRollup
from rollout.services.outcome_metrics import outcome_metric_create
from rollout.services.usage_ingest import EventData, usage_events_store
from rollout.services.usage_rollup import usage_rollup_pending
from tests.rollout.holdout_fixtures import holdout_cohort
from tests.rollout.promotion_fixtures import make_plan

pytestmark = pytest.mark.django_db


def recompute(workflow) -> dict:
    sums: dict = defaultdict(lambda: [0, 0.0, 0.0])
    for e in UsageEvent.objects.filter(workflow=workflow, kind=EventKind.OUTCOME):
        if e.arm is None:
            continue
        day = timezone.localtime(e.occurred_at).date()
        row = sums[(e.cohort_id, f"#{e.user_id}", e.arm, e.attrs["metric"], day)]
        row[0] += 1
        row[1] += e.value
        row[2] += e.value * e.value
    return {k: (n, pytest.approx(t), pytest.approx(q)) for k, (n, t, q) in sums.items()}


def rolled_up(workflow) -> dict:
    return {
        (r.cohort_id, r.user_ref, r.arm, r.metric, r.day): (r.count, r.total, r.total_sq)
        for r in OutcomeDay.objects.filter(workflow=workflow)
    }


def test_the_rollup_equals_a_recomputation_from_raw_events(workflow, workflow_owner, ops_leader):
    make_plan(workflow, current="limited")
    setup = holdout_cohort(workflow, ops_leader)
    for name in ("handle_time_s", "csat"):
        outcome_metric_create(
            workflow=workflow, actor=workflow_owner, name=name, label=name, unit="",
            higher_is_better=name == "csat",
        )  # fmt: skip
    rng = random.Random(7)
    people = [*setup.held_out, *setup.ai]
    now = timezone.now()
    batch = [
        EventData(
            event_id=uuid.uuid4(),
            user_ref=rng.choice(people).email,
            kind=EventKind.OUTCOME,
            occurred_at=now - timedelta(seconds=rng.randint(0, 60)),
            attrs={"metric": rng.choice(["handle_time_s", "csat"])},
            value=rng.uniform(10, 500),
        )
        for _ in range(300)
    ]
    batch += [
        EventData(uuid.uuid4(), people[0].email, EventKind.INVOCATION, now),
        EventData(
            uuid.uuid4(), "stranger@example.com", EventKind.OUTCOME, now,
            attrs={"metric": "csat"}, value=3.0,
        ),
    ]  # fmt: skip
    assert usage_events_store(workflow=workflow, events=batch).accepted == 302
    usage_rollup_pending()
    expected = recompute(workflow)
    assert expected and rolled_up(workflow) == expected
    assert {arm for (_, _, arm, _, _) in expected} == {"ai", "holdout"}
    # Outcomes are no one's activity: only the one invocation counts.
    day = UsageRollup.objects.get(workflow=workflow, period="day", cohort=setup.cohort)
    assert day.invocations == 1 and day.active_users == 1

    # A late event and a rebuild: still equal, never incremented twice.
    late = EventData(
        uuid.uuid4(), people[1].email, EventKind.OUTCOME, now,
        attrs={"metric": "csat"}, value=5.0,
    )  # fmt: skip
    usage_events_store(workflow=workflow, events=[late, *batch[:10]])
    usage_rollup_pending()
    assert rolled_up(workflow) == recompute(workflow)
