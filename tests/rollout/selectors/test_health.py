from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.models import CohortDrift, DriftStatus, PhaseStatus, Threshold, ThresholdStatus
from rollout.selectors.health import (
    MSG_NO_THRESHOLDS,
    NO_PLAN,
    NOT_STARTED,
    HealthStatus,
    workflow_health,
)
from tests.factories import make_workflow
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.views.usage_page_data import day_events, make_cohort, member_ref, record_usage


def threshold(workflow, metric="error_rate", **fields) -> Threshold:
    values = {
        "comparator": "lte",
        "limit": 0.05,
        "window_days": 7,
        "min_sample": 100,
        "scope": "workflow",
        "bad_output": "A reply that promises a refund we do not give.",
        "action": "alert",
        **fields,
    }
    return Threshold.objects.create(workflow=workflow, metric=metric, **values)


def status(t: Threshold, verdict: str, reason: str, cohort=None) -> ThresholdStatus:
    now = timezone.now()
    return ThresholdStatus.objects.create(
        threshold=t,
        cohort=cohort,
        scope_key=str(cohort.pk) if cohort else "",
        verdict=verdict,
        reason=reason,
        window_start=now - timedelta(days=7),
        window_end=now,
        evaluated_at=now,
    )


def drift(workflow, cohort, drift_status: str, explanation: str) -> CohortDrift:
    return CohortDrift.objects.create(
        workflow=workflow,
        cohort=cohort,
        scope_key=str(cohort.pk),
        metric="override_rate",
        status=drift_status,
        explanation=explanation,
        computed_at=timezone.now(),
    )


@pytest.fixture
def eu(workflow, ops_leader):
    return make_cohort(workflow, ops_leader, "EU agents", 2)


def health_of(workflow):
    return workflow_health([workflow.pk])[workflow.pk]


def test_no_thresholds_is_no_data(workflow):
    health = health_of(workflow)

    assert health.status == HealthStatus.NO_DATA
    assert health.label == "Not enough data"
    assert health.reasons == [MSG_NO_THRESHOLDS]


def test_thresholds_never_evaluated_are_no_data(workflow):
    threshold(workflow)

    health = health_of(workflow)

    assert health.status == HealthStatus.NO_DATA
    assert health.reasons == ["Error rate: not evaluated yet."]


def test_every_check_passing_is_healthy(workflow, eu):
    status(threshold(workflow), "pass", "1% over 400 cases: at most 5%.")
    per_cohort = threshold(workflow, "override_rate", scope="per_cohort", limit=0.1)
    status(per_cohort, "pass", "4% over 300 cases: at most 10%.", cohort=eu)
    drift(workflow, eu, DriftStatus.STABLE, "Override rate stayed at 4%.")

    health = health_of(workflow)

    assert health.status == HealthStatus.HEALTHY
    assert health.label == "Healthy"
    assert health.reasons == ["All 2 threshold checks pass; no cohort is drifting."]


def test_one_passing_threshold_is_healthy(workflow):
    status(threshold(workflow), "pass", "1% over 400 cases: at most 5%.")

    assert health_of(workflow).reasons == ["The threshold passes; no cohort is drifting."]


def test_insufficient_data_is_never_healthy(workflow, eu):
    status(threshold(workflow), "pass", "1% over 400 cases: at most 5%.")
    per_cohort = threshold(workflow, "override_rate", scope="per_cohort", limit=0.1)
    status(per_cohort, "insufficient_data", "40 of the 100 cases needed in the last 7 days.", eu)

    health = health_of(workflow)

    assert health.status == HealthStatus.NO_DATA
    assert health.reasons == [
        "Override rate for “EU agents”: 40 of the 100 cases needed in the last 7 days."
    ]


def test_a_threshold_without_any_verdict_keeps_it_from_healthy(workflow):
    status(threshold(workflow), "pass", "1% over 400 cases: at most 5%.")
    threshold(workflow, "p95_latency_ms", limit=2000)

    health = health_of(workflow)

    assert health.status == HealthStatus.NO_DATA
    assert health.reasons == ["p95 latency (ms): not evaluated yet."]


def test_marginal_is_at_risk(workflow):
    status(threshold(workflow), "pass", "1% over 400 cases: at most 5%.")
    t = threshold(workflow, "override_rate", limit=0.10, marginal_limit=0.15)
    status(t, "marginal", "12% over 500 cases: past 10%, inside the marginal band to 15%.")

    health = health_of(workflow)

    assert health.status == HealthStatus.AT_RISK
    assert health.label == "At risk"
    assert health.reasons == [
        "Override rate marginal: 12% over 500 cases: past 10%, inside the marginal band to 15%."
    ]


def test_a_degrading_cohort_is_at_risk_even_when_thresholds_pass(workflow, eu):
    status(threshold(workflow), "pass", "1% over 400 cases: at most 5%.")
    drift(workflow, eu, DriftStatus.DEGRADING, "Override rate rose from 4.0% to 9.1%; p = 0.001.")

    health = health_of(workflow)

    assert health.status == HealthStatus.AT_RISK
    assert health.reasons == [
        "Drifting for “EU agents”: Override rate rose from 4.0% to 9.1%; p = 0.001."
    ]


