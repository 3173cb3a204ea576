"""The metric conditions of the promotion gates: thresholds met, shadow run with usage events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rollout.gates import Gate, gate_for, registered_conditions
from rollout.models import Cohort, CohortMember, Phase, Verdict, Workflow
from rollout.services.evaluation import thresholds_evaluate_workflow
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import make_plan
from tests.rollout.usage_events_data import (
    at_noon,
    days_ago,
    errors_out_of,
    event,
    events,
    ingest,
    make_threshold,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def gate(workflow: Workflow, from_kind: str = "shadow", to_kind: str = "limited") -> Gate:
    phases = {p.kind: p for p in Phase.objects.filter(workflow=workflow)}
    for phase in phases.values():
        phase.workflow = workflow
    return gate_for(from_phase=phases[from_kind], to_phase=phases[to_kind], now=NOW)


def check(workflow: Workflow, key: str, from_kind: str = "shadow", to_kind: str = "limited"):
    return next(c for c in gate(workflow, from_kind, to_kind).checks if c.key == key)


@pytest.fixture
def shadow(workflow: Workflow) -> dict[str, Phase]:
    return make_plan(workflow, current="shadow", days_running=20)


def test_registered_for_the_promotions_they_gate():
    assert ("thresholds_met", "Quality thresholds met") in registered_conditions("limited")
    assert ("thresholds_met", "Quality thresholds met") in registered_conditions("broad")
    assert ("thresholds_met", "Quality thresholds met") in registered_conditions("steady")
    assert ("shadow_usage", "Shadow run with usage events") in registered_conditions("limited")
    assert "shadow_usage" not in dict(registered_conditions("broad"))


# --- thresholds_met ----------------------------------------------------------------------------


def test_no_threshold_fails(workflow, shadow):
    result = check(workflow, "thresholds_met")
    assert (result.status, result.reason) == (Verdict.FAIL, "No quality threshold is defined.")


def test_passes_when_every_threshold_passes(workflow, shadow):
    make_threshold(workflow, action="block_promotion")
    make_threshold(workflow, metric="p95_latency_ms", limit=1000, min_sample=50)
    ingest(workflow, errors_out_of(1, 100, latency_ms=200))
    result = check(workflow, "thresholds_met")
    assert result.status == Verdict.PASS
    assert result.reason == "All 2 thresholds pass over their windows."


def test_fails_with_the_reason_of_a_blocking_threshold(workflow, shadow):
    make_threshold(workflow, action="pause_rollout")
    ingest(workflow, errors_out_of(9, 100))
    result = check(workflow, "thresholds_met")
    assert result.status == Verdict.FAIL
    assert result.reason == "Failing: Error rate: 9% over 100 cases: should be at most 5%."


def test_marginal_needs_a_person(workflow, shadow):
    make_threshold(workflow, action="block_promotion", marginal_limit=0.1)
    ingest(workflow, errors_out_of(9, 100))
    result = check(workflow, "thresholds_met")
    assert result.status == Verdict.MARGINAL
    assert result.reason == (
        "Marginal, a person must decide: Error rate: 9% over 100 cases: past 5%, inside the "
        "marginal band to 10%."
    )


def test_insufficient_data_is_never_a_pass(workflow, shadow):
    make_threshold(workflow, action="block_promotion")
    ingest(workflow, errors_out_of(0, 40))
    result = check(workflow, "thresholds_met")
    assert result.status == Verdict.INSUFFICIENT_DATA
    assert result.reason == (
        "Not enough data: Error rate: 40 of the 100 cases needed in the last 7 days."
    )


def test_a_threshold_not_evaluated_yet_is_not_enough_data(workflow, shadow):
    make_threshold(workflow, action="block_promotion")
    result = check(workflow, "thresholds_met")
    assert result.status == Verdict.INSUFFICIENT_DATA
    assert result.reason == "Not enough data: Error rate: not evaluated yet"


def test_a_failing_alert_does_not_block(workflow, shadow):
    make_threshold(workflow, action="alert")
    ingest(workflow, errors_out_of(9, 100))
    result = check(workflow, "thresholds_met")
    assert result.status == Verdict.PASS
    assert result.reason == (
        "All 1 thresholds pass over their windows. Alert-only thresholds failing (they do not "
        "block): Error rate: 9% over 100 cases: should be at most 5%."
    )


def test_a_failing_blocker_beats_insufficient_data_elsewhere(workflow, shadow):
    make_threshold(workflow, action="block_promotion")
    make_threshold(workflow, metric="negative_feedback_share", action="block_promotion")
    ingest(workflow, errors_out_of(9, 100))
    assert check(workflow, "thresholds_met").status == Verdict.FAIL


def test_per_cohort_names_the_cohort(workflow):
    make_plan(workflow, current="limited", days_running=20)
    cohort = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    member = UserFactory(email="mia@example.com")
    CohortMember.objects.create(cohort=cohort, user=member)
    make_threshold(workflow, action="block_promotion", scope="per_cohort")
    ingest(workflow, errors_out_of(9, 100, user_ref="mia@example.com"))
    result = check(workflow, "thresholds_met", "limited", "broad")
    assert result.status == Verdict.FAIL
    assert result.reason == (
        "Failing: Error rate (“Tier 1”): 9% over 100 cases: should be at most 5%."
    )


def test_the_gate_changes_its_fingerprint_when_a_verdict_changes_not_with_more_events(
    workflow, shadow
):
    make_threshold(workflow, action="block_promotion")
    ingest(workflow, errors_out_of(1, 100))
    passing = gate(workflow).fingerprint
    ingest(workflow, errors_out_of(0, 100))  # more passing events, new observed value
    thresholds_evaluate_workflow(workflow=workflow, now=NOW + timedelta(hours=2))
    assert gate(workflow).fingerprint == passing
    ingest(workflow, errors_out_of(100, 0))  # now failing
    failing = gate(workflow).fingerprint
    assert failing != passing
    ingest(workflow, errors_out_of(0, 3000))  # passing again: the same inputs as before
    assert gate(workflow).fingerprint == passing


# --- shadow_usage ------------------------------------------------------------------------------


def test_shadow_without_events_fails(workflow, shadow):
    result = check(workflow, "shadow_usage")
    assert result.status == Verdict.FAIL
    assert result.reason == (
        "No usage events received since shadow mode began: is the integration reporting?"
    )
    assert result.inputs == ""


def test_shadow_with_events_passes(workflow, shadow):
    ingest(workflow, events("invocation", 3, at=at_noon(days_ago(2))))
    ingest(workflow, events("agreed", 2, at=at_noon(days_ago(1))))
    ingest(workflow, events("disagreed", 1, at=at_noon(days_ago(1))))
    result = check(workflow, "shadow_usage")
    assert result.status == Verdict.PASS
    assert result.reason == "3 invocations and 3 shadow comparisons over 2 days."
    assert result.inputs == "received"


def test_shadow_days_are_days_not_rows_per_cohort(workflow, shadow):
    for name in ("Tier 1", "Tier 2"):
        cohort = Cohort.objects.create(workflow=workflow, name=name)
        user = UserFactory(email=f"{name[-1]}@example.com")
        CohortMember.objects.create(cohort=cohort, user=user)
    at = at_noon(days_ago(1))
    ingest(workflow, [event(user_ref=ref, at=at) for ref in ("1@example.com", "2@example.com")])
    ingest(workflow, [event(user_ref="outsider@example.com", at=at)])
    result = check(workflow, "shadow_usage")
    assert result.reason == "3 invocations and 0 shadow comparisons over 1 day."


def test_events_before_shadow_began_do_not_count(workflow, shadow):
    ingest(workflow, events("invocation", 5, at=at_noon(days_ago(25))))
    assert check(workflow, "shadow_usage").status == Verdict.FAIL


def test_shadow_not_started(workflow, shadow):
    Phase.objects.filter(pk=shadow["shadow"].pk).update(actual_start=None)
    result = check(workflow, "shadow_usage")
    assert (result.status, result.reason) == (
        Verdict.INSUFFICIENT_DATA,
        "Shadow mode has not started yet.",
    )


def test_more_events_do_not_change_the_fingerprint(workflow, shadow):
    ingest(workflow, events("invocation", 3))
    before = gate(workflow).fingerprint
    ingest(workflow, events("invocation", 30))
    assert gate(workflow).fingerprint == before
