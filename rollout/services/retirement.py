"""Retiring a workflow (a review's decision) and reinstating it (ops leaders).

A retired workflow leaves the portfolio's active list, answers `off` to every decision, refuses
new usage events (the API answers 410), has its scheduled notices cancelled (each logged) and
no more review reminders. Open escalations stay open: somebody still has to close them.
Reinstating puts it back at the start of its plan, in `audit`.
"""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from rollout.models import (
    IN_PROGRESS,
    OPEN_PROMOTION,
    ChangeNotice,
    NoticeStatus,
    Phase,
    PhaseKind,
    PhaseStatus,
    PromotionRequest,
    PromotionStatus,
    Workflow,
)
from rollout.permissions import can_change_workflow
from rollout.services.activity import activity_record
from rollout.services.decision_cache import plan_changed
from rollout.services.follows import followers_notify_phase_change
from rollout.services.notices import notice_cancel

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can retire it."
MSG_ALREADY_RETIRED = "This workflow is already retired."
MSG_REASON_REQUIRED = "Write why the workflow is retired."
MSG_NOT_RETIRED = "This workflow is not retired."
MSG_REINSTATE_OPS_ONLY = "Only an ops leader can reinstate a retired workflow."
MSG_CANCELLED_BY_RETIREMENT = "Cancelled: the workflow was retired."
# Notices still to go out; drafts are left for the record.
PENDING_NOTICES = (NoticeStatus.SCHEDULED, NoticeStatus.AWAITING_APPROVAL)


@transaction.atomic
def workflow_retire(*, workflow: Workflow, actor: User, reason: str) -> Workflow:
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    if not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    if workflow.retired_at is not None:
        raise ApplicationError(MSG_ALREADY_RETIRED)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(MSG_REASON_REQUIRED, field="rationale")
    now = timezone.now()
    current = Phase.objects.filter(workflow=workflow, status__in=IN_PROGRESS).first()
    if current is not None:
        current.status = PhaseStatus.COMPLETED
        current.actual_end = now
        current.paused_at = None
        current.save(update_fields=["status", "actual_end", "paused_at"])
    PromotionRequest.objects.filter(workflow=workflow, status__in=OPEN_PROMOTION).update(
        status=PromotionStatus.CANCELLED, outcome=MSG_CANCELLED_BY_RETIREMENT, decided_at=now
    )
    pending = ChangeNotice.objects.filter(workflow=workflow, status__in=PENDING_NOTICES)
    for notice in pending.order_by("publish_at"):
        notice_cancel(notice=notice, actor=actor, note=MSG_CANCELLED_BY_RETIREMENT)
    before_due = workflow.next_review_due
    workflow.retired_at = now
    workflow.next_review_due = None  # no more reminders
    workflow.save(update_fields=["retired_at", "next_review_due", "updated_at"])
    changes = {"State": ["Active", "Retired"]}
    if before_due is not None:
        changes["Next review due"] = [f"{before_due:%d %b %Y}", "—"]
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="retired",
        target=workflow.name,
        changes=changes,
        note=reason,
    )
    followers_notify_phase_change(workflow, "retired", actor=actor, detail=reason)
    plan_changed(workflow)
    return workflow


@transaction.atomic
def workflow_reinstate(*, workflow: Workflow, actor: User, note: str = "") -> Workflow:
    """Back to the start of the plan: audit active from now, every later phase planned again."""
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    if not is_ops_leader(actor):
        raise ApplicationError(MSG_REINSTATE_OPS_ONLY)
    if workflow.retired_at is None:
        raise ApplicationError(MSG_NOT_RETIRED)
    now = timezone.now()
    Phase.objects.filter(workflow=workflow).exclude(kind=PhaseKind.AUDIT).update(
        status=PhaseStatus.PLANNED, actual_start=None, actual_end=None, paused_at=None
    )
    Phase.objects.filter(workflow=workflow, kind=PhaseKind.AUDIT).update(
        status=PhaseStatus.ACTIVE, actual_start=now, actual_end=None, paused_at=None
    )
    workflow.retired_at = None
    workflow.save(update_fields=["retired_at", "updated_at"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="reinstated",
        target=workflow.name,
        changes={"State": ["Retired", "Active"], "Phase": ["—", PhaseKind.AUDIT.label]},
        note=note.strip(),
    )
    followers_notify_phase_change(workflow, "reinstated to the data audit", actor=actor)
    plan_changed(workflow)
    return workflow
