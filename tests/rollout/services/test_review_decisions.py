"""Review decisions, carried out by the services that own them, and retiring / reinstating."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.errors import ApplicationError
from rollout.api.events import MSG_RETIRED
from rollout.models import (
    ActivityEntry,
    ChangeNotice,
    Cohort,
    CohortMember,
    Escalation,
    EscalationStatus,
    NoticeStatus,
    PhaseStatus,
    PromotionRequest,
    PromotionStatus,
    ReviewDecision,
    UsageEvent,
    Workflow,
)
from rollout.selectors.decision import decide
from rollout.selectors.workflows import workflow_list_portfolio
from rollout.services import retirement
from rollout.services import reviews as svc
from rollout.services.escalations import escalation_open
from tests.factories import UserFactory
from tests.rollout.api.conftest import issue_token
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready


@pytest.fixture
def limited(workflow: Workflow, ops_leader) -> Workflow:
    make_plan(workflow, current="limited")
    make_shadow_ready(workflow, ops_leader)
    cohort = Cohort.objects.create(workflow=workflow, name="Tier 1", enrolled_phase="limited")
    CohortMember.objects.create(cohort=cohort, user=UserFactory(email="agent@example.com"))
    return workflow


@pytest.fixture
def review(limited, workflow_owner):
    return svc.review_start(workflow=limited, actor=workflow_owner)


def phases(workflow: Workflow) -> dict[str, str]:
    return dict(workflow.phases.values_list("kind", "status"))


def test_continue_and_hold_are_recorded_with_their_rationale(review, workflow_owner):
    svc.review_decide(
        review=review, actor=workflow_owner, kind="continue", rationale="All thresholds pass."
    )
    svc.review_decide(
        review=review, actor=workflow_owner, kind="hold", rationale="Wait for the Q1 data."
    )
    assert list(review.decisions.values_list("kind", "rationale")) == [
        ("continue", "All thresholds pass."),
        ("hold", "Wait for the Q1 data."),
    ]
    assert ActivityEntry.objects.filter(verb="decided in a review").count() == 2


def test_bad_input_changes_nothing(review, workflow_owner, other_user):
    for kind, rationale, message in [
        ("dance", "x", svc.MSG_BAD_DECISION),
        ("pause", "  ", svc.MSG_RATIONALE_REQUIRED),
    ]:
        with pytest.raises(ApplicationError) as exc:
            svc.review_decide(review=review, actor=workflow_owner, kind=kind, rationale=rationale)
        assert exc.value.message == message
    with pytest.raises(ApplicationError) as exc:
        svc.review_decide(review=review, actor=other_user, kind="continue", rationale="x")
    assert exc.value.message == svc.MSG_NOT_ALLOWED
    assert not ReviewDecision.objects.exists()
    assert phases(review.workflow)["limited"] == PhaseStatus.ACTIVE


def test_pause_and_roll_back_go_through_phase_control(review, workflow_owner):
    svc.review_decide(
        review=review, actor=workflow_owner, kind="pause", rationale="Override rate is rising."
    )
    assert phases(review.workflow)["limited"] == PhaseStatus.PAUSED
    svc.review_decide(
        review=review, actor=workflow_owner, kind="roll_back", rationale="Back to shadow."
    )
    assert phases(review.workflow)["limited"] == PhaseStatus.ROLLED_BACK
    assert phases(review.workflow)["shadow"] == PhaseStatus.ACTIVE
    assert {"paused", "rolled back"} <= set(ActivityEntry.objects.values_list("verb", flat=True))


def test_a_refused_decision_is_not_recorded(review, workflow_owner):
    svc.review_decide(review=review, actor=workflow_owner, kind="pause", rationale="Rising.")
    # A paused roll-out cannot be promoted: the promotion service says so, nothing is recorded.
    with pytest.raises(ApplicationError) as exc:
        svc.review_decide(review=review, actor=workflow_owner, kind="expand", rationale="Grow.")
    assert "paused" in exc.value.message
    assert list(review.decisions.values_list("kind", flat=True)) == ["pause"]


def test_expand_opens_a_promotion_request_on_the_usual_gate_path(review, workflow_owner):
    decision = svc.review_decide(
        review=review, actor=workflow_owner, kind="expand", rationale="Ready for everyone."
    )
    request = PromotionRequest.objects.get()
    assert decision.promotion_request == request
    assert (request.status, request.note) == (PromotionStatus.PENDING, "Ready for everyone.")
    # Not promoted by the review itself: approvals and the gate decide.
    assert phases(review.workflow)["broad"] == PhaseStatus.PLANNED


def test_retiring(review, workflow_owner, ops_leader):
    workflow = review.workflow
    token = issue_token(workflow, workflow_owner)
    scheduled = ChangeNotice.objects.create(
        workflow=workflow,
        kind="prompt_change",
        title="New prompt",
        body="x",
        status=NoticeStatus.SCHEDULED,
        publish_at=timezone.now() + timedelta(days=1),
        effective_at=timezone.now() + timedelta(days=7),
        created_by=workflow_owner,
    )
    escalation = escalation_open(workflow=workflow, title="Wrong refunds", source="manual")
    assert decide(workflow.slug, "agent@example.com").mode == "live"

    svc.review_decide(
        review=review, actor=workflow_owner, kind="retire", rationale="Replaced by the new bot."
    )

    workflow.refresh_from_db()
    assert workflow.is_retired and workflow.next_review_due is None
    assert decide(workflow.slug, "agent@example.com").mode == "off"
    scheduled.refresh_from_db()
    assert scheduled.status == NoticeStatus.CANCELLED
    assert ActivityEntry.objects.filter(
        verb="cancelled", note=retirement.MSG_CANCELLED_BY_RETIREMENT
    ).exists()
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.OPEN  # somebody still has to close it
    assert workflow not in workflow_list_portfolio(ops_leader)
    assert workflow in workflow_list_portfolio(ops_leader, retired=True)
    response = Client().post(
        "/api/v1/events",
        data={"events": [{"event_id": "6b1f2b7e-1d2c-4a55-9a1b-1c2d3e4f5a6b"}]},
        content_type="application/json",
        headers=token.headers,
    )
    assert response.status_code == 410
    assert response.json() == {"detail": MSG_RETIRED}
    assert not UsageEvent.objects.exists()
    assert Escalation.objects.count() == 1


def test_only_an_ops_leader_reinstates_and_it_restarts_at_audit(review, workflow_owner, ops_leader):
    workflow = review.workflow
    retirement.workflow_retire(workflow=workflow, actor=workflow_owner, reason="Done.")
    with pytest.raises(ApplicationError) as exc:
        retirement.workflow_reinstate(workflow=workflow, actor=workflow_owner)
    assert exc.value.message == retirement.MSG_REINSTATE_OPS_ONLY
    retirement.workflow_reinstate(workflow=workflow, actor=ops_leader, note="Needed again.")
    workflow.refresh_from_db()
    assert not workflow.is_retired
    assert phases(workflow) == {
        "audit": PhaseStatus.ACTIVE,
        "shadow": PhaseStatus.PLANNED,
        "limited": PhaseStatus.PLANNED,
        "broad": PhaseStatus.PLANNED,
        "steady": PhaseStatus.PLANNED,
    }
    assert decide(workflow.slug, "agent@example.com").mode == "off"
    with pytest.raises(ApplicationError) as exc:
        retirement.workflow_reinstate(workflow=workflow, actor=ops_leader)
    assert exc.value.message == retirement.MSG_NOT_RETIRED