def test_a_degrading_cohort_without_thresholds_is_at_risk(workflow, eu):
    drift(workflow, eu, DriftStatus.DEGRADING, "Override rate rose from 4.0% to 9.1%.")

    health = health_of(workflow)

    assert health.status == HealthStatus.AT_RISK
    assert health.reasons == [
        "Drifting for “EU agents”: Override rate rose from 4.0% to 9.1%.",
        MSG_NO_THRESHOLDS,
    ]


def test_a_failure_wins_and_comes_first(workflow, eu):
    status(threshold(workflow), "insufficient_data", "No cases in the last 7 days.")
    t = threshold(workflow, "acceptance_rate", comparator="gte", limit=0.8, marginal_limit=0.7)
    status(t, "marginal", "75% over 300 cases: past 80%, inside the marginal band to 70%.")
    per_cohort = threshold(workflow, "override_rate", scope="per_cohort", limit=0.1)
    status(per_cohort, "fail", "14.2% over 530 cases: should be at most 10%.", cohort=eu)
    drift(workflow, eu, DriftStatus.DEGRADING, "Override rate rose from 4.0% to 14.2%.")

    health = health_of(workflow)

    assert health.status == HealthStatus.FAILING
    assert health.label == "Failing"
    assert health.reasons == [
        "Override rate failing for “EU agents”: 14.2% over 530 cases: should be at most 10%.",
        "Acceptance rate marginal: 75% over 300 cases: past 80%, inside the marginal band to 70%.",
        "Drifting for “EU agents”: Override rate rose from 4.0% to 14.2%.",
        "Error rate: No cases in the last 7 days.",
    ]


def test_stable_or_unknown_drift_changes_nothing(workflow, eu):
    status(threshold(workflow), "pass", "1% over 400 cases: at most 5%.")
    drift(workflow, eu, DriftStatus.INSUFFICIENT_DATA, "Not enough cases.")

    assert health_of(workflow).status == HealthStatus.HEALTHY


def test_a_verdict_left_from_an_earlier_scope_is_ignored(workflow, eu):
    t = threshold(workflow, "override_rate", scope="per_cohort", limit=0.1)
    status(t, "fail", "Old whole-workflow verdict.")  # scope_key "": from before the change
    status(t, "pass", "4% over 300 cases: at most 10%.", cohort=eu)

    health = health_of(workflow)

    assert health.status == HealthStatus.HEALTHY
    assert health.reasons == ["The threshold passes; no cohort is drifting."]


def test_the_phase_in_progress_and_its_pause(workflow, ops_leader):
    unplanned = make_workflow(actor=ops_leader, slug="no-plan")
    not_started = make_workflow(actor=ops_leader, slug="not-started")
    phases = make_plan(not_started, current="audit")
    for phase in phases.values():
        phase.status = PhaseStatus.PLANNED
        phase.save()
    phases = make_plan(workflow, current="limited")
    phases["limited"].status = PhaseStatus.PAUSED
    phases["limited"].pause_reason = "Paused automatically: override rate breached."
    phases["limited"].save()

    health = workflow_health([workflow.pk, unplanned.pk, not_started.pk])

    assert health[workflow.pk].phase_label == "Limited roll-out"
    assert health[workflow.pk].phase_kind == "limited"
    assert health[workflow.pk].paused is True
    assert health[workflow.pk].pause_reason == "Paused automatically: override rate breached."
    assert health[unplanned.pk].phase_label == NO_PLAN
    assert health[unplanned.pk].paused is False
    assert health[not_started.pk].phase_label == NOT_STARTED


def test_four_queries_for_any_number_of_workflows(django_assert_num_queries, ops_leader):
    workflows = [make_workflow(actor=ops_leader, slug=f"flow-{n}") for n in range(12)]
    for n, w in enumerate(workflows):
        make_plan(w, current="limited")
        status(threshold(w), "fail" if n % 3 == 0 else "pass", "Some reason.")
        cohort = make_cohort(w, ops_leader, f"Cohort {n}", 1)
        drift(w, cohort, DriftStatus.DEGRADING, "Rose.")

    # Thresholds, drift, phases, and the live data sources with their status.
    with django_assert_num_queries(4):
        health = workflow_health([w.pk for w in workflows])

    assert [h.status for h in health.values()].count(HealthStatus.FAILING) == 4
    assert [h.status for h in health.values()].count(HealthStatus.AT_RISK) == 8


def test_no_workflows_no_queries(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        assert workflow_health([]) == {}


def test_a_breach_found_by_the_evaluation_after_ingestion_is_failing(workflow, ops_leader, eu):
    threshold(workflow, "override_rate", limit=0.10, min_sample=10)
    record_usage(
        workflow,
        day_events(member_ref(eu, 0), timezone.localdate(), accepted=8, overridden=4),
    )

    health = health_of(workflow)

    assert health.status == HealthStatus.FAILING
    assert health.reasons == [
        "Override rate failing: 33.333% over 12 cases: should be at most 10%."
    ]
