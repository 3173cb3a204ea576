"""Rollups equal a recomputation from raw events, whatever arrived late, twice or out of order."""

import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from rollout.lib.stats import LATENCY_BUCKET_COUNT, histogram_from_samples
from rollout.models import (
    Cohort,
    CohortMember,
    ThresholdStatus,
    UsageActiveUser,
    UsageDirtyDay,
    UsageEvent,
    UsageLastActive,
    UsageRollup,
    Workflow,
)
from rollout.services.cohorts import cohort_delete
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.usage_ingest import EventData, usage_events_store
from rollout.services.usage_rollup import (
    COUNTER,
    LAST_ACTIVE_LOCK,
    RollupRun,
    usage_rollup_pending,
    usage_rollup_rebuild,
    usage_rollup_rebuild_day,
)
from tests.factories import UserFactory, make_workflow
from tests.rollout.usage_events_data import event, events, make_threshold

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
COUNTERS = sorted(set(COUNTER.values()))


# --- Recomputing from raw events, independently of the rollup service --------------------------


def person(row: UsageEvent) -> tuple:
    """Who an event is by: the member when Rollout knows them, else the reference (emails in any
    case being one address)."""
    if row.user_id is not None:
        return ("user", row.user_id)
    ref = row.user_ref
    return ("ref", ref.lower() if "@" in ref else ref)


def recompute(workflow: Workflow, period: str = "day") -> dict:
    """{(cohort id, day or hour start): {...counts...}} straight from the raw events."""
    groups: dict = defaultdict(
        lambda: {"counts": Counter(), "people": set(), "hist": [0] * LATENCY_BUCKET_COUNT}
    )
    for row in UsageEvent.objects.filter(workflow=workflow):
        local = timezone.localtime(row.occurred_at)
        when = local.date() if period == "day" else local.replace(minute=0, second=0)
        group = groups[(row.cohort_id, when)]
        group["counts"][COUNTER[row.kind]] += 1
        group["people"].add(person(row))
        if row.latency_ms is not None:
            group["hist"][histogram_from_samples([row.latency_ms]).index(1)] += 1
    return {
        key: {
            **{name: g["counts"][name] for name in COUNTERS},
            "active_users": len(g["people"]),
            "latency_count": sum(g["hist"]),
            "latency_hist": g["hist"],
        }
        for key, g in groups.items()
    }


def latest_days(workflow: Workflow) -> dict:
    """{(cohort id, UsageActiveUser.user_ref): the person's latest local day} from raw events."""
    latest: dict = {}
    for row in UsageEvent.objects.filter(workflow=workflow):
        kind, who = person(row)
        key = (row.cohort_id, f"#{who}" if kind == "user" else who)
        latest[key] = max(latest.get(key, date.min), timezone.localdate(row.occurred_at))
    return latest


def last_active(workflow: Workflow) -> dict:
    rows = UsageLastActive.objects.filter(workflow=workflow)
    return {(r.cohort_id, r.user_ref): r.day for r in rows}


def rolled_up(workflow: Workflow, period: str = "day") -> dict:
    result = {}
    for row in UsageRollup.objects.filter(workflow=workflow, period=period):
        when = row.day if period == "day" else timezone.localtime(row.start)
        key = (row.cohort_id, when)
        assert key not in result, f"two {period} rows for {key}"
        result[key] = {
            **{name: getattr(row, name) for name in COUNTERS},
            "active_users": row.active_users,
            "latency_count": row.latency_count,
            "latency_hist": row.latency_hist,
        }
    return result


def assert_rollups_match_raw_events(workflow: Workflow) -> None:
    assert rolled_up(workflow, "day") == recompute(workflow, "day")
    assert rolled_up(workflow, "hour") == recompute(workflow, "hour")
    assert_hours_sum_to_days(workflow)
    assert last_active(workflow) == latest_days(workflow)


