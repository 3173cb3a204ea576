"""usage_events_store: idempotent storage (rule 7), attribution to people and cohorts, dirty days,
and a bounded number of queries whatever the batch size."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from rollout.lib.stats import latency_bucket
from rollout.models import (
    Cohort,
    CohortMember,
    OutputReview,
    UsageDirtyDay,
    UsageEvent,
    UsageRollup,
    Workflow,
)
from rollout.services.usage_ingest import EventData, IngestResult, usage_events_store
from tests.db_faults import postgres_only
from tests.factories import UserFactory, make_workflow
from tests.rollout.output_review_fixtures import picked_ids
from tests.rollout.usage_events_data import event, events

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)


@pytest.fixture
def mia(db) -> User:
    return UserFactory(email="mia.member@example.com", external_id="EMP-7")


def cohort(workflow: Workflow, name: str, phase: str, *members: User) -> Cohort:
    made = Cohort.objects.create(workflow=workflow, name=name, enrolled_phase=phase)
    for member in members:
        CohortMember.objects.create(cohort=made, user=member)
    return made


def stored(workflow: Workflow, ref: str) -> UsageEvent:
    return UsageEvent.objects.get(workflow=workflow, user_ref=ref)


# --- Idempotency (rule 7) ----------------------------------------------------------------------


def test_a_batch_sent_twice_counts_once(workflow):
    batch = events("invocation", 3, at=AT)
    assert usage_events_store(workflow=workflow, events=batch) == IngestResult(3, 0)
    assert usage_events_store(workflow=workflow, events=batch) == IngestResult(0, 3)
    assert UsageEvent.objects.filter(workflow=workflow).count() == 3


def test_an_event_twice_in_one_batch_counts_once(workflow):
    once = event("accepted", at=AT)
    result = usage_events_store(workflow=workflow, events=[once, once, event(at=AT)])
    assert result == IngestResult(accepted=2, duplicate=1)
    assert UsageEvent.objects.filter(workflow=workflow).count() == 2


def test_a_batch_partly_seen_before_stores_only_the_new_events(workflow):
    first = events("invocation", 2, at=AT)
    usage_events_store(workflow=workflow, events=first)
    result = usage_events_store(workflow=workflow, events=[*first, event(at=AT)])
    assert result == IngestResult(accepted=1, duplicate=2)
    assert UsageEvent.objects.filter(workflow=workflow).count() == 3


def test_batches_in_one_transaction_are_counted_each_on_its_own(workflow, ops_leader):
    # On PostgreSQL a batch holding a stored event passes through a per-connection staging
    # table: nothing of one batch may be left there for the next.
    other = make_workflow(actor=ops_leader)
    seen = events("invocation", 2, at=AT)
    usage_events_store(workflow=workflow, events=seen)
    usage_events_store(workflow=other, events=seen)
    with transaction.atomic():
        first = usage_events_store(workflow=workflow, events=[*seen, event(at=AT)])
        second = usage_events_store(workflow=other, events=[*seen, *events("error", 3, at=AT)])
    assert (first, second) == (IngestResult(1, 2), IngestResult(3, 2))
    assert UsageEvent.objects.filter(workflow=workflow).count() == 3
    assert UsageEvent.objects.filter(workflow=other).count() == 5


def _race(workflow: Workflow, batches: list[list]) -> list[IngestResult]:
    """Store the batches at once, each on its own connection."""
    start = threading.Barrier(len(batches))
    results: list[IngestResult] = []
    failures: list[BaseException] = []

    def send(batch: list) -> None:
        try:
            start.wait()
            results.append(usage_events_store(workflow=workflow, events=batch))
        except BaseException as exc:  # noqa: BLE001 — reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    return results


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_batches_racing_with_the_same_events_store_each_event_once(workflow):
    # A retry racing its original, here in the opposite order: one batch waits for the other
    # and counts the shared events as duplicates; neither deadlocks. (Large batches, a few
    # rounds: when both took the shared events in the order sent, most rounds deadlocked.)
    for _ in range(3):
        shared = events("invocation", 900, at=AT)
        results = _race(
            workflow,
            [
                [*shared, *events("accepted", 50, at=AT)],
                [*reversed(shared), *events("edited", 50, at=AT)],
            ],
        )
        assert sorted(r.duplicate for r in results) == [0, 900]
        assert sum(r.accepted for r in results) == 1000
    assert UsageEvent.objects.filter(workflow=workflow).count() == 3000


def test_the_first_report_of_an_event_wins(workflow):
    event_id = uuid.uuid4()
    usage_events_store(workflow=workflow, events=[event("accepted", event_id=event_id, at=AT)])
    usage_events_store(workflow=workflow, events=[event("overridden", event_id=event_id, at=AT)])
    assert UsageEvent.objects.get(event_id=event_id).kind == "accepted"


def test_the_same_event_id_in_two_workflows_is_two_events(workflow, ops_leader):
    other = make_workflow(actor=ops_leader)
    shared = event(at=AT)
    assert usage_events_store(workflow=workflow, events=[shared]).accepted == 1
    assert usage_events_store(workflow=other, events=[shared]).accepted == 1


def test_an_empty_batch_stores_nothing(workflow, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert usage_events_store(workflow=workflow, events=[]) == IngestResult(0, 0)
    assert callbacks == []
    assert not UsageDirtyDay.objects.exists()


# --- What is stored ----------------------------------------------------------------------------


def test_stores_the_event_as_reported(workflow):
    reported = event(
        "invocation",
        user_ref="Unknown.Person@Example.com",
        at=AT,
        latency_ms=640,
        attrs={"model": "gpt-5", "channel": "email", "retry": False, "n": 2},
    )
    usage_events_store(workflow=workflow, events=[reported])
    row = UsageEvent.objects.get(event_id=reported.event_id)
    assert row.workflow == workflow
    assert row.user_ref == "Unknown.Person@Example.com"
    assert row.kind == "invocation"
    assert row.occurred_at == AT
    assert row.latency_ms == 640
    assert row.latency_bucket == latency_bucket(640) == 9
    assert row.attrs == {"model": "gpt-5", "channel": "email", "retry": False, "n": 2}
    assert row.received_at is not None


def test_no_latency_means_no_bucket(workflow):
    reported = event("accepted", at=AT)
    usage_events_store(workflow=workflow, events=[reported])
    row = UsageEvent.objects.get(event_id=reported.event_id)
    assert (row.latency_ms, row.latency_bucket, row.attrs) == (None, None, {})


# --- Attribution -------------------------------------------------------------------------------


def test_email_in_any_case_is_the_member(workflow, mia):
    tier1 = cohort(workflow, "Tier 1", "limited", mia)
    usage_events_store(workflow=workflow, events=[event(user_ref="Mia.Member@EXAMPLE.com", at=AT)])
    row = stored(workflow, "Mia.Member@EXAMPLE.com")
    assert (row.user, row.cohort) == (mia, tier1)


def test_an_email_stored_with_capitals_still_matches(workflow):
    # Users made outside the manager (admin, imports) may keep the capitals they were given.
    shouty = UserFactory(email="Shouty.Person@Example.com")
    tier1 = cohort(workflow, "Tier 1", "limited", shouty)
    usage_events_store(workflow=workflow, events=[event(user_ref="shouty.person@example.com")])
    row = stored(workflow, "shouty.person@example.com")
    assert (row.user, row.cohort) == (shouty, tier1)


def test_external_id_matches_exactly(workflow, mia):
    tier1 = cohort(workflow, "Tier 1", "limited", mia)
    usage_events_store(
        workflow=workflow, events=[event(user_ref="EMP-7", at=AT), event(user_ref="emp-7", at=AT)]
    )
    exact = stored(workflow, "EMP-7")
    assert (exact.user, exact.cohort) == (mia, tier1)
    other_case = stored(workflow, "emp-7")
    assert (other_case.user, other_case.cohort) == (None, None)


def test_one_batch_may_name_a_person_by_email_and_by_external_id(workflow, mia):
    tier1 = cohort(workflow, "Tier 1", "limited", mia)
    refs = ["mia.member@example.com", "MIA.MEMBER@EXAMPLE.COM", "EMP-7"]
    usage_events_store(workflow=workflow, events=[event(user_ref=ref, at=AT) for ref in refs])
    rows = UsageEvent.objects.filter(workflow=workflow)
    assert {(r.user_ref, r.user_id, r.cohort_id) for r in rows} == {
        (ref, mia.pk, tier1.pk) for ref in refs
    }


def test_a_person_in_several_cohorts_counts_for_the_one_that_gets_them_live_first(workflow, mia):
    # Names ordered so that alphabetical order alone would pick the wrong cohort.
    cohort(workflow, "A not enrolled", "", mia)
    cohort(workflow, "B broad", "broad", mia)
    limited = cohort(workflow, "C limited", "limited", mia)
    usage_events_store(workflow=workflow, events=[event(user_ref="EMP-7", at=AT)])
    assert stored(workflow, "EMP-7").cohort == limited


def test_enrolled_broad_comes_before_not_enrolled(workflow, mia):
    cohort(workflow, "A not enrolled", "", mia)
    broad = cohort(workflow, "B broad", "broad", mia)
    usage_events_store(workflow=workflow, events=[event(user_ref="EMP-7", at=AT)])
    assert stored(workflow, "EMP-7").cohort == broad


def test_between_equally_enrolled_cohorts_the_name_decides(workflow, mia):
    cohort(workflow, "Zeta", "limited", mia)
    alpha = cohort(workflow, "Alpha", "limited", mia)
    usage_events_store(workflow=workflow, events=[event(user_ref="EMP-7", at=AT)])
    assert stored(workflow, "EMP-7").cohort == alpha


def test_people_unknown_to_rollout_are_counted_in_no_cohort(workflow, mia):
    cohort(workflow, "Tier 1", "limited", mia)
    result = usage_events_store(workflow=workflow, events=[event(user_ref="nobody@example.com")])
    assert result.accepted == 1
    row = stored(workflow, "nobody@example.com")
    assert (row.user, row.cohort) == (None, None)


def test_a_known_person_in_no_cohort_of_this_workflow_is_counted_in_no_cohort(
    workflow, ops_leader, mia
):
    elsewhere = make_workflow(actor=ops_leader)
    cohort(elsewhere, "Elsewhere", "limited", mia)
    usage_events_store(workflow=workflow, events=[event(user_ref="EMP-7", at=AT)])
    row = stored(workflow, "EMP-7")
    assert row.cohort is None


def test_a_deactivated_member_is_not_attributed(workflow, mia):
    cohort(workflow, "Tier 1", "limited", mia)
    User.objects.filter(pk=mia.pk).update(is_active=False)
    usage_events_store(workflow=workflow, events=[event(user_ref="EMP-7", at=AT)])
    row = stored(workflow, "EMP-7")
    assert (row.user, row.cohort) == (None, None)


# --- Dirty days and the rollup task ------------------------------------------------------------


def test_marks_each_day_it_touched_once(workflow):
    days = [AT, AT + timedelta(hours=1), AT - timedelta(days=3)]
    usage_events_store(workflow=workflow, events=[event(at=at) for at in days])
    assert sorted(UsageDirtyDay.objects.values_list("day", flat=True)) == [
        AT.date() - timedelta(days=3),
        AT.date(),
    ]


def test_only_duplicates_mark_nothing_and_enqueue_nothing(
    workflow, django_capture_on_commit_callbacks
):
    batch = [event(at=AT)]
    usage_events_store(workflow=workflow, events=batch)
    UsageDirtyDay.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        usage_events_store(workflow=workflow, events=batch)
    assert callbacks == []
    assert not UsageDirtyDay.objects.exists()


def test_the_rollup_runs_after_commit(workflow, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        usage_events_store(workflow=workflow, events=events("invocation", 4, at=AT))
    assert len(callbacks) == 1
    assert not UsageDirtyDay.objects.exists()
    day = UsageRollup.objects.get(workflow=workflow, period="day", day=AT.date())
    assert day.invocations == 4


def test_a_day_already_dirty_wakes_the_rollup_no_second_time(
    workflow, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as first:
        usage_events_store(workflow=workflow, events=events("invocation", 2, at=AT))
    with django_capture_on_commit_callbacks(execute=False) as again:
        usage_events_store(workflow=workflow, events=events("invocation", 2, at=AT))
    with django_capture_on_commit_callbacks(execute=False) as next_day:
        batch = events("invocation", 1, at=AT + timedelta(days=1))
        usage_events_store(workflow=workflow, events=[*batch, *events("accepted", 1, at=AT)])
    assert len(first) == 1
    # SQLite cannot tell whether its mark inserted a row: it wakes the rollup for every batch.
    assert len(again) == (0 if connection.vendor == "postgresql" else 1)
    assert len(next_day) == 1  # a day not dirty yet
    assert set(UsageDirtyDay.objects.values_list("day", flat=True)) == {
        AT.date(),
        AT.date() + timedelta(days=1),
    }


def test_a_broker_outage_does_not_lose_the_events(
    workflow, django_capture_on_commit_callbacks, monkeypatch
):
    from rollout import tasks

    def broker_down() -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.rollup_usage, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        result = usage_events_store(workflow=workflow, events=[event(at=AT)])
    assert result.accepted == 1
    # The minutely sweep finds the day: it is still marked.
    assert UsageDirtyDay.objects.filter(workflow=workflow, day=AT.date()).exists()


# --- Built for volume --------------------------------------------------------------------------


def _batch(size: int, people: list[str]) -> list:
    kinds = ["invocation", "accepted", "edited", "overridden", "error"]
    return [
        event(
            kinds[i % len(kinds)],
            user_ref=people[i % len(people)],
            at=AT - timedelta(hours=i % 72),
            latency_ms=(i * 37) % 5000 if i % 3 else None,
            attrs={"i": i},
        )
        for i in range(size)
    ]


def test_queries_do_not_grow_with_the_batch(workflow, django_assert_max_num_queries):
    members = [UserFactory() for _ in range(5)]
    cohort(workflow, "Tier 1", "limited", *members)
    people = [m.email.upper() for m in members] + [f"outsider{i}@example.com" for i in range(50)]
    with CaptureQueriesContext(connection) as small:
        assert usage_events_store(workflow=workflow, events=_batch(10, people)).accepted == 10
    with django_assert_max_num_queries(len(small.captured_queries)):
        big = usage_events_store(workflow=workflow, events=_batch(1000, people))
    assert big == IngestResult(accepted=1000, duplicate=0)
    in_cohort = sum(1 for size in (10, 1000) for i in range(size) if i % len(people) < 5)
    assert UsageEvent.objects.filter(workflow=workflow, cohort__isnull=False).count() == in_cohort


def test_an_output_is_never_stored_with_its_event_whoever_stores_it(workflow, sampled_cohort):
    """The service drops attrs.output from every event (the API validated it; any other caller's
    bad one — too long, on another kind — is dropped, never kept or queued)."""
    at = timezone.now() - timedelta(minutes=5)
    good, long, other_kind = picked_ids(3)
    events = [
        EventData(good, "mia.member@example.com", "invocation", at, None, {"output": "Fine."}),
        EventData(long, "mia.member@example.com", "invocation", at, None, {"output": "x" * 1001}),
        EventData(other_kind, "mia.member@example.com", "accepted", at, None, {"output": "Hi"}),
    ]
    assert usage_events_store(workflow=workflow, events=events).accepted == 3
    assert all("output" not in e.attrs for e in UsageEvent.objects.all())
    assert list(OutputReview.objects.values_list("event_id", "excerpt")) == [(good, "Fine.")]
