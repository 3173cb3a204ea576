"""The AI configuration versioned as a whole (rule 9): every kind of change restarts the drift
baseline and every threshold's window; events reporting versions nobody declared are an
unannounced change, acted on once per episode."""

import threading
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from core.dates import day_bounds
from rollout.models import (
    ActivityEntry,
    AIConfiguration,
    ChangeNotice,
    ConfigMismatchDay,
    ConfigOrigin,
    ConfigReportDay,
    Notification,
    Phase,
    Workflow,
)
from rollout.selectors.ai_config import ai_config_current, ai_config_restart
from rollout.services.ai_config import (
    VERB_CHANGED,
    VERB_OBSERVED,
    ai_config_detect_unannounced,
    is_unannounced,
)
from rollout.services.data_sources import (
    data_source_create,
    data_source_delete,
    data_source_update,
)
from rollout.services.evaluation import thresholds_evaluate_workflow, window_for
from rollout.services.usage_ingest import usage_events_store
from rollout.services.usage_rollup import usage_rollup_rebuild_day
from rollout.services.workflows import workflow_update
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import days_ago, event, ingest, make_threshold

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited(workflow: Workflow) -> Phase:
    return make_plan(workflow, current="limited")["limited"]


def backdate(workflow: Workflow, version: int, at: datetime) -> None:
    AIConfiguration.objects.filter(workflow=workflow, version=version).update(effective_at=at)


def declare(workflow: Workflow, actor, *, at: datetime | None = None, **fields) -> int:
    """Edit the workflow's model fields; the new version in effect from `at` if given."""
    workflow_update(workflow=workflow, actor=actor, **fields)
    version = ai_config_current(workflow).version
    if at is not None:
        backdate(workflow, version, at)
    return version


def reporting(count: int, *, at: datetime | None = None, **attrs) -> list:
    return [event("invocation", at=at, attrs=attrs) for _ in range(count)]


def hour_ceiling(at: datetime) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(hours=1)


def _source(workflow, actor, version="v1"):
    return data_source_create(
        workflow=workflow, actor=actor, name="CRM export", kind="static_export", version=version
    )


# --- Every kind of change restarts both the baseline and the windows ----------------------------

CHANGES = {
    "model": lambda wf, actor: workflow_update(workflow=wf, actor=actor, model_version="2026-11"),
    "prompt": lambda wf, actor: workflow_update(workflow=wf, actor=actor, prompt_version="v7"),
    "source version": lambda wf, actor: data_source_update(
        source=wf.data_sources.get(), actor=actor, version="v2"
    ),
    "source added": lambda wf, actor: _source(wf, actor, version="2026-12"),
}


@pytest.mark.parametrize("kind", list(CHANGES))
def test_every_kind_of_change_restarts_the_baseline_and_every_window(
    kind, workflow, workflow_owner, limited
):
    if kind == "source version":
        _source(workflow, workflow_owner)
    before = ai_config_current(workflow).version
    threshold = make_threshold(workflow)
    CHANGES[kind](workflow, workflow_owner)

    config = ai_config_current(workflow)
    assert config.version == before + 1
    assert config.origin == ConfigOrigin.DECLARED
    assert config.recorded_by == workflow_owner
    limited.refresh_from_db()
    assert limited.baseline_start == config.effective_at
    now = timezone.now() + timedelta(hours=2)
    assert ai_config_restart(workflow) == config.effective_at
    start, _ = window_for(threshold, now, ai_config_restart(workflow))
    assert start == hour_ceiling(config.effective_at)
    assert ActivityEntry.objects.filter(workflow=workflow, verb="restarted the baseline of")
    notice = ChangeNotice.objects.filter(workflow=workflow, kind="model_change").last()
    assert notice.status == "draft"


