from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from rollout.gates import gate_for
from rollout.models import (
    DataSource,
    EscalationLevel,
    ReadinessAnswer,
    Threshold,
    Verdict,
    Workflow,
)
from tests.factories import UserFactory
from tests.rollout.promotion_fixtures import (
    make_cohort,
    make_limited_ready,
    make_plan,
    make_shadow_ready,
)


def checks(workflow: Workflow, from_kind: str, to_kind: str, now=None) -> dict:
    phases = {p.kind: p for p in workflow.phases.all()}
    gate = gate_for(from_phase=phases[from_kind], to_phase=phases[to_kind], now=now)
    return {c.key: c for c in gate.checks}


@pytest.fixture
def member(db) -> User:
    return UserFactory(display_name="Mia Member")


# --- into shadow ---------------------------------------------------------------------------------


def test_shadow_gate_passes_when_ready(workflow, ops_leader):
    make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    result = checks(workflow, "audit", "shadow")
    assert set(result) >= {"sources_documented", "no_unmapped_exports", "escalation_path"}
    assert all(c.status == Verdict.PASS for c in result.values())
    assert result["sources_documented"].reason == "All 1 data sources are documented."


def test_sources_documented_fails_without_sources(workflow):
    make_plan(workflow, current="audit")
    check = checks(workflow, "audit", "shadow")["sources_documented"]
    assert (check.status, check.reason) == (Verdict.FAIL, "No data source is listed yet.")


def test_sources_documented_names_undocumented(workflow, ops_leader):
    make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    DataSource.objects.create(workflow=workflow, name="CRM export", kind="live")
    check = checks(workflow, "audit", "shadow")["sources_documented"]
    assert check.status == Verdict.FAIL
    assert check.reason == ("Freshness, validation or last verification missing for “CRM export”.")


def test_no_unmapped_exports(workflow, ops_leader):
    make_plan(workflow, current="audit")
    source = DataSource.objects.create(workflow=workflow, name="Orders CSV", kind="static_export")
    check = checks(workflow, "audit", "shadow")["no_unmapped_exports"]
    assert check.status == Verdict.FAIL
    assert check.reason == "Static exports without a live equivalent: “Orders CSV”."
    source.live_equivalent = "Orders API"
    source.save()
    assert checks(workflow, "audit", "shadow")["no_unmapped_exports"].status == Verdict.PASS


def test_escalation_path(workflow, ops_leader):
    make_plan(workflow, current="audit")
    check = checks(workflow, "audit", "shadow")["escalation_path"]
    assert (check.status, check.reason) == (Verdict.FAIL, "No escalation level is defined yet.")
    EscalationLevel.objects.create(
        workflow=workflow,
        position=1,
        contact=ops_leader,
        channel="email",
        response_target_minutes=5,
    )
    check = checks(workflow, "audit", "shadow")["escalation_path"]
    assert (check.status, check.reason) == (Verdict.PASS, "1 escalation level.")


# --- into limited --------------------------------------------------------------------------------


def test_limited_gate_passes_when_ready(workflow, ops_leader, member):
    make_plan(workflow, current="shadow", days_running=20, min_days=14)
    make_limited_ready(workflow, ops_leader, member)
    result = checks(workflow, "shadow", "limited")
    assert set(result) >= {"min_duration", "thresholds_defined", "readiness_all_yes"}
    assert all(result[k].status == Verdict.PASS for k in result), result


def test_min_duration_fails_with_days_and_earliest_date(workflow):
    phases = make_plan(workflow, current="shadow", days_running=9, min_days=14)
    now = phases["shadow"].actual_start + timedelta(days=9, hours=1)
    check = checks(workflow, "shadow", "limited", now=now)["min_duration"]
    earliest = timezone.localdate(phases["shadow"].actual_start + timedelta(days=14)).isoformat()
    assert check.status == Verdict.FAIL
    assert check.reason == f"Shadow has run 9 of 14 days; earliest promotion {earliest}."


