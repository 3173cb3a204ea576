"""Threshold verdicts at the edges, statuses and history, and acting on a breach once (rule 4)."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from rollout.gates import gate_next
from rollout.models import (
    ActivityEntry,
    Cohort,
    CohortMember,
    Notification,
    Phase,
    Threshold,
    ThresholdEvaluation,
    ThresholdStatus,
    Verdict,
    Workflow,
)
from rollout.services.evaluation import (
    MSG_INSUFFICIENT,
    MSG_NO_DATA,
    judge,
    thresholds_evaluate_all,
    thresholds_evaluate_workflow,
    window_for,
)
from rollout.services.phase_control import phase_pause, phase_resume
from rollout.services.usage_ingest import usage_events_store
from rollout.services.usage_rollup import day_bounds, usage_rollup_rebuild_day
from tests.factories import UserFactory, make_workflow
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import (
    errors_out_of,
    event,
    events,
    ingest,
    make_threshold,
    outcomes,
)

pytestmark = pytest.mark.django_db


def rule(**fields) -> Threshold:
    values = {
        "metric": "error_rate",
        "comparator": "lte",
        "limit": 0.05,
        "marginal_limit": None,
        "window_days": 7,
        "min_sample": 100,
    }
    values.update(fields)
    return Threshold(**values)


# --- judge: the verdict at the edges -----------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "verdict"),
    [
        (0.0, Verdict.PASS),
        (0.05, Verdict.PASS),  # exactly at the limit passes
        (0.0500001, Verdict.MARGINAL),  # just past it: inside the band
        (0.07, Verdict.MARGINAL),
        (0.08, Verdict.MARGINAL),  # at the band's edge: still marginal
        (0.0800001, Verdict.FAIL),
        (1.0, Verdict.FAIL),
    ],
)
def test_at_most_with_a_marginal_band(observed, verdict):
    assert judge(rule(marginal_limit=0.08), observed, 100).verdict == verdict


@pytest.mark.parametrize(
    ("observed", "verdict"),
    [
        (1.0, Verdict.PASS),
        (0.8, Verdict.PASS),  # exactly at the limit passes
        (0.7999999, Verdict.MARGINAL),
        (0.7, Verdict.MARGINAL),  # at the band's edge
        (0.6999999, Verdict.FAIL),
        (0.0, Verdict.FAIL),
    ],
)
def test_at_least_with_a_marginal_band(observed, verdict):
    threshold = rule(metric="acceptance_rate", comparator="gte", limit=0.8, marginal_limit=0.7)
    assert judge(threshold, observed, 100).verdict == verdict


def test_without_a_band_just_past_the_limit_fails():
    assert judge(rule(), 0.0500001, 100).verdict == Verdict.FAIL


def test_reasons_say_the_numbers():
    band = rule(marginal_limit=0.08)
    assert judge(band, 0.05, 100).reason == "5% over 100 cases: at most 5%."
    assert judge(band, 0.07, 100).reason == (
        "7% over 100 cases: past 5%, inside the marginal band to 8%."
    )
    assert judge(band, 0.09, 250).reason == "9% over 250 cases: should be at most 5%."
    latency = rule(metric="p95_latency_ms", limit=800, min_sample=20)
    assert judge(latency, 812.5, 40).reason == "812.5 ms over 40 cases: should be at most 800 ms."


def test_below_the_minimum_sample_is_insufficient_data_never_a_pass():
    judgement = judge(rule(), 0.0, 99)
    assert judgement.verdict == Verdict.INSUFFICIENT_DATA
    assert (judgement.observed, judgement.sample) == (0.0, 99)
    assert judgement.reason == MSG_INSUFFICIENT.format(sample=99, needed=100, days=7)
    assert judgement.reason == "99 of the 100 cases needed in the last 7 days."
    assert judge(rule(), 0.0, 100).verdict == Verdict.PASS  # exactly the minimum is enough


def test_no_data_is_insufficient_data():
    judgement = judge(rule(window_days=14), None, 0)
    assert judgement.verdict == Verdict.INSUFFICIENT_DATA
    assert judgement.reason == MSG_NO_DATA.format(days=14) == "No cases in the last 14 days."


def test_a_minimum_sample_of_zero_with_no_data_is_still_insufficient():
    assert judge(rule(min_sample=0), None, 0).verdict == Verdict.INSUFFICIENT_DATA


def test_escalation_rate_is_judged_like_any_rate():
    threshold = rule(metric="escalation_rate", limit=0.01, marginal_limit=0.02)
    assert judge(threshold, 0.005, 400).verdict == Verdict.PASS
    assert judge(threshold, 0.015, 400).verdict == Verdict.MARGINAL
    judgement = judge(threshold, 0.05, 400)
    assert (judgement.verdict, judgement.observed, judgement.sample) == (Verdict.FAIL, 0.05, 400)
    assert judgement.reason == "5% over 400 cases: should be at most 1%."


def test_negative_feedback_share_is_judged_like_any_rate():
    # Measured from feedback (tests/rollout/services/test_feedback_metrics.py), not "not measured".
    judgement = judge(rule(metric="negative_feedback_share", limit=0.2), 0.5, 1000)
    assert (judgement.verdict, judgement.observed, judgement.sample) == (Verdict.FAIL, 0.5, 1000)


# --- Evaluating against real usage -------------------------------------------------------------


def evaluate(workflow: Workflow, **kwargs) -> list[ThresholdStatus]:
    return thresholds_evaluate_workflow(workflow=workflow, **kwargs)


@pytest.mark.parametrize(
    ("errors", "invocations", "verdict"),
    [
        (5, 100, Verdict.PASS),  # 5%: exactly at the limit
        (6, 100, Verdict.MARGINAL),
        (8, 100, Verdict.MARGINAL),  # 8%: the band's edge
        (9, 100, Verdict.FAIL),
        (0, 99, Verdict.INSUFFICIENT_DATA),  # below the minimum sample
    ],
)
def test_error_rate_from_ingested_events(workflow, errors, invocations, verdict):
    threshold = make_threshold(workflow, limit=0.05, marginal_limit=0.08)
    ingest(workflow, errors_out_of(errors, invocations))
    (status,) = evaluate(workflow)
    assert (status.threshold, status.cohort, status.scope_key) == (threshold, None, "")
    assert (status.verdict, status.sample) == (verdict, invocations)


def test_acceptance_rate_exactly_at_the_limit_passes(workflow):
    make_threshold(workflow, metric="acceptance_rate", comparator="gte", limit=0.8)
    ingest(workflow, outcomes(accepted=80, edited=15, overridden=5))
    (status,) = evaluate(workflow)
    assert (status.verdict, status.observed, status.sample) == (Verdict.PASS, 0.8, 100)


def test_p95_latency_from_the_histogram(workflow):
    make_threshold(workflow, metric="p95_latency_ms", limit=100, min_sample=20)
    ingest(workflow, events("invocation", 20, latency_ms=90))
    (status,) = evaluate(workflow)
    assert (status.verdict, status.observed, status.sample) == (Verdict.PASS, 98.75, 20)


def test_no_usage_at_all(workflow):
    make_threshold(workflow)
    (status,) = evaluate(workflow)
    assert (status.verdict, status.observed, status.sample) == (Verdict.INSUFFICIENT_DATA, None, 0)
    assert status.reason == "No cases in the last 7 days."


def test_negative_feedback_share_ignores_usage_events(workflow):
    make_threshold(workflow, metric="negative_feedback_share", action="pause_rollout")
    make_plan(workflow, current="limited")
    ingest(workflow, errors_out_of(100, 100))
    (status,) = evaluate(workflow)
    assert status.verdict == Verdict.INSUFFICIENT_DATA
    assert not Phase.objects.filter(workflow=workflow, status="paused").exists()


def test_the_window_is_the_last_days_today_included(workflow):
    make_threshold(workflow, window_days=7, min_sample=1)
    now = timezone.now()
    today = timezone.localdate(now)
    first_day_start, _ = day_bounds(today - timedelta(days=6))
    ingest(
        workflow,
        [
            event("error", at=first_day_start - timedelta(seconds=1)),  # 7 days ago: outside
            event("invocation", at=first_day_start),  # first moment of the window
            event("invocation", at=now - timedelta(seconds=1)),
        ],
    )
    (status,) = evaluate(workflow, now=now)
    assert (status.observed, status.sample) == (0.0, 2)
    assert (status.window_start, status.window_end) == (first_day_start, now)
    assert window_for(Threshold(window_days=7), now) == (first_day_start, now)


def test_per_cohort_scope_gives_one_status_per_cohort(workflow):
    tiers = []
    for name in ("Tier 2", "Tier 1", "Quiet"):
        cohort = Cohort.objects.create(workflow=workflow, name=name, enrolled_phase="limited")
        user = UserFactory(email=f"{name.replace(' ', '').lower()}@example.com")
        CohortMember.objects.create(cohort=cohort, user=user)
        tiers.append((cohort, user))
    threshold = make_threshold(workflow, scope="per_cohort", min_sample=10)
    (tier2, t2), (tier1, t1), (quiet, _) = tiers
    ingest(
        workflow, errors_out_of(0, 20, user_ref=t1.email) + errors_out_of(5, 20, user_ref=t2.email)
    )
    ingest(workflow, errors_out_of(20, 20, user_ref="outsider@example.com"))
    statuses = evaluate(workflow)
    assert [(s.cohort, s.scope_key, s.verdict) for s in statuses] == [
        (quiet, str(quiet.pk), Verdict.INSUFFICIENT_DATA),
        (tier1, str(tier1.pk), Verdict.PASS),
        (tier2, str(tier2.pk), Verdict.FAIL),
    ]
    assert ThresholdStatus.objects.filter(threshold=threshold).count() == 3
    breach = ActivityEntry.objects.get(workflow=workflow, verb="threshold breached")
    assert breach.target == "Error rate for the cohort “Tier 2”"


def test_a_status_per_scope_is_updated_in_place(workflow):
    threshold = make_threshold(workflow, min_sample=1)
    ingest(workflow, errors_out_of(0, 10))
    evaluate(workflow)
    ingest(workflow, errors_out_of(10, 0))
    evaluate(workflow)
    status = ThresholdStatus.objects.get(threshold=threshold)
    assert (status.verdict, status.sample, status.observed) == (Verdict.FAIL, 10, 1.0)


def test_a_scope_no_longer_evaluated_leaves_no_status_behind(workflow):
    cohort = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    threshold = make_threshold(workflow, scope="per_cohort")
    evaluate(workflow)
    assert ThresholdStatus.objects.get(threshold=threshold).cohort == cohort
    Threshold.objects.filter(pk=threshold.pk).update(scope="workflow")
    evaluate(workflow)
    assert list(ThresholdStatus.objects.filter(threshold=threshold).values_list("scope_key")) == [
        ("",)
    ]


def test_history_on_a_change_of_verdict_and_hourly_otherwise(workflow):
    threshold = make_threshold(workflow, min_sample=10)
    now = timezone.now()
    evaluate(workflow, now=now)  # insufficient: the first row
    evaluate(workflow, now=now + timedelta(minutes=1))  # same verdict: no row
    evaluate(workflow, now=now + timedelta(minutes=59))
    ingest(workflow, errors_out_of(0, 10))  # evaluates too: pass
    evaluate(workflow, now=now + timedelta(minutes=61))  # pass again within the hour: no row
    evaluate(workflow, now=now + timedelta(minutes=59 + 61))  # an hour later: a row
    history = ThresholdEvaluation.objects.filter(threshold=threshold).order_by("id")
    assert [h.verdict for h in history] == ["insufficient_data", "pass", "pass"]
    assert not any(h.breach for h in history)


def test_the_evaluation_that_starts_a_breach_is_marked(workflow):
    threshold = make_threshold(workflow, min_sample=1)
    ingest(workflow, errors_out_of(1, 1))
    evaluate(workflow)
    history = list(ThresholdEvaluation.objects.filter(threshold=threshold).order_by("id"))
    assert [(h.verdict, h.breach) for h in history] == [("fail", True)]
    assert ThresholdStatus.objects.get(threshold=threshold).breached_since is not None


def test_evaluate_all_covers_every_workflow_with_thresholds(workflow, ops_leader):
    make_workflow(actor=ops_leader)  # no thresholds
    make_threshold(workflow)
    assert thresholds_evaluate_all() == 1
    assert ThresholdStatus.objects.count() == 1


def test_no_thresholds_no_statuses(workflow):
    assert evaluate(workflow) == []


# --- Acting on a breach, once ------------------------------------------------------------------


@pytest.fixture
def limited(workflow: Workflow) -> Phase:
    return make_plan(workflow, current="limited")["limited"]


def breach_notifications(workflow: Workflow | None = None):
    """The breach notices (a breach also opens an escalation, which notifies on its own: see
    tests/rollout/services/test_escalations.py)."""
    rows = Notification.objects.filter(url__endswith="/thresholds/")
    return rows.filter(workflow=workflow) if workflow else rows


def breach_emails() -> list:
    return [m for m in mail.outbox if "/escalations/" not in m.body]


def counts(workflow: Workflow) -> dict[str, int]:
    return {
        "paused": ActivityEntry.objects.filter(workflow=workflow, verb="paused").count(),
        "breached": ActivityEntry.objects.filter(
            workflow=workflow, verb="threshold breached"
        ).count(),
        "notifications": breach_notifications(workflow).count(),
        "emails": len(breach_emails()),
    }


def test_a_breach_pauses_once_however_often_it_is_evaluated(
    workflow, limited, django_capture_on_commit_callbacks
):
    make_threshold(workflow, action="pause_rollout")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(workflow, errors_out_of(10, 100))
        for _ in range(3):
            evaluate(workflow)
        ingest(workflow, errors_out_of(50, 100))  # worse still
        evaluate(workflow)
        evaluate(workflow, now=timezone.now() + timedelta(hours=2))
    assert counts(workflow) == {"paused": 1, "breached": 1, "notifications": 1, "emails": 1}
    limited.refresh_from_db()
    assert limited.status == "paused"
    assert limited.pause_reason == (
        "Paused automatically: error rate breached its threshold. "
        "10% over 100 cases: should be at most 5%."
    )
    pause = ActivityEntry.objects.get(workflow=workflow, verb="paused")
    assert pause.actor is None
    assert pause.target == "Limited roll-out"


def test_the_owner_is_told_of_the_pause(
    workflow, workflow_owner, limited, django_capture_on_commit_callbacks
):
    make_threshold(workflow, action="pause_rollout")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(workflow, errors_out_of(10, 100))
    note = breach_notifications(workflow).get()
    assert note.recipient == workflow_owner
    assert note.title == "Support reply drafting paused: error rate breached"
    assert note.body == (
        "10% over 100 cases: should be at most 5%.\n"
        "Threshold: Error rate at most 5% over 7 days, min 100 cases, whole workflow → pause the "
        "roll-out.\n"
        "The limited roll-out is paused; people get “shadow” output until you resume it."
    )
    assert note.url == "/workflows/support-reply-drafting/thresholds/"
    (email,) = breach_emails()
    assert email.to == ["owner@example.com"]
    assert email.subject == "[Rollout] Support reply drafting paused: error rate breached"
    breach = ActivityEntry.objects.get(workflow=workflow, verb="threshold breached")
    assert (breach.actor, breach.target) == (None, "Error rate")
    assert breach.note == (
        "10% over 100 cases: should be at most 5%. Threshold: Error rate at most 5% over 7 days, "
        "min 100 cases, whole workflow → pause the roll-out. What a bad output looks like: A reply "
        "that promises a refund we do not give."
    )


def test_after_recovery_a_new_breach_is_acted_on_again(
    workflow, workflow_owner, limited, django_capture_on_commit_callbacks
):
    make_threshold(workflow, action="pause_rollout")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(workflow, errors_out_of(10, 100))
        assert counts(workflow)["paused"] == 1
        phase_resume(workflow=workflow, actor=workflow_owner)
        ingest(workflow, errors_out_of(0, 2000))  # 10 of 2,100: passing again
        assert ThresholdStatus.objects.get().verdict == Verdict.PASS
        assert ThresholdStatus.objects.get().breached_since is None
        ingest(workflow, errors_out_of(400, 0))  # failing again
    assert counts(workflow) == {"paused": 2, "breached": 2, "notifications": 2, "emails": 2}
    limited.refresh_from_db()
    assert limited.status == "paused"


def test_owner_resumes_while_still_failing_is_not_repaused_until_it_recovers_and_fails_again(
    workflow, workflow_owner, limited, django_capture_on_commit_callbacks
):
    make_threshold(workflow, action="pause_rollout")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(workflow, errors_out_of(10, 100))
        phase_resume(workflow=workflow, actor=workflow_owner)
        # Still failing: the owner's decision to resume stands; the breach was acted on.
        ingest(workflow, errors_out_of(20, 100))
        evaluate(workflow)
    limited.refresh_from_db()
    assert limited.status == "active"
    assert counts(workflow) == {"paused": 1, "breached": 1, "notifications": 1, "emails": 1}
    with django_capture_on_commit_callbacks(execute=True):
        ingest(workflow, errors_out_of(0, 5000))  # recovers
        ingest(workflow, errors_out_of(600, 0))  # and fails again
    limited.refresh_from_db()
    assert limited.status == "paused"
    assert counts(workflow) == {"paused": 2, "breached": 2, "notifications": 2, "emails": 2}


def test_marginal_is_not_a_breach_and_does_not_pause(workflow, limited):
    make_threshold(workflow, action="pause_rollout", marginal_limit=0.1)
    ingest(workflow, errors_out_of(8, 100))
    limited.refresh_from_db()
    assert limited.status == "active"
    assert counts(workflow)["breached"] == 0


def test_a_breach_while_already_paused_tells_the_owner_without_pausing_again(
    workflow, workflow_owner, limited
):
    phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="off", reason="Holiday.")
    make_threshold(workflow, action="pause_rollout")
    ingest(workflow, errors_out_of(10, 100))
    assert counts(workflow) | {"emails": 0} == {
        "paused": 1,
        "breached": 1,
        "notifications": 1,
        "emails": 0,
    }
    note = breach_notifications(workflow).get()
    assert note.title == "Support reply drafting: error rate breached"


def test_alert_notifies_without_pausing(workflow, limited, django_capture_on_commit_callbacks):
    make_threshold(workflow, action="alert")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(workflow, errors_out_of(10, 100))
        evaluate(workflow)
    assert counts(workflow) == {"paused": 0, "breached": 1, "notifications": 1, "emails": 1}
    limited.refresh_from_db()
    assert limited.status == "active"
    assert breach_notifications().get().title == "Support reply drafting: error rate breached"


def test_block_promotion_fails_the_gate_without_pausing(workflow, limited):
    make_threshold(workflow, action="block_promotion")
    ingest(workflow, errors_out_of(10, 100))
    limited.refresh_from_db()
    assert limited.status == "active"
    assert counts(workflow)["notifications"] == 1
    assert (
        breach_notifications()
        .get()
        .body.endswith("Promotion to the next phase is blocked until it passes again.")
    )
    gate = gate_next(Workflow.objects.get(pk=workflow.pk))
    check = next(c for c in gate.checks if c.key == "thresholds_met")
    assert check.status == Verdict.FAIL
    assert check.reason == "Failing: Error rate: 10% over 100 cases: should be at most 5%."


def test_a_breach_without_a_phase_in_progress_still_tells_the_owner(workflow):
    make_threshold(workflow, action="pause_rollout")
    ingest(workflow, errors_out_of(10, 100))
    assert counts(workflow) | {"emails": 0} == {
        "paused": 0,
        "breached": 1,
        "notifications": 1,
        "emails": 0,
    }


# --- Concurrent evaluators (PostgreSQL: SQLite runs one writer at a time anyway) ---------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_evaluations_act_on_a_breach_once(workflow, limited):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent writers need PostgreSQL")
    make_threshold(workflow, action="pause_rollout")
    usage_events_store(workflow=workflow, events=errors_out_of(10, 100))
    usage_rollup_rebuild_day(workflow_id=workflow.pk, day=timezone.localdate())
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def evaluator() -> None:
        try:
            barrier.wait()
            thresholds_evaluate_workflow(workflow=Workflow.objects.get(pk=workflow.pk))
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluator) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert ThresholdStatus.objects.count() == 1
    assert counts(workflow) == {"paused": 1, "breached": 1, "notifications": 1, "emails": 1}
