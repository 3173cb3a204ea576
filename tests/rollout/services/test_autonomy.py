"""The autonomy ladder: moving up is immediate and recorded; moving down is a request gated like a
promotion (override + edit rate and the shadow phase's final agreement verdict for every → sample;
the reviewed error rate for sample → none), approved by ops leaders against one exact gate."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from rollout.gates.autonomy import (
    KEY_OVERRIDE_EDIT,
    KEY_REVIEWED,
    KEY_SHADOW,
    autonomy_gate,
)
from rollout.models import (
    ActivityEntry,
    AutonomyRequest,
    AutonomyStatus,
    Cohort,
    Metric,
    Notification,
    Phase,
    ReviewLevel,
    Threshold,
    ThresholdEvaluation,
    ThresholdStatus,
    Verdict,
)
from rollout.services import autonomy as svc
from rollout.services.evaluation import usage_refresh_pending
from rollout.services.usage_ingest import EventData, usage_events_store
from tests.factories import ops_leader_user
from tests.rollout.output_review_fixtures import make_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def every_cohort(sampled_cohort: Cohort) -> Cohort:
    Cohort.objects.filter(pk=sampled_cohort.pk).update(review_level=ReviewLevel.EVERY)
    return Cohort.objects.get(pk=sampled_cohort.pk)


def decisions(workflow, *, accepted: int, edited: int = 0, overridden: int = 0) -> None:
    """Decisions of the cohort's member an hour ago, rolled up."""
    at = timezone.now() - timedelta(hours=1)
    kinds = ["accepted"] * accepted + ["edited"] * edited + ["overridden"] * overridden
    events = [EventData(uuid.uuid4(), "mia.member@example.com", kind, at) for kind in kinds]
    usage_events_store(workflow=workflow, events=events)
    usage_refresh_pending()


def shadow_verdict(workflow, verdict: str | None) -> None:
    """Shadow mode ended 20 days ago; its agreement threshold's last verdict then."""
    ended = timezone.now() - timedelta(days=20)
    Phase.objects.filter(workflow=workflow, kind="shadow").update(actual_end=ended)
    threshold = Threshold.objects.create(
        workflow=workflow,
        metric=Metric.SHADOW_AGREEMENT_RATE,
        comparator="gte",
        limit=0.9,
        bad_output="A draft the agent would not send.",
        action="block_promotion",
    )
    if verdict is not None:
        ThresholdEvaluation.objects.create(
            threshold=threshold,
            scope_key="",
            verdict=verdict,
            reason="93.0% over 400 cases: at least 90.0%.",
            window_start=ended - timedelta(days=7),
            window_end=ended,
            evaluated_at=ended - timedelta(hours=1),
        )
        # A later evaluation (after shadow ended) does not count as its final verdict.
        ThresholdEvaluation.objects.create(
            threshold=threshold,
            scope_key="",
            verdict=Verdict.FAIL,
            reason="Later.",
            window_start=ended,
            window_end=ended + timedelta(days=1),
            evaluated_at=ended + timedelta(days=1),
        )


def reviewed_threshold(workflow, cohort, verdict: str) -> Threshold:
    threshold = Threshold.objects.create(
        workflow=workflow,
        metric=Metric.REVIEWED_ERROR_RATE,
        comparator="lte",
        limit=0.05,
        min_sample=50,
        scope="per_cohort",
        bad_output="A reply a reviewer grades wrong or harmful.",
        action="block_promotion",
    )
    now = timezone.now()
    ThresholdStatus.objects.create(
        threshold=threshold,
        cohort=cohort,
        scope_key=str(cohort.pk),
        verdict=verdict,
        sample=80,
        reason="2.5% over 80 cases: at most 5.0%.",
        window_start=now - timedelta(days=7),
        window_end=now,
        evaluated_at=now,
    )
    return threshold


# --- Up the ladder -----------------------------------------------------------------------------


