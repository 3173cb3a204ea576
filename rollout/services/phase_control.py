"""Pause, resume and roll back the phase in progress (owner or ops leader)."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.errors import ApplicationError
from rollout.models import (
    IN_PROGRESS,
    OPEN_PROMOTION,
    FallbackMode,
    Phase,
    PhaseStatus,
    PromotionRequest,
    PromotionStatus,
    Workflow,
)
from rollout.permissions import can_change_workflow
from rollout.services.activity import activity_record
from rollout.services.decision_cache import plan_changed
from rollout.services.follows import followers_notify_phase_change

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can pause, resume or roll back."
MSG_NOTHING_IN_PROGRESS = "No phase is in progress."
MSG_ALREADY_PAUSED = "The roll-out is already paused."
MSG_NOT_PAUSED = "The roll-out is not paused."
MSG_REASON_REQUIRED = "Write why, so the people affected know."
MSG_BAD_FALLBACK = "Choose what happens while paused: shadow or off."
MSG_NOTHING_TO_ROLL_BACK_TO = "The first phase has no earlier phase to roll back to."
MSG_CANCELLED_BY_ROLLBACK = "Cancelled by the roll-back."


def _locked_current(workflow: Workflow, actor: User) -> tuple[Workflow, Phase]:
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    if not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    phase = Phase.objects.filter(workflow=workflow, status__in=IN_PROGRESS).first()
    if phase is None:
        raise ApplicationError(MSG_NOTHING_IN_PROGRESS)
    phase.workflow = workflow
    return workflow, phase


def _plan_changed(workflow: Workflow) -> None:
    plan_changed(workflow)


@transaction.atomic
def phase_pause(*, workflow: Workflow, actor: User, fallback_mode: str, reason: str) -> Phase:
    """Pause the phase in progress: the workflow falls back to `fallback_mode` until resumed."""
    workflow, phase = _locked_current(workflow, actor)
    if phase.status == PhaseStatus.PAUSED:
        raise ApplicationError(MSG_ALREADY_PAUSED)
    if fallback_mode not in FallbackMode.values:
        raise ApplicationError(MSG_BAD_FALLBACK, field="fallback_mode")
    reason = reason.strip()
    if not reason:
        raise ApplicationError(MSG_REASON_REQUIRED, field="reason")
    _pause(workflow, phase, actor=actor, fallback_mode=fallback_mode, reason=reason)
    return phase


@transaction.atomic
def phase_pause_on_breach(*, workflow: Workflow, reason: str) -> Phase | None:
    """Rule 4: a `pause_rollout` threshold failed. Pauses the active phase at once, by Rollout
    itself (no actor), falling back to the workflow's chosen mode. Returns the paused phase, or
    None when nothing was active (already paused, or no phase in progress)."""
    workflow = Workflow.objects.select_for_update().select_related("owner").get(pk=workflow.pk)
    phase = Phase.objects.filter(workflow=workflow, status=PhaseStatus.ACTIVE).first()
    if phase is None:
        return None
    phase.workflow = workflow
    _pause(workflow, phase, actor=None, fallback_mode=workflow.fallback_mode, reason=reason)
    return phase


def _pause(
    workflow: Workflow, phase: Phase, *, actor: User | None, fallback_mode: str, reason: str
) -> None:
    before_fallback = workflow.get_fallback_mode_display()
    phase.status = PhaseStatus.PAUSED
    phase.paused_at = timezone.now()
    phase.pause_reason = reason
    phase.full_clean()
    phase.save(update_fields=["status", "paused_at", "pause_reason"])
    workflow.fallback_mode = fallback_mode
    workflow.save(update_fields=["fallback_mode", "updated_at"])
    changes = {"Status": [PhaseStatus.ACTIVE.label, PhaseStatus.PAUSED.label]}
    if before_fallback != workflow.get_fallback_mode_display():
        changes["Fallback when paused"] = [before_fallback, workflow.get_fallback_mode_display()]
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="paused",
        target=phase.get_kind_display(),
        changes=changes,
        note=reason,
    )
    followers_notify_phase_change(
        workflow, f"{phase.get_kind_display()} paused", actor=actor, detail=reason
    )
    _plan_changed(workflow)


@transaction.atomic
def phase_resume(*, workflow: Workflow, actor: User) -> Phase:
    workflow, phase = _locked_current(workflow, actor)
    if phase.status != PhaseStatus.PAUSED:
        raise ApplicationError(MSG_NOT_PAUSED)
    phase.status = PhaseStatus.ACTIVE
    phase.paused_at = None
    phase.pause_reason = ""
    phase.save(update_fields=["status", "paused_at", "pause_reason"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="resumed",
        target=phase.get_kind_display(),
        changes={"Status": [PhaseStatus.PAUSED.label, PhaseStatus.ACTIVE.label]},
    )
    followers_notify_phase_change(workflow, f"{phase.get_kind_display()} resumed", actor=actor)
    _plan_changed(workflow)
    return phase


@transaction.atomic
def phase_rollback(*, workflow: Workflow, actor: User, reason: str) -> Phase:
    """Roll the phase in progress back; the phase before it is active again. Returns that one.

    Open promotion requests are cancelled: they were approved against the plan being undone.
    """
    workflow, phase = _locked_current(workflow, actor)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(MSG_REASON_REQUIRED, field="reason")
    previous = Phase.objects.filter(workflow=workflow, position=phase.position - 1).first()
    if previous is None:
        raise ApplicationError(MSG_NOTHING_TO_ROLL_BACK_TO)
    now = timezone.now()
    before = phase.get_status_display()
    # The rolled-back phase leaves "in progress" first: one phase in progress at a time.
    phase.status = PhaseStatus.ROLLED_BACK
    phase.actual_end = now
    phase.paused_at = None
    phase.save(update_fields=["status", "actual_end", "paused_at"])
    previous.status = PhaseStatus.ACTIVE
    previous.actual_end = None
    previous.paused_at = None
    previous.pause_reason = ""
    previous.save(update_fields=["status", "actual_end", "paused_at", "pause_reason"])
    PromotionRequest.objects.filter(workflow=workflow, status__in=OPEN_PROMOTION).update(
        status=PromotionStatus.CANCELLED, outcome=MSG_CANCELLED_BY_ROLLBACK, decided_at=now
    )
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="rolled back",
        target=phase.get_kind_display(),
        changes={
            "Phase": [phase.get_kind_display(), previous.get_kind_display()],
            phase.get_kind_display(): [before, PhaseStatus.ROLLED_BACK.label],
        },
        note=reason,
    )
    followers_notify_phase_change(
        workflow,
        f"rolled back from {phase.get_kind_display()} to {previous.get_kind_display()}",
        actor=actor,
        detail=reason,
    )
    _plan_changed(workflow)
    return previous
