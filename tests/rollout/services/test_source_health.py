"""Data-source health: the day rollup of input events, each source's observed state, and its
episodes (rollout.services.source_rollup, rollout.services.source_health)."""

import threading
import uuid
from datetime import UTC, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from rollout.models import (
    ActivityEntry,
    DataSource,
    Notification,
    SourceHealthDay,
    SourceKind,
    SourceState,
    SourceStatus,
    UsageActiveUser,
    UsageLastActive,
    UsageRollup,
)
from rollout.services.data_sources import data_source_create
from rollout.services.evaluation import evaluation_sweep, usage_refresh_pending
from rollout.services.source_health import (
    VERB_RECOVERED,
    source_heartbeat_record,
    source_statuses_judge_all,
    source_statuses_refresh,
)
from rollout.services.usage_ingest import EventData, usage_events_store
from rollout.services.usage_rollup import usage_rollup_rebuild
from tests.factories import make_workflow

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(workflow, ops_leader) -> DataSource:
    return data_source_create(
        workflow=workflow,
        actor=ops_leader,
        name="CRM export",
        kind=SourceKind.LIVE,
        max_age_minutes=60,
    )


def report(workflow, kind, at, *, source="crm-export", as_of=None, user_ref="", **attrs):
    attrs = {"source": source, **attrs}
    if as_of is not None:
        attrs["data_as_of"] = as_of.astimezone(UTC).isoformat(timespec="microseconds")
    return EventData(uuid.uuid4(), user_ref, kind, at, None, attrs)


def store(workflow, *events):
    usage_events_store(workflow=workflow, events=list(events))
    usage_refresh_pending()


def episodes():
    return list(
        ActivityEntry.objects.filter(target__startswith="data source ", actor=None)
        .order_by("pk")
        .values_list("verb", flat=True)
    )


def source_notifications():
    return list(
        Notification.objects.filter(url__endswith="#data-sources")
        .order_by("pk")
        .values_list("title", flat=True)
    )


# --- the day rollup ---------------------------------------------------------------------------


def test_a_day_of_input_events_rolls_up_per_source(workflow, crm):
    now = timezone.now().replace(microsecond=0)
    t0 = now - timedelta(minutes=30)
    store(
        workflow,
        report(workflow, "input_ok", t0, as_of=t0 - timedelta(minutes=10)),
        report(workflow, "input_ok", t0 + timedelta(minutes=1)),  # no data_as_of: its own time
        report(workflow, "input_rejected", t0 + timedelta(minutes=2), reason="no id"),
        report(workflow, "input_stale", t0 + timedelta(minutes=3), as_of=t0 - timedelta(days=3)),
        report(workflow, "input_ok", t0, source="orders-api"),
    )
    rows = {r.source_key: r for r in SourceHealthDay.objects.all()}
    assert set(rows) == {"crm-export", "orders-api"}
    crm_day = rows["crm-export"]
    assert (crm_day.ok, crm_day.rejected, crm_day.stale) == (2, 1, 1)
    assert crm_day.last_seen_at == t0 + timedelta(minutes=3)
    assert crm_day.last_data_as_of == t0 + timedelta(minutes=2)  # the rejected input's own time
    assert crm_day.last_stale_at == t0 + timedelta(minutes=3)


def test_input_events_are_no_ones_activity(workflow, crm):
    at = timezone.now() - timedelta(minutes=10)
    store(
        workflow,
        report(workflow, "input_ok", at, user_ref="pipeline@example.com"),
        EventData(uuid.uuid4(), "mia@example.com", "invocation", at, 300, {}),
    )
    day = UsageRollup.objects.get(period="day")
    assert (day.invocations, day.active_users, day.latency_count) == (1, 1, 1)
    assert list(UsageActiveUser.objects.values_list("user_ref", flat=True)) == ["mia@example.com"]
    assert list(UsageLastActive.objects.values_list("user_ref", flat=True)) == ["mia@example.com"]


def test_the_recovery_rebuild_recomputes_source_days(workflow, crm):
    at = timezone.now() - timedelta(minutes=10)
    store(workflow, report(workflow, "input_ok", at))
    SourceHealthDay.objects.update(ok=99)
    usage_rollup_rebuild(workflow=workflow)
    assert SourceHealthDay.objects.get().ok == 1


# --- observed state and episodes ------------------------------------------------------------