def assert_hours_sum_to_days(workflow: Workflow) -> None:
    sums: dict = defaultdict(lambda: {"counts": Counter(), "hist": [0] * LATENCY_BUCKET_COUNT})
    for row in UsageRollup.objects.filter(workflow=workflow, period="hour"):
        total = sums[(row.cohort_id, row.day)]
        for name in [*COUNTERS, "latency_count"]:
            total["counts"][name] += getattr(row, name)
        total["hist"] = [a + b for a, b in zip(total["hist"], row.latency_hist, strict=True)]
    days = UsageRollup.objects.filter(workflow=workflow, period="day")
    assert {(d.cohort_id, d.day) for d in days} == set(sums)
    for day in days:
        total = sums[(day.cohort_id, day.day)]
        for name in [*COUNTERS, "latency_count"]:
            assert getattr(day, name) == total["counts"][name], name
        assert day.latency_hist == total["hist"]


# --- Fixtures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    ann: User
    bob: User
    cy: User
    tier1: Cohort
    broad: Cohort


@pytest.fixture
def people(workflow: Workflow) -> People:
    ann = UserFactory(email="ann@example.com", external_id="A-1")
    bob = UserFactory(email="bob@example.com")
    cy = UserFactory(email="cy@example.com")
    tier1 = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    broad = Cohort.objects.create(workflow=workflow, name="Broad", enrolled_phase="broad")
    for cohort, members in ((tier1, [ann, bob]), (broad, [bob, cy])):
        for member in members:
            CohortMember.objects.create(cohort=cohort, user=member)
    return People(ann, bob, cy, tier1, broad)


def store(workflow: Workflow, batch: list[EventData]) -> None:
    usage_events_store(workflow=workflow, events=batch)


# --- Late, duplicate and out-of-order events ---------------------------------------------------


def test_a_day_rolls_up_its_events(workflow, people):
    store(
        workflow,
        [
            event("invocation", user_ref="ann@example.com", at=NOON, latency_ms=120),
            event("invocation", user_ref="ANN@example.com", at=NOON, latency_ms=900),
            event("accepted", user_ref="A-1", at=NOON + timedelta(hours=2)),
            event("overridden", user_ref="bob@example.com", at=NOON),
            event("error", user_ref="cy@example.com", at=NOON),
            event("fallback", user_ref="outsider@example.com", at=NOON),
            event("agreed", user_ref="outsider@example.com", at=NOON),
            event("disagreed", user_ref="X-9", at=NOON),
            event("edited", user_ref="bob@example.com", at=NOON),
        ],
    )
    assert usage_refresh_pending() == 1
    tier1 = UsageRollup.objects.get(workflow=workflow, period="day", cohort=people.tier1)
    assert (tier1.day, tier1.start) == (DAY, datetime(2026, 11, 20, tzinfo=UTC))
    assert (tier1.invocations, tier1.accepted, tier1.overridden, tier1.edited) == (2, 1, 1, 1)
    assert tier1.active_users == 2  # Ann (by three references) and Bob
    assert tier1.latency_count == 2
    broad = UsageRollup.objects.get(workflow=workflow, period="day", cohort=people.broad)
    assert (broad.errors, broad.active_users) == (1, 1)
    nobody = UsageRollup.objects.get(workflow=workflow, period="day", cohort=None)
    assert (nobody.fallbacks, nobody.agreed, nobody.disagreed, nobody.active_users) == (1, 1, 1, 2)
    assert_rollups_match_raw_events(workflow)


def test_a_late_event_rebuilds_its_old_day_only(workflow, people):
    store(workflow, events("invocation", 3, user_ref="ann@example.com", at=NOON))
    usage_refresh_pending()
    today_row = UsageRollup.objects.get(workflow=workflow, period="day", day=DAY)
    old_day = DAY - timedelta(days=5)
    store(workflow, events("error", 2, user_ref="bob@example.com", at=NOON - timedelta(days=5)))
    assert list(UsageDirtyDay.objects.values_list("day", flat=True)) == [old_day]
    assert usage_refresh_pending() == 1
    # The day already rolled up was not rebuilt (same row); the late day was.
    assert UsageRollup.objects.get(workflow=workflow, period="day", day=DAY).pk == today_row.pk
    assert UsageRollup.objects.get(workflow=workflow, period="day", day=old_day).errors == 2
    assert_rollups_match_raw_events(workflow)