def test_the_change_is_recorded_before_to_after_and_the_notice_says_what_changed(
    workflow, workflow_owner, limited
):
    _source(workflow, workflow_owner)
    data_source_update(source=workflow.data_sources.get(), actor=workflow_owner, version="v2")
    workflow_update(workflow=workflow, actor=workflow_owner, prompt_version="v7")
    entries = ActivityEntry.objects.filter(workflow=workflow, verb=VERB_CHANGED).order_by("pk")
    assert [e.changes for e in entries] == [
        {"Data source “CRM export” version": ["—", "v1"]},
        {"Data source “CRM export” version": ["v1", "v2"]},
        {"Prompt version": ["—", "v7"]},
    ]
    latest = ChangeNotice.objects.filter(workflow=workflow).order_by("-pk").first()
    assert latest.title == "“Support reply drafting”: its AI configuration changed"
    assert "- Prompt version: — → v7" in latest.body
    assert "count only what happened since" in latest.body


def test_removing_a_versioned_source_is_a_new_version(workflow, workflow_owner):
    source = _source(workflow, workflow_owner)
    version = ai_config_current(workflow).version
    data_source_delete(source=source, actor=workflow_owner)
    config = ai_config_current(workflow)
    assert (config.version, config.sources) == (version + 1, {})


def test_an_edit_that_leaves_the_ai_alone_records_no_version(workflow, workflow_owner, limited):
    workflow_update(workflow=workflow, actor=workflow_owner, name="Support replies")
    data_source_create(workflow=workflow, actor=workflow_owner, name="Unversioned", kind="live")
    assert ai_config_current(workflow).version == 1
    limited.refresh_from_db()
    assert limited.baseline_start is None
    assert ai_config_restart(workflow) is None


def test_without_a_phase_in_progress_the_version_is_recorded_and_no_notice_drafted(
    workflow, workflow_owner
):
    workflow_update(workflow=workflow, actor=workflow_owner, prompt_version="v2")
    assert ai_config_current(workflow).version == 2
    assert not ChangeNotice.objects.filter(workflow=workflow).exists()


def test_a_workflow_from_before_versioning_gets_its_old_configuration_as_version_1(
    workflow, workflow_owner
):
    AIConfiguration.objects.filter(workflow=workflow).delete()
    workflow_update(workflow=workflow, actor=workflow_owner, model_version="2026-11")
    first, second = AIConfiguration.objects.filter(workflow=workflow).order_by("version")
    assert (first.model_version, first.effective_at) == ("2026-09", workflow.created_at)
    assert second.model_version == "2026-11"


# --- Windows count only what happened after the change ------------------------------------------


def test_the_window_counts_from_the_first_whole_hour_after_the_change(
    workflow, workflow_owner, limited
):
    """The partial day: yesterday's hours from the change on, by the hourly rollups."""
    make_threshold(workflow, min_sample=10)
    yesterday = day_bounds(days_ago(1))[0]
    change = yesterday + timedelta(hours=10, minutes=30)
    declare(workflow, workflow_owner, at=change, prompt_version="v7")
    batch = (
        [event("error", at=yesterday + timedelta(hours=9)) for _ in range(50)]  # before
        + [event("error", at=change + timedelta(minutes=10)) for _ in range(5)]  # same hour
        + [event("invocation", at=yesterday + timedelta(hours=11, minutes=5)) for _ in range(20)]
        + [event("invocation", at=timezone.now() - timedelta(minutes=5)) for _ in range(20)]
    )
    ingest(workflow, batch)
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert status.window_start == yesterday + timedelta(hours=11)
    assert (status.sample, status.observed, status.verdict) == (40, 0.0, "pass")
    when = timezone.localtime(change).strftime("%-d %B %Y, %H:%M")
    assert status.reason.endswith(f"Counted since the configuration changed on {when}.")


def test_a_change_older_than_the_window_leaves_it_whole(workflow, workflow_owner):
    threshold = make_threshold(workflow, window_days=7)
    declare(workflow, workflow_owner, at=timezone.now() - timedelta(days=30), prompt_version="v7")
    now = timezone.now()
    assert window_for(threshold, now, ai_config_restart(workflow)) == window_for(threshold, now)
    ingest(workflow, [event("invocation") for _ in range(3)])
    (status,) = thresholds_evaluate_workflow(workflow=workflow)
    assert "configuration changed" not in status.reason


# --- Unannounced changes ------------------------------------------------------------------------


