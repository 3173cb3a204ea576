"""Drift: each cohort's last 7 days against its phase's baseline window, on synthetic usage with
a known shift (and without one)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from rollout.models import ActivityEntry, Cohort, CohortDrift, CohortMember, Phase, Workflow
from rollout.services.drift import (
    DRIFT_WINDOW_DAYS,
    MIN_SAMPLE,
    baseline_window,
    drift_evaluate_all,
    drift_evaluate_workflow,
)
from rollout.services.workflows import workflow_update
from tests.factories import UserFactory, make_workflow
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import at_noon, days_ago, events, ingest, outcomes

pytestmark = pytest.mark.django_db

MEMBER = "mia.member@example.com"


@pytest.fixture
def member(db) -> User:
    return UserFactory(email=MEMBER)


@pytest.fixture
def tier1(workflow: Workflow, member: User) -> Cohort:
    cohort = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    CohortMember.objects.create(cohort=cohort, user=member)
    return cohort


def limited_since(workflow: Workflow, days: int) -> Phase:
    return make_plan(workflow, current="limited", days_running=days)["limited"]


def per_day(days: range, *, overridden: int, accepted: int) -> list:
    """Each day of `days` (days ago): `overridden` overrides and `accepted` accepted outputs."""
    batch = []
    for ago in days:
        at = at_noon(days_ago(ago))
        batch += outcomes(overridden=overridden, accepted=accepted, user_ref=MEMBER, at=at)
    return batch


BASELINE = range(19, 12, -1)  # the first full week after a phase that began 20 days ago
RECENT = range(6, -1, -1)  # the last 7 days, today included


def drift(workflow: Workflow, metric: str) -> CohortDrift:
    return CohortDrift.objects.get(workflow=workflow, metric=metric)


def fmt(days: range) -> str:
    start, end = days_ago(days[0]), days_ago(days[-1])
    if start.month == end.month:
        return f"{start.day}–{end.day} {end:%b}"
    return f"{start.day} {start:%b}–{end.day} {end:%b}"


def test_the_baseline_is_the_first_full_window_after_the_phase_began(workflow):
    phase = limited_since(workflow, 20)
    start = timezone.localdate(phase.actual_start) + timedelta(days=1)
    assert baseline_window(phase) == (start, start + timedelta(days=DRIFT_WINDOW_DAYS - 1))
    assert baseline_window(phase) == (days_ago(19), days_ago(13))


def test_override_rate_rising_from_5_to_15_percent_is_degrading(workflow, tier1):
    limited_since(workflow, 20)
    ingest(workflow, per_day(BASELINE, overridden=5, accepted=95))
    ingest(workflow, per_day(RECENT, overridden=15, accepted=85))
    rows = drift_evaluate_workflow(workflow=workflow)
    assert {(r.cohort, r.metric) for r in rows} == {
        (tier1, metric)
        for metric in (
            "override_rate",
            "error_rate",
            "acceptance_rate",
            "adoption_rate",
            "negative_feedback_share",
            "invocations_per_user",
            "p95_latency_ms",
        )
    }
    override = drift(workflow, "override_rate")
    assert override.status == "degrading"
    assert (override.baseline_value, override.current_value) == (0.05, 0.15)
    assert (override.baseline_sample, override.current_sample) == (700, 700)
    assert override.p_value < 1e-6
    assert (override.baseline_start, override.baseline_end) == (days_ago(19), days_ago(13))
    assert (override.current_start, override.current_end) == (days_ago(6), days_ago(0))
    # Never "p = 8.8e-07": the exact value is kept in p_value.
    assert override.explanation == (
        f"Override rate rose from 5.0% (700 cases, {fmt(BASELINE)}) "
        f"to 15.0% (700 cases, {fmt(RECENT)}); significant (p < 0.001)."
    )
    # Fewer accepted outputs is the same shift seen from the other side.
    acceptance = drift(workflow, "acceptance_rate")
    assert acceptance.status == "degrading"
    assert acceptance.explanation.startswith("Acceptance rate fell from 95.0% (700 cases")


def test_no_shift_is_stable(workflow, tier1):
    limited_since(workflow, 20)
    ingest(workflow, per_day(BASELINE, overridden=5, accepted=95))
    ingest(workflow, per_day(RECENT, overridden=5, accepted=95))
    drift_evaluate_workflow(workflow=workflow)
    override = drift(workflow, "override_rate")
    assert (override.status, override.p_value) == ("stable", 1.0)
    assert override.explanation.startswith("Override rate held at 5.0% (700 cases")
    assert drift(workflow, "acceptance_rate").status == "stable"


def test_an_improvement_is_not_degrading(workflow, tier1):
    limited_since(workflow, 20)
    ingest(workflow, per_day(BASELINE, overridden=15, accepted=85))
    ingest(workflow, per_day(RECENT, overridden=5, accepted=95))
    drift_evaluate_workflow(workflow=workflow)
    assert drift(workflow, "override_rate").status == "stable"
    assert drift(workflow, "acceptance_rate").status == "stable"


def test_too_few_cases_is_insufficient_data(workflow, tier1):
    limited_since(workflow, 20)
    ingest(workflow, per_day(range(19, 17, -1), overridden=1, accepted=14))  # 30 baseline cases
    ingest(workflow, per_day(range(1, -1, -1), overridden=10, accepted=4))  # 28 recent cases
    drift_evaluate_workflow(workflow=workflow)
    override = drift(workflow, "override_rate")
    assert override.status == "insufficient_data"
    assert (override.baseline_sample, override.current_sample) == (30, 28)
    assert override.explanation == (
        f"Override rate: 30 baseline and 28 recent cases; {MIN_SAMPLE} of each are needed."
    )
    latency = drift(workflow, "p95_latency_ms")
    assert latency.status == "insufficient_data"
    assert latency.explanation == "Latency: 0 baseline and 0 recent timings; 30 of each are needed."


def test_latency_shift_is_detected(workflow, tier1):
    limited_since(workflow, 20)
    batch = []
    for ago in BASELINE:
        for ms in (90, 120, 150, 180, 240, 280):
            batch += events(
                "invocation", 5, user_ref=MEMBER, at=at_noon(days_ago(ago)), latency_ms=ms
            )
    for ago in RECENT:
        for ms in (350, 450, 600, 700, 900, 1400):
            batch += events(
                "invocation", 5, user_ref=MEMBER, at=at_noon(days_ago(ago)), latency_ms=ms
            )
    ingest(workflow, batch)
    drift_evaluate_workflow(workflow=workflow)
    latency = drift(workflow, "p95_latency_ms")
    assert latency.status == "degrading"
    assert (latency.baseline_sample, latency.current_sample) == (210, 210)
    assert latency.baseline_value < 300 < 1000 < latency.current_value
    assert latency.explanation.startswith(
        f"p95 latency {latency.baseline_value:,.0f} ms ({fmt(BASELINE)}) → "
        f"{latency.current_value:,.0f} ms ({fmt(RECENT)}); a recent call is slower than a "
        "baseline one 100.0% of the time; significant (p < 0.001)."
    )
    error = drift(workflow, "error_rate")
    assert (error.status, error.baseline_sample) == ("stable", 210)


def test_steady_latency_is_stable(workflow, tier1):
    limited_since(workflow, 20)
    batch = []
    for ago in [*BASELINE, *RECENT]:
        for ms in (90, 120, 150, 180, 240, 280):
            batch += events(
                "invocation", 5, user_ref=MEMBER, at=at_noon(days_ago(ago)), latency_ms=ms
            )
    ingest(workflow, batch)
    drift_evaluate_workflow(workflow=workflow)
    assert drift(workflow, "p95_latency_ms").status == "stable"


def test_shadow_checks_agreement_and_errors_not_overrides(workflow, tier1):
    make_plan(workflow, current="shadow", days_running=20)
    rows = drift_evaluate_workflow(workflow=workflow)
    assert sorted(r.metric for r in rows) == [
        "error_rate",
        "p95_latency_ms",
        "shadow_agreement_rate",
    ]


def test_until_a_full_window_follows_the_baseline_there_is_no_verdict(workflow, tier1):
    phase = limited_since(workflow, 10)
    ingest(workflow, per_day(range(9, -1, -1), overridden=5, accepted=95))
    drift_evaluate_workflow(workflow=workflow)
    until = baseline_window(phase)[1]
    for row in CohortDrift.objects.filter(workflow=workflow):
        assert row.status == "insufficient_data"
        assert row.explanation == (
            f"The baseline window runs until {until.day} {until:%b}; drift is measured once a "
            "full window has followed it."
        )


# --- Rule 9: the AI changed mid-phase, the baseline restarts -----------------------------------


def test_editing_the_model_mid_phase_restarts_the_baseline(workflow, tier1, ops_leader):
    phase = limited_since(workflow, 20)
    ingest(workflow, per_day(BASELINE, overridden=5, accepted=95))
    ingest(workflow, per_day(RECENT, overridden=15, accepted=85))
    before = timezone.now()
    workflow_update(workflow=workflow, actor=ops_leader, model_version="2026-12")
    phase.refresh_from_db()
    assert phase.baseline_start >= before
    entry = ActivityEntry.objects.get(workflow=workflow, verb="restarted the baseline of")
    assert (entry.actor, entry.target) == (ops_leader, "Limited roll-out")
    # The old model's numbers are no baseline for the new one: no verdict until a new window.
    drift_evaluate_workflow(workflow=workflow)
    override = drift(workflow, "override_rate")
    assert override.status == "insufficient_data"
    new_start = timezone.localdate(phase.baseline_start) + timedelta(days=1)
    assert (override.baseline_start, override.baseline_end) == (
        new_start,
        new_start + timedelta(days=6),
    )


def test_a_restarted_baseline_is_measured_from_the_restart(workflow, tier1):
    phase = limited_since(workflow, 40)
    # The old model was bad from the start: against its own baseline, nothing would drift.
    ingest(workflow, per_day(range(39, 32, -1), overridden=15, accepted=85))
    ingest(workflow, per_day(range(19, 12, -1), overridden=5, accepted=95))  # the new model
    ingest(workflow, per_day(RECENT, overridden=15, accepted=85))
    Phase.objects.filter(pk=phase.pk).update(baseline_start=timezone.now() - timedelta(days=20))
    drift_evaluate_workflow(workflow=workflow)
    override = drift(workflow, "override_rate")
    assert override.status == "degrading"
    assert (override.baseline_start, override.baseline_value) == (days_ago(19), 0.05)


def test_editing_other_fields_keeps_the_baseline(workflow, tier1, ops_leader):
    phase = limited_since(workflow, 20)
    workflow_update(workflow=workflow, actor=ops_leader, name="Reply drafting")
    phase.refresh_from_db()
    assert phase.baseline_start is None


def test_a_model_change_with_no_phase_in_progress_restarts_nothing(workflow, ops_leader):
    workflow_update(workflow=workflow, actor=ops_leader, model_name="gpt-6")
    assert not ActivityEntry.objects.filter(verb="restarted the baseline of").exists()


# --- Rows kept current -------------------------------------------------------------------------


def test_rows_are_replaced_not_added(workflow, tier1):
    limited_since(workflow, 20)
    drift_evaluate_workflow(workflow=workflow)
    first = set(CohortDrift.objects.values_list("pk", flat=True))
    drift_evaluate_workflow(workflow=workflow)
    assert set(CohortDrift.objects.values_list("pk", flat=True)) == first


def test_a_deleted_cohort_leaves_no_rows(workflow, tier1):
    limited_since(workflow, 20)
    drift_evaluate_workflow(workflow=workflow)
    tier1.delete()
    assert drift_evaluate_workflow(workflow=workflow) == []
    assert not CohortDrift.objects.filter(workflow=workflow).exists()


def test_no_phase_in_progress_or_audit_means_no_drift(workflow, tier1):
    assert drift_evaluate_workflow(workflow=workflow) == []
    phases = make_plan(workflow, current="limited", days_running=20)
    drift_evaluate_workflow(workflow=workflow)
    assert CohortDrift.objects.exists()
    Phase.objects.filter(pk=phases["limited"].pk).update(status="planned")
    Phase.objects.filter(pk=phases["audit"].pk).update(status="active")
    assert drift_evaluate_workflow(workflow=workflow) == []
    assert not CohortDrift.objects.filter(workflow=workflow).exists()


def test_drift_for_every_workflow_in_progress(workflow, tier1, ops_leader):
    make_workflow(actor=ops_leader)  # no plan
    limited_since(workflow, 20)
    assert drift_evaluate_all() == 1
    # Four quality checks, adoption, negative feedback and invocations per active person.
    assert CohortDrift.objects.filter(workflow=workflow).count() == 7