def test_a_late_event_for_a_day_already_rolled_up_is_counted(workflow, people):
    store(workflow, events("invocation", 3, user_ref="ann@example.com", at=NOON))
    usage_refresh_pending()
    store(workflow, [event("invocation", user_ref="cy@example.com", at=NOON - timedelta(hours=9))])
    usage_refresh_pending()
    days = UsageRollup.objects.filter(workflow=workflow, period="day", day=DAY)
    assert sum(d.invocations for d in days) == 4
    assert_rollups_match_raw_events(workflow)


def test_duplicates_within_and_across_batches_count_once(workflow, people):
    batch = events("accepted", 5, user_ref="A-1", at=NOON)
    store(workflow, batch + batch[:2])
    usage_refresh_pending()
    store(workflow, batch)
    store(workflow, [*batch[3:], event("overridden", user_ref="A-1", at=NOON)])
    usage_refresh_pending()
    row = UsageRollup.objects.get(workflow=workflow, period="day", cohort=people.tier1)
    assert (row.accepted, row.overridden) == (5, 1)
    assert_rollups_match_raw_events(workflow)


def test_batches_out_of_order_give_the_same_rollups(workflow, people, ops_leader):
    batches = [
        [event("invocation", user_ref="ann@example.com", at=NOON + timedelta(hours=h))]
        + events("error", h, user_ref="cy@example.com", at=NOON - timedelta(days=h))
        for h in range(4)
    ]
    for batch in batches:
        store(workflow, batch)
        usage_refresh_pending()
    twin = make_workflow(actor=ops_leader)
    tier1 = Cohort.objects.create(workflow=twin, name="Tier 1", enrolled_phase="limited")
    CohortMember.objects.create(cohort=tier1, user=people.ann)
    broad = Cohort.objects.create(workflow=twin, name="Broad", enrolled_phase="broad")
    CohortMember.objects.create(cohort=broad, user=people.cy)
    for batch in reversed(batches):
        store(twin, batch)
    usage_refresh_pending()

    def by_name(wf: Workflow) -> dict:
        names = dict(Cohort.objects.filter(workflow=wf).values_list("pk", "name"))
        return {(names.get(c), day): v for (c, day), v in rolled_up(wf).items()}

    assert by_name(twin) == by_name(workflow)
    assert_rollups_match_raw_events(workflow)
    assert_rollups_match_raw_events(twin)


# --- The property: any events, any batching ----------------------------------------------------

# (reference, who it is, the cohort they count for)
REFS = [
    ("ann@example.com", "ann", "Tier 1"),
    ("ANN@Example.com", "ann", "Tier 1"),
    ("A-1", "ann", "Tier 1"),
    ("bob@example.com", "bob", "Tier 1"),  # in Tier 1 (limited) and Broad: limited first
    ("cy@example.com", "cy", "Broad"),
    ("zed@example.com", "zed", None),
    ("Zed@Example.COM", "zed", None),
    ("X-9", "x-9", None),
    ("x-9", "x-9 lowercase", None),  # external ids are exact: another person
]
KINDS = list(COUNTER)

event_specs = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, len(REFS) - 1),
        st.integers(-2, 1),  # day offset
        st.integers(0, 24 * 60 - 1),  # minute of the day
        st.none() | st.integers(0, 70_000),  # latency, ms
    ),
    min_size=1,
    max_size=30,
)