@pytest.fixture
def declared_v6(workflow, workflow_owner, limited) -> int:
    """Prompt v6 declared a week ago: the workflow runs it."""
    backdate(workflow, 1, timezone.now() - timedelta(days=30))
    return declare(
        workflow, workflow_owner, at=timezone.now() - timedelta(days=7), prompt_version="v6"
    )


def observed(workflow) -> list[AIConfiguration]:
    return list(AIConfiguration.objects.filter(workflow=workflow, origin=ConfigOrigin.OBSERVED))


def alerts(workflow):
    return Notification.objects.filter(workflow=workflow, title__contains="an unannounced change")


def test_events_reporting_an_undeclared_prompt_version_are_an_unannounced_change(
    workflow, workflow_owner, limited, declared_v6, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ingest(workflow, reporting(25, prompt_version="v7"))
    (config,) = observed(workflow)
    assert config.version == declared_v6 + 1
    assert (config.prompt_version, config.recorded_by) == ("v7", None)
    assert config.evidence["fields"]["prompt_version"]["count"] == 25
    assert config.evidence["fields"]["prompt_version"]["declared"] == "v6"
    assert (config.evidence["mismatching"], config.evidence["reporting"]) == (25, 25)
    (alert,) = alerts(workflow)
    assert alert.recipient == workflow_owner
    assert alert.url == "/workflows/support-reply-drafting/configuration/"
    assert "report prompt version “v7” where “v6” was declared" in alert.body
    assert [m.subject for m in mail.outbox if "unannounced" in m.subject]
    entry = ActivityEntry.objects.get(workflow=workflow, verb=VERB_OBSERVED)
    assert entry.changes == {"Prompt version": ["v6", "v7"]}
    limited.refresh_from_db()
    assert limited.baseline_start == config.effective_at
    assert ai_config_restart(workflow) == config.effective_at
    notice = ChangeNotice.objects.filter(workflow=workflow).order_by("-pk").first()
    assert notice.title == "“Support reply drafting”: its AI changed without notice"
    assert "Rollout noticed" in notice.body and "- Prompt version: v6 → v7" in notice.body
    assert limited.status == "active"  # the plan does not ask to pause


def test_detected_once_per_episode_not_once_per_event(
    workflow, limited, declared_v6, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            ingest(workflow, reporting(10, prompt_version="v7"))
        ingest(workflow, reporting(40, prompt_version="v7", model_version="2026-09"))
        # Another evaluator after the first one recorded it: nothing more.
        assert ai_config_detect_unannounced(workflow=workflow) is None
    assert len(observed(workflow)) == 1
    assert alerts(workflow).count() == 1
    assert ActivityEntry.objects.filter(workflow=workflow, verb=VERB_OBSERVED).count() == 1
    # The days since were rolled up again under the observed version: the events agree with it.
    current = ai_config_current(workflow)
    assert ConfigReportDay.objects.filter(workflow=workflow, config_version=current.version)
    assert not ConfigMismatchDay.objects.filter(workflow=workflow, config_version=current.version)


@pytest.mark.parametrize(
    ("mismatching", "agreeing"),
    [(19, 1000), (4, 10), (1, 0)],  # under 20 events and under 5 % (or under 5 events)
)
def test_too_few_differing_events_are_no_change(
    workflow, limited, declared_v6, mismatching, agreeing
):
    ingest(
        workflow,
        reporting(mismatching, prompt_version="v7") + reporting(agreeing, prompt_version="v6"),
    )
    assert observed(workflow) == []
    assert not alerts(workflow).exists()


def test_five_percent_of_the_reporting_events_is_a_change(workflow, limited, declared_v6):
    ingest(workflow, reporting(6, prompt_version="v7") + reporting(94, prompt_version="v6"))
    assert len(observed(workflow)) == 1


def test_the_thresholds_of_the_detection():
    assert is_unannounced(20, 10_000)
    assert not is_unannounced(19, 10_000)
    assert is_unannounced(5, 100)
    assert not is_unannounced(4, 80)
    assert not is_unannounced(5, 101)


def test_late_events_after_an_announced_change_are_not_a_surprise(
    workflow, workflow_owner, limited, declared_v6
):
    hour_ago = timezone.now() - timedelta(hours=1)
    declare(workflow, workflow_owner, at=hour_ago, prompt_version="v7")  # announced
    two_hours_ago = timezone.now() - timedelta(hours=2)
    # Events of before the change, arriving after it, report what was declared then.
    ingest(workflow, reporting(30, at=two_hours_ago, prompt_version="v6"))
    assert observed(workflow) == []
    # The tool still running v6 after the change is a surprise.
    ingest(workflow, reporting(30, prompt_version="v6"))
    (config,) = observed(workflow)
    assert config.prompt_version == "v6"


def test_the_plan_may_pause_the_roll_out_on_an_unannounced_change(workflow, limited, declared_v6):
    Workflow.objects.filter(pk=workflow.pk).update(pause_on_unannounced_change=True)
    ingest(workflow, reporting(25, model_version="2027-01"))
    limited.refresh_from_db()
    assert limited.status == "paused"
    assert limited.pause_reason.startswith("Paused automatically: an unannounced change of the AI.")
    (alert,) = alerts(workflow)
    assert "is paused, as your plan asks" in alert.body


def test_the_observed_version_does_not_change_what_is_declared(workflow, limited, declared_v6):
    ingest(workflow, reporting(25, prompt_version="v7"))
    workflow.refresh_from_db()
    assert workflow.prompt_version == "v6"


# --- Concurrent detectors (PostgreSQL: SQLite runs one writer at a time anyway) ----------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_detectors_record_one_episode(workflow, workflow_owner):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent writers need PostgreSQL")
    make_plan(workflow, current="limited")
    backdate(workflow, 1, timezone.now() - timedelta(days=30))
    declare(workflow, workflow_owner, at=timezone.now() - timedelta(days=7), prompt_version="v6")
    usage_events_store(workflow=workflow, events=reporting(25, prompt_version="v7"))
    usage_rollup_rebuild_day(workflow_id=workflow.pk, day=timezone.localdate())
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def detector() -> None:
        try:
            barrier.wait()
            ai_config_detect_unannounced(workflow=Workflow.objects.get(pk=workflow.pk))
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=detector) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(observed(workflow)) == 1
    assert alerts(workflow).count() == 1


def test_the_day_rollup_compares_each_event_with_the_version_of_its_time(workflow, workflow_owner):
    """Yesterday v6 until 12:00, v7 from then: each event is judged by the version it ran under."""
    yesterday = day_bounds(days_ago(1))[0]
    backdate(workflow, 1, yesterday - timedelta(days=30))
    v6 = declare(workflow, workflow_owner, at=yesterday - timedelta(days=1), prompt_version="v6")
    v7 = declare(workflow, workflow_owner, at=yesterday + timedelta(hours=12), prompt_version="v7")
    morning, afternoon = yesterday + timedelta(hours=9), yesterday + timedelta(hours=15)
    usage_events_store(
        workflow=workflow,
        events=reporting(3, at=morning, prompt_version="v6")  # as declared then
        + reporting(2, at=morning, prompt_version="v7")  # early: differs
        + reporting(4, at=afternoon, prompt_version="v7", model_version="2026-09")
        + reporting(1, at=afternoon, prompt_version="v6")  # late to switch: differs
        + [event("invocation", at=afternoon)],  # reports nothing
    )
    usage_rollup_rebuild_day(workflow_id=workflow.pk, day=days_ago(1))
    reports = ConfigReportDay.objects.filter(workflow=workflow, day=days_ago(1))
    assert {r.config_version: r.reporting for r in reports} == {v6: 5, v7: 5}
    rows = ConfigMismatchDay.objects.filter(workflow=workflow, day=days_ago(1))
    assert {(r.config_version, r.field, r.reported): r.count for r in rows} == {
        (v6, "prompt_version", "v7"): 2,
        (v7, "prompt_version", "v6"): 1,
    }
    early = rows.get(config_version=v6)
    assert early.first_at == early.last_at == morning
