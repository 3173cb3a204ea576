import datetime

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.models import ActivityEntry, Phase, Threshold
from rollout.selectors.thresholds import has_quality_threshold, threshold_sentence
from rollout.services import thresholds as svc
from tests.factories import make_workflow

VALID = {
    "metric": "error_rate",
    "comparator": "lte",
    "limit": 0.02,
    "marginal_limit": 0.03,
    "window_days": 7,
    "min_sample": 200,
    "scope": "workflow",
    "bad_output": "A reply that promises a refund we don't offer.",
    "action": "pause_rollout",
}


def start_limited(workflow, *, started: bool = True) -> Phase:
    return Phase.objects.create(
        workflow=workflow,
        kind="limited",
        position=3,
        planned_start=datetime.date(2026, 1, 5),
        actual_start=timezone.now() if started else None,
        status="active" if started else "planned",
    )


def create(workflow, actor, **overrides):
    return svc.threshold_create(workflow=workflow, actor=actor, **(VALID | overrides))


def update(threshold, actor, **overrides):
    values = {name: getattr(threshold, name) for name in svc.FIELDS} | overrides
    return svc.threshold_update(threshold=threshold, actor=actor, **values)


def test_sentence_reads_like_the_rule(workflow, ops_leader):
    threshold = create(workflow, ops_leader)

    assert threshold_sentence(threshold) == (
        "Error rate at most 2% (marginal to 3%) over 7 days, min 200 cases, whole workflow → "
        "pause the roll-out"
    )
    latency = create(
        workflow,
        ops_leader,
        metric="p95_latency_ms",
        limit=800,
        marginal_limit=None,
        window_days=1,
        min_sample=1,
        scope="per_cohort",
        action="alert",
    )
    assert threshold_sentence(latency) == (
        "p95 latency at most 800 ms over 1 day, min 1 case, each cohort → alert the owner"
    )


def test_create_before_launch_is_logged_plainly(workflow, ops_leader):
    start_limited(workflow, started=False)
    threshold = create(workflow, ops_leader)

    assert threshold.added_after_launch is False
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.actor, entry.verb, entry.note) == (ops_leader, "added threshold", "")
    assert entry.target == threshold_sentence(threshold)
    assert entry.changes["limit"] == ["—", "2%"]
    assert entry.changes["metric"] == ["—", "Error rate"]


def test_create_after_limited_started_is_marked(workflow, ops_leader):
    start_limited(workflow)
    threshold = create(workflow, ops_leader)

    assert threshold.added_after_launch is True
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.verb, entry.note) == ("added threshold after launch", svc.MSG_ADDED_AFTER_LAUNCH)


@pytest.mark.parametrize(
    "change",
    [
        {"limit": 0.025},  # at most: a higher limit fails later
        {"marginal_limit": 0.05},  # wider band
        {"min_sample": 500},  # needs more cases before it can fail
        {"window_days": 14},
        {"window_days": 3},
        {"action": "alert"},  # weaker consequence
        {"metric": "override_rate"},
    ],
)
def test_loosening_after_launch_is_marked(workflow, ops_leader, change):
    threshold = create(workflow, ops_leader)
    start_limited(workflow)

    threshold = update(threshold, ops_leader, **change)

    assert Threshold.objects.get(pk=threshold.pk).added_after_launch is True
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.verb, entry.note) == (
        "changed threshold after launch",
        svc.MSG_LOOSENED_AFTER_LAUNCH,
    )


def test_at_least_limit_moved_down_is_loosening(workflow, ops_leader):
    threshold = create(
        workflow,
        ops_leader,
        metric="acceptance_rate",
        comparator="gte",
        limit=0.8,
        marginal_limit=0.7,
    )
    start_limited(workflow)

    update(threshold, ops_leader, limit=0.75, marginal_limit=0.7)

    assert Threshold.objects.get(pk=threshold.pk).added_after_launch is True


@pytest.mark.parametrize(
    "change",
    [{"limit": 0.015}, {"marginal_limit": 0.025}, {"min_sample": 100}, {"action": "pause_rollout"}],
)
def test_tightening_after_launch_is_not_marked(workflow, ops_leader, change):
    threshold = create(workflow, ops_leader, action="block_promotion")
    start_limited(workflow)

    update(threshold, ops_leader, **change)

    assert Threshold.objects.get(pk=threshold.pk).added_after_launch is False
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.verb, entry.note) == ("changed threshold", "")