def test_a_heartbeat_makes_a_never_reported_source_fresh_without_notifying(workflow, crm):
    assert not SourceStatus.objects.exists()
    source_heartbeat_record(source=crm, records=10, rejected=1)
    status = SourceStatus.objects.get(source=crm)
    assert status.state == SourceState.FRESH
    assert source_notifications() == []
    assert episodes() == []


def test_a_live_source_going_stale_notifies_the_owner_once_then_on_recovery(
    workflow, workflow_owner, crm, django_capture_on_commit_callbacks
):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        source_heartbeat_record(
            source=crm, records=5, rejected=0, data_as_of=now - timedelta(hours=2)
        )
    status = SourceStatus.objects.get(source=crm)
    assert status.state == SourceState.STALE
    assert status.state_since == now - timedelta(hours=1)
    assert source_notifications() == ["Support reply drafting: data source “CRM export” is stale"]
    assert [m.to for m in mail.outbox] == [[workflow_owner.email]]
    # Evaluated again and again (new stale reports, sweeps, silence): one episode, one notice.
    with django_capture_on_commit_callbacks(execute=True):
        source_heartbeat_record(
            source=crm, records=5, rejected=0, data_as_of=now - timedelta(hours=3)
        )
        source_statuses_judge_all()
        source_statuses_refresh(workflow=workflow)
        source_statuses_judge_all(now=now + timedelta(hours=25))  # silent: same episode
    assert SourceStatus.objects.get(source=crm).state == SourceState.SILENT
    assert len(source_notifications()) == 1
    assert episodes() == ["data source went stale", "data source went silent"]
    # Fresh data again: recorded and notified.
    with django_capture_on_commit_callbacks(execute=True):
        source_heartbeat_record(source=crm, records=5, rejected=0)
    assert SourceStatus.objects.get(source=crm).state == SourceState.FRESH
    assert (
        source_notifications()[-1] == "Support reply drafting: data source “CRM export” recovered"
    )
    assert episodes()[-1] == VERB_RECOVERED
    assert len(mail.outbox) == 2


def test_a_source_goes_silent_by_time_passing_in_the_periodic_sweep(workflow, crm):
    source_heartbeat_record(source=crm, records=1, rejected=0)
    SourceStatus.objects.filter(source=crm).update(
        last_seen_at=timezone.now() - timedelta(hours=25),
        last_data_as_of=timezone.now() - timedelta(hours=25),
    )
    evaluation_sweep()
    status = SourceStatus.objects.get(source=crm)
    assert status.state == SourceState.SILENT
    assert source_notifications() == ["Support reply drafting: data source “CRM export” is silent"]


def test_a_static_export_is_judged_but_never_flagged(workflow, ops_leader):
    export = data_source_create(
        workflow=workflow, actor=ops_leader, name="Orders CSV", kind=SourceKind.STATIC_EXPORT,
        max_age_minutes=60,
    )  # fmt: skip
    source_heartbeat_record(
        source=export, records=1, rejected=0, data_as_of=timezone.now() - timedelta(days=2)
    )
    assert SourceStatus.objects.get(source=export).state == SourceState.STALE
    assert source_notifications() == []
    assert episodes() == []


def test_stale_input_events_after_a_rollup_make_the_source_stale(workflow, crm):
    at = timezone.now() - timedelta(minutes=5)
    store(workflow, report(workflow, "input_ok", at - timedelta(minutes=5)))
    assert SourceStatus.objects.get(source=crm).state == SourceState.FRESH
    store(workflow, report(workflow, "input_stale", at, as_of=at - timedelta(days=7)))
    status = SourceStatus.objects.get(source=crm)
    assert status.state == SourceState.STALE
    assert status.last_data_as_of == (at - timedelta(minutes=5))  # the newest data reported


@pytest.mark.django_db(transaction=True)
def test_concurrent_evaluators_notify_once(workflow_owner, ops_leader):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    workflow = make_workflow(owner=workflow_owner, actor=ops_leader, slug="racing")
    source = data_source_create(
        workflow=workflow, actor=ops_leader, name="CRM export", kind=SourceKind.LIVE,
        max_age_minutes=60,
    )  # fmt: skip
    source_heartbeat_record(source=source, records=1, rejected=0)
    SourceStatus.objects.filter(source=source).update(
        last_seen_at=timezone.now() - timedelta(hours=30)
    )
    barrier = threading.Barrier(4)

    def judge():
        barrier.wait()
        try:
            source_statuses_judge_all()
        finally:
            connection.close()

    threads = [threading.Thread(target=judge) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Notification.objects.filter(url__endswith="#data-sources").count() == 1