@given(specs=event_specs, data=st.data())
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
def test_rollups_equal_counts_of_the_unique_events_whatever_the_batches(
    workflow, people, specs, data
):
    for model in (UsageEvent, UsageRollup, UsageActiveUser, UsageLastActive, UsageDirtyDay):
        model.objects.filter(workflow=workflow).delete()
    pool = [
        EventData(
            event_id=uuid.uuid4(),
            user_ref=REFS[ref][0],
            kind=kind,
            occurred_at=NOON.replace(hour=0) + timedelta(days=day, minutes=minute),
            latency_ms=latency,
        )
        for kind, ref, day, minute, latency in specs
    ]
    indexes = st.integers(0, len(pool) - 1)
    batches = data.draw(st.lists(st.lists(indexes, min_size=1, max_size=40), min_size=1))
    sent: dict[int, EventData] = {}
    for batch in batches:
        usage_events_store(workflow=workflow, events=[pool[i] for i in batch])
        sent.update({i: pool[i] for i in batch})
        if data.draw(st.booleans(), label="roll up now"):
            usage_refresh_pending()
    usage_refresh_pending()

    cohorts = {"Tier 1": people.tier1.pk, "Broad": people.broad.pk, None: None}
    expected: dict = defaultdict(lambda: {"counts": Counter(), "people": set(), "latencies": []})
    for i, sent_event in sent.items():
        _, ref, *_ = specs[i]
        _, who, cohort = REFS[ref]
        group = expected[(cohorts[cohort], sent_event.occurred_at.date())]
        group["counts"][COUNTER[sent_event.kind]] += 1
        group["people"].add(who)
        if sent_event.latency_ms is not None:
            group["latencies"].append(sent_event.latency_ms)
    assert rolled_up(workflow) == {
        key: {
            **{name: g["counts"][name] for name in COUNTERS},
            "active_users": len(g["people"]),
            "latency_count": len(g["latencies"]),
            "latency_hist": histogram_from_samples(g["latencies"]),
        }
        for key, g in expected.items()
    }
    assert_hours_sum_to_days(workflow)
    assert last_active(workflow) == latest_days(workflow)
    assert not UsageDirtyDay.objects.exists()


# --- Active users, latency ---------------------------------------------------------------------


def test_active_users_are_distinct_people_per_day_and_hour(workflow, people):
    store(
        workflow,
        [
            *events("invocation", 5, user_ref="ann@example.com", at=NOON),
            event("accepted", user_ref="Ann@Example.com", at=NOON + timedelta(minutes=30)),
            event("accepted", user_ref="A-1", at=NOON + timedelta(hours=3)),
            event("invocation", user_ref="bob@example.com", at=NOON + timedelta(hours=3)),
        ],
    )
    usage_refresh_pending()
    day = UsageRollup.objects.get(workflow=workflow, period="day", cohort=people.tier1)
    assert day.active_users == 2
    hours = UsageRollup.objects.filter(workflow=workflow, period="hour", cohort=people.tier1)
    assert {timezone.localtime(h.start).hour: h.active_users for h in hours} == {12: 1, 15: 2}
    # One active-user row per person and day: windows count people without raw events.
    assert UsageActiveUser.objects.filter(workflow=workflow, cohort=people.tier1).count() == 2


def test_latency_histogram_holds_every_timed_event(workflow, people):
    latencies = [0, 25, 26, 480, 500, 501, 2_999, 60_000, 60_001, 86_400_000]
    store(
        workflow,
        [event("invocation", user_ref="A-1", at=NOON, latency_ms=ms) for ms in latencies]
        + [event("accepted", user_ref="A-1", at=NOON)],
    )
    usage_refresh_pending()
    row = UsageRollup.objects.get(workflow=workflow, period="day", cohort=people.tier1)
    assert row.latency_count == len(latencies)
    assert row.latency_hist == histogram_from_samples(latencies)
    assert row.latency_hist[-1] == 2  # above 60 s: the overflow bucket


# --- Each person's latest day -------------------------------------------------------------------