def test_update_logs_before_and_after_in_people_units(workflow, ops_leader):
    threshold = create(workflow, ops_leader)
    update(threshold, ops_leader, limit=0.015, bad_output="A wrong refund amount.")

    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert entry.changes == {
        "limit": ["2%", "1.5%"],
        "what a bad output looks like": [VALID["bad_output"], "A wrong refund amount."],
    }


def test_update_without_change_records_nothing(workflow, ops_leader):
    threshold = create(workflow, ops_leader)
    entries = ActivityEntry.objects.count()
    update(threshold, ops_leader)
    assert ActivityEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("started", "verb"), [(False, "deleted threshold"), (True, "deleted threshold after launch")]
)
def test_delete_is_logged(workflow, ops_leader, started, verb):
    threshold = create(workflow, ops_leader)
    start_limited(workflow, started=started)

    svc.threshold_delete(threshold=threshold, actor=ops_leader)

    assert not Threshold.objects.filter(pk=threshold.pk).exists()
    entry = ActivityEntry.objects.filter(workflow=workflow).first()
    assert (entry.verb, entry.target) == (verb, threshold_sentence(threshold))
    assert entry.note == (svc.MSG_DELETED_AFTER_LAUNCH if started else "")


@pytest.mark.parametrize(
    ("overrides", "message", "field"),
    [
        ({"limit": 1.5}, svc.MSG_RATE_LIMIT_RANGE, "limit"),
        ({"limit": -0.1}, svc.MSG_RATE_LIMIT_RANGE, "limit"),
        ({"marginal_limit": 1.2}, svc.MSG_RATE_MARGINAL_RANGE, "marginal_limit"),
        (
            {"metric": "p95_latency_ms", "limit": -1, "marginal_limit": None},
            svc.MSG_LATENCY_LIMIT_NEGATIVE,
            "limit",
        ),
        (
            {"metric": "p95_latency_ms", "comparator": "gte", "limit": 10, "marginal_limit": -5},
            svc.MSG_LATENCY_MARGINAL_NEGATIVE,
            "marginal_limit",
        ),
        ({"window_days": 0}, svc.MSG_WINDOW_RANGE, "window_days"),
        ({"window_days": 91}, svc.MSG_WINDOW_RANGE, "window_days"),
        ({"min_sample": 0}, svc.MSG_MIN_SAMPLE, "min_sample"),
        ({"marginal_limit": 0.01}, svc.MSG_MARGINAL_AT_MOST, "marginal_limit"),
        ({"marginal_limit": 0.02}, svc.MSG_MARGINAL_AT_MOST, "marginal_limit"),
        (
            {"comparator": "gte", "limit": 0.8, "marginal_limit": 0.9},
            svc.MSG_MARGINAL_AT_LEAST,
            "marginal_limit",
        ),
        ({"bad_output": "   "}, svc.MSG_BAD_OUTPUT_REQUIRED, "bad_output"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(workflow, ops_leader, overrides, message, field):
    entries = ActivityEntry.objects.count()

    with pytest.raises(ApplicationError) as exc:
        create(workflow, ops_leader, **overrides)

    assert (exc.value.message, exc.value.field) == (message, field)
    assert Threshold.objects.count() == 0
    assert ActivityEntry.objects.count() == entries


def test_unknown_choice_is_refused(workflow, ops_leader):
    with pytest.raises(ApplicationError) as exc:
        create(workflow, ops_leader, action="shrug")
    assert exc.value.field == "action"
    assert Threshold.objects.count() == 0


def test_marginal_wrong_side_is_refused_on_update_too(workflow, ops_leader):
    threshold = create(workflow, ops_leader)
    with pytest.raises(ApplicationError) as exc:
        update(threshold, ops_leader, comparator="gte")
    assert exc.value.message == svc.MSG_MARGINAL_AT_LEAST
    assert Threshold.objects.get(pk=threshold.pk).comparator == "lte"


def test_has_quality_threshold_counts_only_quality_metrics(workflow, ops_leader):
    assert has_quality_threshold(workflow) is False
    create(workflow, ops_leader, metric="p95_latency_ms", limit=900, marginal_limit=None)
    create(workflow, ops_leader, metric="adoption_rate", comparator="gte", marginal_limit=None)
    assert has_quality_threshold(workflow) is False

    create(workflow, ops_leader, metric="override_rate")
    assert has_quality_threshold(workflow) is True
    assert has_quality_threshold(make_workflow(actor=ops_leader)) is False
