import pytest

from core.errors import ApplicationError
from rollout.models import ActivityEntry, PhaseStatus, PromotionStatus, Workflow
from rollout.services import phase_control as svc
from rollout.services.promotions import promotion_approve, promotion_request
from tests.rollout.promotion_fixtures import make_plan, make_shadow_ready


def statuses(workflow: Workflow) -> dict[str, str]:
    return dict(workflow.phases.values_list("kind", "status"))


def test_pause_and_resume(workflow, workflow_owner):
    make_plan(workflow, current="shadow")
    phase = svc.phase_pause(
        workflow=workflow, actor=workflow_owner, fallback_mode="off", reason="Bad replies"
    )
    assert (phase.status, phase.pause_reason) == (PhaseStatus.PAUSED, "Bad replies")
    workflow.refresh_from_db()
    assert workflow.fallback_mode == "off"
    with pytest.raises(ApplicationError) as exc:
        svc.phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="off", reason="x")
    assert exc.value.message == svc.MSG_ALREADY_PAUSED
    phase = svc.phase_resume(workflow=workflow, actor=workflow_owner)
    assert (phase.status, phase.paused_at) == (PhaseStatus.ACTIVE, None)
    with pytest.raises(ApplicationError) as exc:
        svc.phase_resume(workflow=workflow, actor=workflow_owner)
    assert exc.value.message == svc.MSG_NOT_PAUSED
    verbs = set(ActivityEntry.objects.values_list("verb", flat=True))
    assert {"paused", "resumed"} <= verbs


def test_pause_needs_reason_and_role(workflow, workflow_owner, other_user):
    make_plan(workflow, current="shadow")
    before = ActivityEntry.objects.count()
    with pytest.raises(ApplicationError) as exc:
        svc.phase_pause(workflow=workflow, actor=workflow_owner, fallback_mode="off", reason=" ")
    assert exc.value.message == svc.MSG_REASON_REQUIRED
    with pytest.raises(ApplicationError) as exc:
        svc.phase_pause(workflow=workflow, actor=other_user, fallback_mode="off", reason="x")
    assert exc.value.message == svc.MSG_NOT_ALLOWED
    assert statuses(workflow)["shadow"] == PhaseStatus.ACTIVE
    assert ActivityEntry.objects.count() == before


def test_rollback_cancels_open_requests_and_can_be_promoted_again(
    workflow, workflow_owner, ops_leader
):
    make_plan(workflow, current="audit")
    make_shadow_ready(workflow, ops_leader)
    promotion_approve(
        request=promotion_request(workflow=workflow, actor=workflow_owner), actor=ops_leader
    )
    pending = promotion_request(workflow=workflow, actor=workflow_owner)
    previous = svc.phase_rollback(workflow=workflow, actor=ops_leader, reason="Wrong answers")
    assert previous.kind == "audit"
    assert statuses(workflow) == {
        "audit": PhaseStatus.ACTIVE,
        "shadow": PhaseStatus.ROLLED_BACK,
        "limited": PhaseStatus.PLANNED,
        "broad": PhaseStatus.PLANNED,
        "steady": PhaseStatus.PLANNED,
    }
    pending.refresh_from_db()
    assert (pending.status, pending.outcome) == (
        PromotionStatus.CANCELLED,
        svc.MSG_CANCELLED_BY_ROLLBACK,
    )
    request = promotion_request(workflow=workflow, actor=workflow_owner)
    assert promotion_approve(request=request, actor=ops_leader).status == "executed"
    assert statuses(workflow)["shadow"] == PhaseStatus.ACTIVE


def test_rollback_of_first_phase_is_refused(workflow, workflow_owner):
    make_plan(workflow, current="audit")
    with pytest.raises(ApplicationError) as exc:
        svc.phase_rollback(workflow=workflow, actor=workflow_owner, reason="x")
    assert exc.value.message == svc.MSG_NOTHING_TO_ROLL_BACK_TO
    assert statuses(workflow)["audit"] == PhaseStatus.ACTIVE