def test_each_persons_latest_day_moves_on_with_new_days_and_not_back_with_late_ones(
    workflow, people
):
    store(workflow, [event(user_ref="A-1", at=NOON), event(user_ref="zed@example.com", at=NOON)])
    usage_refresh_pending()
    ann, zed = (people.tier1.pk, f"#{people.ann.pk}"), (None, "zed@example.com")
    assert last_active(workflow) == {ann: DAY, zed: DAY}

    store(workflow, [event(user_ref="A-1", at=NOON - timedelta(days=4))])  # late
    usage_refresh_pending()
    assert last_active(workflow) == {ann: DAY, zed: DAY}

    store(workflow, [event(user_ref="Zed@Example.com", at=NOON + timedelta(days=1))])
    store(workflow, [event(user_ref="bob@example.com", at=NOON - timedelta(days=2))])
    usage_refresh_pending()
    bob = (people.tier1.pk, f"#{people.bob.pk}")
    assert last_active(workflow) == {
        ann: DAY,
        zed: DAY + timedelta(days=1),
        bob: DAY - timedelta(days=2),
    }
    assert_rollups_match_raw_events(workflow)


def test_someone_no_longer_active_on_their_latest_day_gets_the_latest_day_left(workflow, people):
    store(
        workflow,
        [event(user_ref="A-1", at=NOON - timedelta(days=d)) for d in (0, 3)]
        + [event(user_ref="zed@example.com", at=NOON - timedelta(days=d)) for d in (0, 5)]
        + [event(user_ref="cy@example.com", at=NOON)],
    )
    usage_refresh_pending()
    # Ann's and Zed's events of DAY gone: DAY was their latest day.
    UsageEvent.objects.filter(occurred_at=NOON).exclude(user_ref="cy@example.com").delete()
    usage_rollup_rebuild_day(workflow_id=workflow.pk, day=DAY)
    assert last_active(workflow) == {
        (people.tier1.pk, f"#{people.ann.pk}"): DAY - timedelta(days=3),
        (None, "zed@example.com"): DAY - timedelta(days=5),
        (people.broad.pk, f"#{people.cy.pk}"): DAY,
    }
    UsageEvent.objects.filter(user_ref="zed@example.com").delete()
    usage_rollup_rebuild_day(workflow_id=workflow.pk, day=DAY - timedelta(days=5))
    assert (None, "zed@example.com") not in last_active(workflow)
    assert_rollups_match_raw_events(workflow)


def test_a_deleted_cohorts_people_count_in_no_cohort_once_its_days_are_rebuilt(
    workflow, people, ops_leader
):
    store(workflow, [event(user_ref="cy@example.com", at=NOON - timedelta(days=d)) for d in (0, 1)])
    usage_refresh_pending()
    cohort_delete(cohort=people.broad, actor=ops_leader)
    usage_refresh_pending()
    assert last_active(workflow) == {(None, f"#{people.cy.pk}"): DAY}
    assert_rollups_match_raw_events(workflow)


def test_rebuild_recomputes_the_latest_days_whatever_became_of_them(workflow, people):
    store(
        workflow,
        [event(user_ref="A-1", at=NOON - timedelta(days=d)) for d in (0, 2)]
        + [event(user_ref="X-9", at=NOON - timedelta(days=1))],
    )
    usage_refresh_pending()
    UsageLastActive.objects.filter(user_ref="X-9").delete()
    UsageLastActive.objects.update(day=DAY - timedelta(days=30))
    UsageLastActive.objects.create(workflow=workflow, user_ref="ghost", day=DAY)
    usage_rollup_rebuild(workflow=workflow)
    assert_rollups_match_raw_events(workflow)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_two_days_of_one_workflow_rebuilt_at_once_take_turns(people, workflow):
    """Each rebuild would otherwise miss the other's uncommitted day and keep a stale latest."""
    store(workflow, [event(user_ref="A-1", at=NOON - timedelta(days=d)) for d in (0, 1)])
    UsageDirtyDay.objects.all().delete()
    finished = threading.Event()

    def rebuild_the_day_before() -> None:
        try:
            usage_rollup_rebuild_day(workflow_id=workflow.pk, day=DAY - timedelta(days=1))
            finished.set()
        finally:
            connection.close()

    with transaction.atomic():
        usage_rollup_rebuild_day(workflow_id=workflow.pk, day=DAY)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
                "AND objid = %s AND pid = pg_backend_pid()",
                [LAST_ACTIVE_LOCK, workflow.pk],
            )
            assert cursor.fetchone() == (1,)
        other = threading.Thread(target=rebuild_the_day_before)
        other.start()
        time.sleep(0.5)
        assert not finished.is_set()  # waiting for this transaction
    other.join(timeout=10)
    assert finished.is_set()
    assert last_active(workflow) == {(people.tier1.pk, f"#{people.ann.pk}"): DAY}
    assert_rollups_match_raw_events(workflow)