def test_more_review_is_immediate_and_recorded(sampled_cohort, workflow_owner):
    assert (
        svc.autonomy_change(
            cohort=sampled_cohort, actor=workflow_owner, to_level="every", note="A bad week."
        )
        is None
    )
    sampled_cohort.refresh_from_db()
    assert sampled_cohort.review_level == ReviewLevel.EVERY
    entry = ActivityEntry.objects.get(verb="raised the review level")
    assert entry.changes == {
        "Review level": ["A sample reviewed after the fact (10%)", "Every output reviewed"]
    }
    assert entry.note == "A bad week."
    # A higher sample rate is more review too: immediate.
    svc.autonomy_change(
        cohort=sampled_cohort, actor=workflow_owner, to_level="sample", sample_rate=10
    )
    # (every → sample is down: that was a request)
    assert AutonomyRequest.objects.filter(status="pending").count() == 1


def test_a_higher_sample_rate_is_immediate(sampled_cohort, workflow_owner):
    assert (
        svc.autonomy_change(
            cohort=sampled_cohort, actor=workflow_owner, to_level="sample", sample_rate=25
        )
        is None
    )
    sampled_cohort.refresh_from_db()
    assert sampled_cohort.review_sample_rate == 25


def test_more_review_cancels_a_pending_request_for_less(every_cohort, workflow_owner):
    request = svc.autonomy_change(
        cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=10
    )
    Cohort.objects.filter(pk=every_cohort.pk).update(review_level=ReviewLevel.SAMPLE)
    svc.autonomy_change(cohort=every_cohort, actor=workflow_owner, to_level="every")
    request.refresh_from_db()
    assert request.status == AutonomyStatus.CANCELLED