def test_min_duration_inputs_ignore_the_clock(workflow):
    phases = make_plan(workflow, current="shadow", days_running=9, min_days=14)
    start = phases["shadow"].actual_start
    early = checks(workflow, "shadow", "limited", now=start + timedelta(days=9))["min_duration"]
    late = checks(workflow, "shadow", "limited", now=start + timedelta(days=15))["min_duration"]
    assert (early.status, late.status) == (Verdict.FAIL, Verdict.PASS)
    assert early.inputs == late.inputs


def test_thresholds_defined_needs_a_quality_metric(workflow):
    make_plan(workflow, current="shadow")
    Threshold.objects.create(
        workflow=workflow,
        metric="p95_latency_ms",
        comparator="lte",
        limit=800,
        bad_output="slow",
        action="alert",
    )
    check = checks(workflow, "shadow", "limited")["thresholds_defined"]
    assert check.status == Verdict.FAIL
    assert check.reason == "No threshold on error, override or acceptance rate is defined yet."


def test_readiness_names_answers_that_are_not_yes(workflow, ops_leader, member):
    make_plan(workflow, current="shadow")
    make_limited_ready(workflow, ops_leader, member)
    ReadinessAnswer.objects.create(
        workflow=workflow, question="logging", answer="partly", answered_by=ops_leader
    )
    check = checks(workflow, "shadow", "limited")["readiness_all_yes"]
    assert check.status == Verdict.FAIL
    assert check.reason == "Not yet “yes”: Is logging in place? (partly)"
    ReadinessAnswer.objects.create(
        workflow=workflow, question="logging", answer="yes", answered_by=ops_leader
    )
    assert checks(workflow, "shadow", "limited")["readiness_all_yes"].status == Verdict.PASS


def test_readiness_unanswered(workflow):
    make_plan(workflow, current="shadow")
    check = checks(workflow, "shadow", "limited")["readiness_all_yes"]
    assert check.status == Verdict.FAIL
    assert "Is there a named owner? (not answered)" in check.reason


def test_cohort_enrolled(workflow, member):
    make_plan(workflow, current="shadow")
    check = checks(workflow, "shadow", "limited")["cohort_enrolled"]
    assert check.reason == "No cohort is enrolled at the limited roll-out."
    make_cohort(workflow, "limited", None)
    check = checks(workflow, "shadow", "limited")["cohort_enrolled"]
    assert check.status == Verdict.FAIL
    assert check.reason == "The cohorts enrolled at the limited roll-out have no members."
    make_cohort(workflow, "broad", member)  # a broad cohort does not count for limited
    assert checks(workflow, "shadow", "limited")["cohort_enrolled"].status == Verdict.FAIL


# --- into broad and steady -----------------------------------------------------------------------


def test_broad_gate(workflow, member):
    make_plan(workflow, current="limited", days_running=30, min_days=14)
    result = checks(workflow, "limited", "broad")
    assert result["min_duration"].status == Verdict.PASS
    assert result["review_cadence"].reason == "No review cadence is set."
    assert result["cohort_enrolled_broad"].status == Verdict.FAIL
    Workflow.objects.filter(pk=workflow.pk).update(review_cadence_days=90)
    make_cohort(workflow, "broad", member)
    workflow.refresh_from_db()
    result = checks(workflow, "limited", "broad")
    assert result["review_cadence"].reason == "Reviewed every 90 days."
    assert result["cohort_enrolled_broad"].reason == "Enrolled with members: “Broad pilots”."


def test_steady_gate_needs_a_future_review(workflow):
    make_plan(workflow, current="broad", days_running=30)
    check = checks(workflow, "broad", "steady")["first_review_scheduled"]
    assert (check.status, check.reason) == (Verdict.FAIL, "No first review is scheduled.")
    Workflow.objects.filter(pk=workflow.pk).update(next_review_due=date(2020, 1, 1))
    workflow.refresh_from_db()
    check = checks(workflow, "broad", "steady")["first_review_scheduled"]
    assert check.reason == "The review date 2020-01-01 is not in the future."
    due = timezone.localdate() + timedelta(days=30)
    Workflow.objects.filter(pk=workflow.pk).update(next_review_due=due)
    workflow.refresh_from_db()
    check = checks(workflow, "broad", "steady")["first_review_scheduled"]
    assert (check.status, check.reason) == (Verdict.PASS, f"First review due {due.isoformat()}.")