# --- Claiming dirty days, rebuilding -----------------------------------------------------------


def test_pending_claims_every_dirty_day_once(workflow):
    store(workflow, [event(at=NOON - timedelta(days=d)) for d in range(3)])
    assert UsageDirtyDay.objects.count() == 3
    assert usage_refresh_pending() == 3
    assert not UsageDirtyDay.objects.exists()
    assert usage_refresh_pending() == 0


def test_pending_can_stop_after_some_days(workflow):
    store(workflow, [event(at=NOON - timedelta(days=d)) for d in range(3)])
    assert usage_refresh_pending(max_days=1) == 1
    # The oldest day first.
    assert set(UsageRollup.objects.values_list("day", flat=True)) == {DAY - timedelta(days=2)}
    assert usage_refresh_pending(max_days=5) == 2
    assert not UsageDirtyDay.objects.exists()


def test_pending_evaluates_the_thresholds_of_the_workflows_it_rolled_up(workflow):
    threshold = make_threshold(workflow, min_sample=1)
    store(workflow, [event("invocation")])
    usage_refresh_pending()
    status = ThresholdStatus.objects.get(threshold=threshold)
    assert (status.verdict, status.sample) == ("pass", 1)


def test_rebuilding_a_day_costs_the_same_queries_whatever_its_size(workflow, people):
    store(workflow, events("invocation", 3, user_ref="A-1", at=NOON, latency_ms=5))
    with CaptureQueriesContext(connection) as small:
        usage_rollup_rebuild_day(workflow_id=workflow.pk, day=DAY)
    refs = ["A-1", "bob@example.com", "cy@example.com"] + [f"p{i}@example.com" for i in range(40)]
    store(
        workflow,
        [
            event(KINDS[i % 8], user_ref=refs[i % 43], at=NOON + timedelta(minutes=i), latency_ms=i)
            for i in range(600)
        ],
    )
    with CaptureQueriesContext(connection) as big:
        usage_rollup_rebuild_day(workflow_id=workflow.pk, day=DAY)
    assert len(big.captured_queries) == len(small.captured_queries)


def test_events_naming_a_deleted_cohort_count_in_no_cohort(workflow, people):
    # As when a cohort is deleted while a batch naming it is being stored: its events keep the
    # id of a cohort that is gone (the database does not set it to null, see UsageEvent).
    store(workflow, events("invocation", 2, user_ref="ann@example.com", at=NOON))
    store(workflow, [event("invocation", user_ref="outsider@example.com", at=NOON)])
    gone = Cohort.objects.create(workflow=workflow, name="Gone")
    gone_id = gone.pk
    gone.delete()
    UsageEvent.objects.filter(user_ref="ann@example.com").update(cohort_id=gone_id)

    assert usage_refresh_pending() == 1

    nobody = UsageRollup.objects.get(workflow=workflow, period="day", cohort=None)
    assert (nobody.invocations, nobody.active_users) == (3, 2)
    assert not UsageEvent.objects.filter(cohort_id=gone_id).exists()
    assert_rollups_match_raw_events(workflow)


def test_a_day_whose_events_are_gone_is_emptied(workflow):
    store(workflow, events("invocation", 2, at=NOON))
    usage_refresh_pending()
    UsageEvent.objects.filter(workflow=workflow).delete()
    assert usage_rollup_rebuild_day(workflow_id=workflow.pk, day=DAY) == 0
    assert not UsageRollup.objects.filter(workflow=workflow).exists()
    assert not UsageActiveUser.objects.filter(workflow=workflow).exists()
    assert not UsageLastActive.objects.filter(workflow=workflow).exists()