# --- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to_level", "rate", "message"),
    [
        ("all", None, svc.MSG_BAD_LEVEL),
        ("sample", 0, svc.MSG_BAD_RATE),
        ("sample", 51, svc.MSG_BAD_RATE),
        ("sample", None, svc.MSG_BAD_RATE),
        ("sample", True, svc.MSG_BAD_RATE),
        ("every", None, svc.MSG_UNCHANGED.format(name="Tier 1")),
        ("none", None, svc.MSG_ONE_RUNG),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(
    every_cohort, workflow_owner, to_level, rate, message
):
    with pytest.raises(ApplicationError) as refused:
        svc.autonomy_change(
            cohort=every_cohort, actor=workflow_owner, to_level=to_level, sample_rate=rate
        )
    assert refused.value.message == message
    assert Cohort.objects.get(pk=every_cohort.pk).review_level == ReviewLevel.EVERY
    assert not AutonomyRequest.objects.exists()


def test_only_the_owner_or_an_ops_leader_changes_it(every_cohort, executive):
    member = every_cohort.members.get()
    for person in (member, executive):
        with pytest.raises(ApplicationError, match="Only the workflow's owner"):
            svc.autonomy_change(cohort=every_cohort, actor=person, to_level="sample", sample_rate=5)


def test_an_unenrolled_cohort_cannot_go_down(every_cohort, workflow_owner):
    Cohort.objects.filter(pk=every_cohort.pk).update(enrolled_phase="")
    with pytest.raises(ApplicationError, match="not enrolled"):
        svc.autonomy_change(
            cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=5
        )


# --- every → sample ----------------------------------------------------------------------------


def test_every_to_sample_is_blocked_while_the_shadow_verdict_is_missing(
    workflow, every_cohort, workflow_owner, ops_leader
):
    decisions(workflow, accepted=190, edited=6, overridden=4)  # 5% of 200
    shadow_verdict(workflow, None)
    request = svc.autonomy_change(
        cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=10
    )
    statuses = {item["key"]: item["status"] for item in request.gate_snapshot}
    assert statuses == {KEY_OVERRIDE_EDIT: "pass", KEY_SHADOW: "insufficient_data"}
    with pytest.raises(ApplicationError) as refused:
        svc.autonomy_approve(request=request, actor=ops_leader)
    assert refused.value.message == svc.MSG_GATE_FAILING.format(
        blocking="Shadow phase's final agreement verdict"
    )
    assert Cohort.objects.get(pk=every_cohort.pk).review_level == ReviewLevel.EVERY


def test_every_to_sample_is_blocked_when_the_override_and_edit_rate_fails(
    workflow, every_cohort, workflow_owner, ops_leader
):
    Threshold.objects.create(
        workflow=workflow,
        metric=Metric.OVERRIDE_RATE,
        comparator="lte",
        limit=0.05,
        window_days=7,
        min_sample=100,
        bad_output="An agent rewrites the draft.",
        action="alert",
    )
    # 3% overridden alone would pass; overridden + edited is 9%.
    decisions(workflow, accepted=182, edited=12, overridden=6)
    shadow_verdict(workflow, Verdict.PASS)
    gate = autonomy_gate(every_cohort, to_level="sample")
    check = {c.key: c for c in gate.checks}[KEY_OVERRIDE_EDIT]
    assert check.status == Verdict.FAIL
    assert check.reason == (
        "9% of 200 decisions overridden or edited in the last 7 days; the workflow's "
        "override-rate threshold: at most 5%."
    )


def test_without_an_override_threshold_the_default_limit_applies(workflow, every_cohort):
    decisions(workflow, accepted=50)
    gate = autonomy_gate(every_cohort, to_level="sample")
    check = {c.key: c for c in gate.checks}[KEY_OVERRIDE_EDIT]
    assert check.status == Verdict.INSUFFICIENT_DATA
    assert "50 of the 200 decisions needed in the last 14 days" in check.reason
    assert "the default limit" in check.reason


def test_every_to_sample_runs_after_approval_when_the_gate_passes(
    workflow, every_cohort, workflow_owner, ops_leader
):
    decisions(workflow, accepted=190, edited=6, overridden=4)
    shadow_verdict(workflow, Verdict.PASS)
    request = svc.autonomy_change(
        cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=10, note="Ready."
    )
    assert request.status == AutonomyStatus.PENDING
    assert Notification.objects.filter(recipient=ops_leader).exists()  # asked
    with pytest.raises(ApplicationError, match="Only ops leaders"):
        svc.autonomy_approve(request=request, actor=workflow_owner)
    done = svc.autonomy_approve(request=request, actor=ops_leader)
    assert done.status == AutonomyStatus.EXECUTED
    cohort = Cohort.objects.get(pk=every_cohort.pk)
    assert (cohort.review_level, cohort.review_sample_rate) == ("sample", 10)
    assert ActivityEntry.objects.filter(verb="lowered the review level").exists()
    told = Notification.objects.get(recipient=workflow_owner, title__startswith="Review-level")
    assert told.title == "Review-level change approved: " + f"{workflow.name}, Tier 1"


def test_the_plan_sets_how_many_approvals(workflow, every_cohort, workflow_owner, ops_leader):
    workflow.required_approvals = 2
    workflow.save(update_fields=["required_approvals"])
    decisions(workflow, accepted=200)
    shadow_verdict(workflow, Verdict.PASS)
    request = svc.autonomy_change(
        cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=10
    )
    assert svc.autonomy_approve(request=request, actor=ops_leader).status == "pending"
    with pytest.raises(ApplicationError, match="already approved"):
        svc.autonomy_approve(request=request, actor=ops_leader)
    assert svc.autonomy_approve(request=request, actor=ops_leader_user()).status == "executed"


def test_a_request_lapses_when_its_gate_changes(workflow, every_cohort, workflow_owner, ops_leader):
    decisions(workflow, accepted=200)
    shadow_verdict(workflow, Verdict.PASS)
    request = svc.autonomy_change(
        cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=10
    )
    decisions(workflow, overridden=60, accepted=0)  # 60 of 260 overridden: the verdict turns
    with pytest.raises(svc.AutonomyLapsed):
        svc.autonomy_approve(request=request, actor=ops_leader)
    request.refresh_from_db()
    assert request.status == AutonomyStatus.LAPSED
    assert "Override + edit rate" in request.outcome
    assert Notification.objects.filter(
        recipient=workflow_owner, title__startswith="Review-level change lapsed"
    ).exists()
    assert Cohort.objects.get(pk=every_cohort.pk).review_level == ReviewLevel.EVERY


def test_an_ops_leader_may_override_a_failing_gate_with_a_reason(
    workflow, every_cohort, workflow_owner, ops_leader
):
    request = svc.autonomy_change(
        cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=5
    )
    with pytest.raises(ApplicationError, match="Write why"):
        svc.autonomy_override(request=request, actor=ops_leader, reason="  ")
    done = svc.autonomy_override(request=request, actor=ops_leader, reason="Pilot team of 3.")
    assert done.status == "executed" and done.override_reason == "Pilot team of 3."
    assert Cohort.objects.get(pk=every_cohort.pk).review_level == ReviewLevel.SAMPLE


def test_nobody_approves_their_own_request(every_cohort, ops_leader):
    request = svc.autonomy_change(
        cohort=every_cohort, actor=ops_leader, to_level="sample", sample_rate=5
    )
    with pytest.raises(ApplicationError) as refused:
        svc.autonomy_override(request=request, actor=ops_leader, reason="Mine.")
    assert refused.value.message == svc.MSG_OWN_REQUEST


def test_reject_and_cancel(every_cohort, workflow_owner, ops_leader, executive):
    request = svc.autonomy_change(
        cohort=every_cohort, actor=workflow_owner, to_level="sample", sample_rate=5
    )
    with pytest.raises(ApplicationError, match="Only ops leaders"):
        svc.autonomy_reject(request=request, actor=executive)
    svc.autonomy_reject(request=request, actor=ops_leader, note="Not yet.")
    request.refresh_from_db()
    assert (request.status, request.outcome) == ("rejected", "Not yet.")
    with pytest.raises(ApplicationError, match="no longer waiting"):
        svc.autonomy_cancel(request=request, actor=workflow_owner)


# --- sample → none -----------------------------------------------------------------------------


def test_sample_to_none_needs_a_reviewed_error_rate_threshold(sampled_cohort, workflow_owner):
    request = svc.autonomy_change(cohort=sampled_cohort, actor=workflow_owner, to_level="none")
    [check] = request.gate_snapshot
    assert (check["key"], check["status"]) == (KEY_REVIEWED, "fail")
    assert "No reviewed error rate threshold" in check["reason"]


@pytest.mark.parametrize(
    ("verdict", "passes"), [("pass", True), ("fail", False), ("marginal", False)]
)
def test_sample_to_none_follows_the_reviewed_error_rate_verdict(
    workflow, sampled_cohort, workflow_owner, ops_leader, verdict, passes
):
    reviewed_threshold(workflow, sampled_cohort, verdict)
    request = svc.autonomy_change(cohort=sampled_cohort, actor=workflow_owner, to_level="none")
    if passes:
        svc.autonomy_approve(request=request, actor=ops_leader)
        assert Cohort.objects.get(pk=sampled_cohort.pk).review_level == ReviewLevel.NONE
    else:
        with pytest.raises(ApplicationError, match="Reviewed error rate"):
            svc.autonomy_approve(request=request, actor=ops_leader)


def test_a_lower_sample_rate_is_gated_like_sample_to_none(workflow, sampled_cohort, workflow_owner):
    make_review(workflow, sampled_cohort, grade="correct")
    request = svc.autonomy_change(
        cohort=sampled_cohort, actor=workflow_owner, to_level="sample", sample_rate=5
    )
    assert request is not None
    assert [item["key"] for item in request.gate_snapshot] == [KEY_REVIEWED]
    assert request.label == "A sample reviewed after the fact → 5% sampled after the fact"