def test_rebuild_recovers_lost_rollups(workflow, people):
    store(
        workflow,
        [event("invocation", user_ref="A-1", at=NOON - timedelta(days=d)) for d in (0, 2, 5)]
        + [event("overridden", user_ref="cy@example.com", at=NOON, latency_ms=300)],
    )
    UsageDirtyDay.objects.all().delete()  # the task was lost, the sweep never ran
    assert not UsageRollup.objects.exists()
    assert usage_rollup_rebuild(workflow=workflow) == 6  # every day from the first to the last
    assert_rollups_match_raw_events(workflow)


def test_rebuild_of_one_workflow_leaves_the_others_alone(workflow, ops_leader):
    other = make_workflow(actor=ops_leader)
    store(workflow, [event(at=NOON)])
    store(other, [event(at=NOON)])
    usage_refresh_pending()
    before = list(UsageRollup.objects.filter(workflow=other).values_list("pk", flat=True))
    usage_rollup_rebuild(workflow=workflow)
    assert list(UsageRollup.objects.filter(workflow=other).values_list("pk", flat=True)) == before


def test_rebuild_skips_events_of_a_deleted_workflow(workflow, ops_leader):
    # As when a workflow is deleted while a batch for it is being stored: its events outlive it.
    gone = make_workflow(actor=ops_leader)
    store(gone, [event(at=NOON)])
    store(workflow, [event(at=NOON)])
    UsageEvent.objects.filter(workflow=gone).update(workflow_id=workflow.pk + gone.pk + 1000)

    assert usage_rollup_rebuild() == 1

    assert set(UsageRollup.objects.values_list("workflow_id", flat=True)) == {workflow.pk}


def test_rebuild_clears_rollups_outside_the_days_with_events(workflow):
    store(workflow, [event(at=NOON - timedelta(days=10)), event(at=NOON)])
    usage_refresh_pending()
    UsageEvent.objects.filter(occurred_at__lt=NOON - timedelta(days=1)).delete()
    usage_rollup_rebuild(workflow=workflow)
    assert set(UsageRollup.objects.values_list("day", flat=True)) == {DAY}
    assert set(UsageActiveUser.objects.values_list("day", flat=True)) == {DAY}
    assert set(UsageLastActive.objects.values_list("day", flat=True)) == {DAY}


def test_local_days_and_hours_across_a_daylight_saving_change(workflow, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    # 29 March 2026: clocks go from 02:00 to 03:00 in Berlin, a day of 23 hours.
    midnight = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 00:00 in Berlin
    store(workflow, [event(at=midnight + timedelta(minutes=30 * i)) for i in range(46)])
    store(workflow, [event(at=midnight - timedelta(minutes=1))])  # 23:59 the day before
    usage_refresh_pending()
    day = UsageRollup.objects.get(workflow=workflow, period="day", day=date(2026, 3, 29))
    assert day.invocations == 46
    assert UsageRollup.objects.filter(workflow=workflow, period="hour", day=day.day).count() == 23
    assert UsageRollup.objects.get(workflow=workflow, period="day", day=date(2026, 3, 28))
    assert_rollups_match_raw_events(workflow)


def test_rolling_up_is_a_leaf_that_judges_nothing(workflow, people):
    """usage_rollup_pending rebuilds days and says which workflows it touched; only
    evaluation.usage_refresh_pending goes on to judge their thresholds."""
    threshold = make_threshold(workflow, min_sample=1)
    store(workflow, events("invocation", 3, user_ref="ann@example.com", at=NOON))

    run = usage_rollup_pending()

    assert run == RollupRun(days=1, workflow_ids=frozenset({workflow.pk}))
    assert not ThresholdStatus.objects.filter(threshold=threshold).exists()
    assert usage_rollup_pending() == RollupRun(days=0, workflow_ids=frozenset())


def test_refreshing_rebuilds_then_judges_the_touched_workflows(workflow, people):
    threshold = make_threshold(workflow, min_sample=1)
    store(workflow, events("invocation", 3, user_ref="ann@example.com", at=NOON))

    assert usage_refresh_pending() == 1

    assert ThresholdStatus.objects.filter(threshold=threshold).exists()
