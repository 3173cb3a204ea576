"""Promotion requests: ask, approve (or override), reject, cancel, execute, and run scheduled ones.

Every write locks the workflow row first (`select_for_update`), so requests, approvals and
executions on one workflow are serialised; the `phase_one_in_progress` constraint is the backstop
if two promotions ever raced past the lock. An approval is given against one exact gate
(its fingerprint): if the gate's inputs changed since the request, the request lapses instead.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailCategory, User
from accounts.roles import is_ops_leader
from accounts.unsubscribe import unsubscribe_headers
from core.acting import refuse_via_token
from core.errors import ApplicationError
from core.mail import FanOutEmail, email_subject
from core.time_zones import format_instant
from rollout.gates import Gate, gate_for
from rollout.models import (
    IN_PROGRESS,
    OPEN_PROMOTION,
    Phase,
    PhaseKind,
    PhaseStatus,
    PromotionApproval,
    PromotionRequest,
    PromotionStatus,
    Workflow,
)
from rollout.permissions import can_change_workflow
from rollout.selectors.approval_links import promotion_subject
from rollout.selectors.blackouts import (
    BLOCKED_PROMOTION,
    blackout_block_message,
    blackout_covering,
)
from rollout.selectors.thresholds import has_quality_threshold
from rollout.services.activity import activity_record
from rollout.services.approvals import (
    ApproverRefusals,
    approval_outcome_send,
    approval_request_send,
    approver_check,
)
from rollout.services.blackouts import blackout_message
from rollout.services.decision_cache import plan_changed
from rollout.services.follows import followers_notify_phase_change
from rollout.services.notice_drafts import notice_draft_for_promotion
from rollout.services.notifications import notification_send

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can request a promotion."
MSG_NO_NEXT_PHASE = "There is no next phase to promote to."
MSG_PAUSED = "The roll-out is paused: resume it before promoting."
MSG_ALREADY_OPEN = "A promotion request is already open for this workflow."
MSG_SCHEDULE_IN_PAST = "Pick a time in the future, or leave it empty to promote once approved."
MSG_OPS_ONLY = "Only ops leaders can approve or reject promotions."
MSG_OWN_REQUEST = "You requested this promotion; another ops leader must approve it."
MSG_ALREADY_APPROVED = "You have already approved this promotion."
MSG_NOT_OPEN = "This promotion request is no longer open."
_REFUSALS = ApproverRefusals(MSG_OPS_ONLY, MSG_NOT_OPEN, MSG_OWN_REQUEST, MSG_ALREADY_APPROVED)
MSG_LAPSED = (
    "The gate changed since this promotion was requested ({changed}), so the request lapsed."
)
MSG_GATE_FAILING = "The gate is not passing ({blocking}): approve despite it with a written reason."
MSG_RULE_2 = (
    "A workflow cannot enter the limited roll-out without a threshold on error, override or "
    "acceptance rate (rule 2). Define one on the Thresholds page; an override cannot waive this."
)
MSG_OVERRIDE_REASON_REQUIRED = "Write why this promotion should go ahead despite the gate."
MSG_CANCEL_NOT_ALLOWED = "Only the requester, the owner or an ops leader can cancel this request."
MSG_PHASE_NOT_ACTIVE = "The {phase} phase is no longer active, so this promotion cannot run."
MSG_CONCURRENT = "Another change to this workflow's phases happened at the same time; try again."
MSG_FAILED_EMAIL_SUBJECT = "A scheduled promotion did not run: {label}"


class PromotionLapsed(ApplicationError):
    """The request lapsed (committed) because its gate changed."""


def _lock_workflow(workflow_id: int) -> Workflow:
    return Workflow.objects.select_for_update().select_related("owner").get(pk=workflow_id)


def _lock_request(request_id: int, workflow: Workflow) -> PromotionRequest:
    request = PromotionRequest.objects.select_for_update().get(pk=request_id)
    request.workflow = workflow
    return request


def _phase(pk: int, workflow: Workflow) -> Phase:
    phase = Phase.objects.get(pk=pk)
    phase.workflow = workflow
    return phase


def _changed_labels(request: PromotionRequest, gate: Gate) -> list[str]:
    return gate.changed_since(request.gate_snapshot) or ["the phases it moves between"]


def _current_gate(request: PromotionRequest) -> Gate:
    workflow = request.workflow
    return gate_for(
        from_phase=_phase(request.from_phase_id, workflow),
        to_phase=_phase(request.to_phase_id, workflow),
    )


def _request_url(workflow: Workflow) -> str:
    """Where an open request is shown and decided: the promotion card of the overview."""
    return reverse("workflow_overview", kwargs={"slug": workflow.slug}) + "#promotion-card"


def _tell_requester(request: PromotionRequest, actor: User | None, outcome: str, why: str) -> None:
    """The requester hears how their request ended (rollout.services.approvals)."""
    workflow = request.workflow
    label = _label(request)
    approval_outcome_send(
        workflow=workflow,
        requester=request.requested_by,
        actor=actor,
        title=f"Promotion {outcome}: {workflow.name} ({label})",
        body=why,
        url=_request_url(workflow),
    )


def _lapse(request: PromotionRequest, gate: Gate, actor: User | None) -> str:
    message = MSG_LAPSED.format(changed=", ".join(_changed_labels(request, gate)))
    request.status = PromotionStatus.LAPSED
    request.outcome = message
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "outcome", "decided_at"])
    activity_record(
        workflow=request.workflow,
        actor=actor,
        verb="promotion request lapsed",
        target=_label(request),
        changes={"Status": [PromotionStatus.PENDING.label, PromotionStatus.LAPSED.label]},
        note=message,
    )
    _tell_requester(request, None, "lapsed", f"{message} Request it again if it should go ahead.")
    return message


def _label(request: PromotionRequest) -> str:
    """ "Shadow mode → Limited roll-out", read from the two phases (one query)."""
    kinds = dict(
        Phase.objects.filter(pk__in=[request.from_phase_id, request.to_phase_id]).values_list(
            "pk", "kind"
        )
    )
    return " → ".join(
        PhaseKind(kinds[pk]).label for pk in (request.from_phase_id, request.to_phase_id)
    )


@transaction.atomic
def promotion_request(
    *,
    workflow: Workflow,
    actor: User,
    note: str = "",
    scheduled_for: datetime | None = None,
) -> PromotionRequest:
    workflow = _lock_workflow(workflow.pk)
    if not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    phases = list(Phase.objects.filter(workflow=workflow).order_by("position"))
    current = next((p for p in phases if p.status in IN_PROGRESS), None)
    following = [p for p in phases if current and p.position == current.position + 1]
    if current is None or not following:
        raise ApplicationError(MSG_NO_NEXT_PHASE)
    if current.status == PhaseStatus.PAUSED:
        raise ApplicationError(MSG_PAUSED)
    if PromotionRequest.objects.filter(workflow=workflow, status__in=OPEN_PROMOTION).exists():
        raise ApplicationError(MSG_ALREADY_OPEN)
    if scheduled_for is not None:
        if scheduled_for <= timezone.now():
            raise ApplicationError(MSG_SCHEDULE_IN_PAST, field="scheduled_for")
        window = blackout_covering(workflow, scheduled_for)
        if window is not None:
            raise ApplicationError(blackout_message(window), field="scheduled_for")
    for phase in phases:
        phase.workflow = workflow
    gate = gate_for(from_phase=current, to_phase=following[0])
    request = PromotionRequest(
        workflow=workflow,
        from_phase=current,
        to_phase=following[0],
        requested_by=actor,
        note=note.strip(),
        scheduled_for=scheduled_for,
        gate_snapshot=gate.snapshot(),
        gate_fingerprint=gate.fingerprint,
    )
    request.full_clean()
    request.save()
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="requested a promotion",
        target=_label(request),
        note=request.note,
    )
    notice_draft_for_promotion(request=request, actor=actor)  # cohorts it enrols hear of it
    label = _label(request)
    approval_request_send(
        workflow=workflow,
        requester=actor,
        title=f"Promotion to approve: {workflow.name} ({label})",
        body=f"{actor} asks to promote “{workflow.name}”: {label}."
        + (f"\n\n{request.note}" if request.note else "")
        + (f"\n\nScheduled for {format_instant(scheduled_for)}." if scheduled_for else ""),
        url=_request_url(workflow),
        subject=promotion_subject(request),
    )
    return request


def promotion_approve(
    *, request: PromotionRequest, actor: User, note: str = ""
) -> PromotionRequest:
    return _approve(request=request, actor=actor, note=note, override_reason="")


def promotion_override(*, request: PromotionRequest, actor: User, reason: str) -> PromotionRequest:
    """Approve despite a failing gate. The written reason is kept with the request."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError(MSG_OVERRIDE_REASON_REQUIRED, field="reason")
    return _approve(request=request, actor=actor, note=reason, override_reason=reason)


def _check_rule_2(request: PromotionRequest) -> None:
    """Rule 2 is not a gate condition an ops leader may override: it is the product's promise
    that quality was defined before launch."""
    if request.to_phase.kind == PhaseKind.LIMITED and not has_quality_threshold(request.workflow):
        raise ApplicationError(MSG_RULE_2)


def _approve(
    *, request: PromotionRequest, actor: User, note: str, override_reason: str
) -> PromotionRequest:
    # Not one decorated transaction: a lapse must be committed even though the approval is
    # then refused, so the refusal is raised after the block.
    with transaction.atomic():
        workflow = _lock_workflow(request.workflow_id)
        request = _lock_request(request.pk, workflow)
        approver_check(request, actor, pending=PromotionStatus.PENDING, refusals=_REFUSALS)
        gate = _current_gate(request)
        lapsed = None
        if gate.fingerprint != request.gate_fingerprint:
            lapsed = _lapse(request, gate, actor)
        else:
            _check_rule_2(request)
            if not gate.passed and not override_reason and not request.override_reason:
                blocking = ", ".join(c.label for c in gate.blocking)
                raise ApplicationError(MSG_GATE_FAILING.format(blocking=blocking))
            return _record_approval(request, gate, actor, note, override_reason)
    raise PromotionLapsed(lapsed)


def _record_approval(
    request: PromotionRequest, gate: Gate, actor: User, note: str, override_reason: str
) -> PromotionRequest:
    workflow = request.workflow
    now = timezone.now()
    runs_now = request.scheduled_for is None or request.scheduled_for <= now
    if runs_now and (window := blackout_covering(workflow, now)) is not None:
        raise ApplicationError(blackout_message(window))
    approval = PromotionApproval(
        request=request, approver=actor, gate_fingerprint=gate.fingerprint, note=note.strip()
    )
    approval.full_clean()
    approval.save()
    if override_reason:
        request.override_reason = override_reason
        request.overridden_by = actor
        request.save(update_fields=["override_reason", "overridden_by"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="approved a promotion despite its gate" if override_reason else "approved a promotion",
        target=_label(request),
        note=note.strip(),
    )
    notice_draft_for_promotion(request=request, actor=request.requested_by)
    if request.approvals.count() < workflow.required_approvals:
        return request
    if not runs_now:
        request.status = PromotionStatus.APPROVED
        request.save(update_fields=["status"])
        when = format_instant(request.scheduled_for)
        _tell_requester(request, actor, "approved", f"{actor} approved it; it runs {when}.")
        return request
    request = _execute_locked(request, actor, now)
    _tell_requester(request, actor, "approved", f"{actor} approved it and it ran: promoted.")
    return request


@transaction.atomic
def promotion_reject(*, request: PromotionRequest, actor: User, note: str = "") -> PromotionRequest:
    workflow = _lock_workflow(request.workflow_id)
    request = _lock_request(request.pk, workflow)
    refuse_via_token()
    if not is_ops_leader(actor):
        raise ApplicationError(MSG_OPS_ONLY)
    if request.requested_by_id == actor.pk:
        raise ApplicationError(MSG_OWN_REQUEST)
    request = _close(request, actor, PromotionStatus.REJECTED, "rejected a promotion", note)
    why = f"{actor} rejected it." + (f" Why: {note.strip()}" if note.strip() else "")
    _tell_requester(request, actor, "rejected", why)
    return request


@transaction.atomic
def promotion_cancel(*, request: PromotionRequest, actor: User, note: str = "") -> PromotionRequest:
    workflow = _lock_workflow(request.workflow_id)
    request = _lock_request(request.pk, workflow)
    if request.requested_by_id != actor.pk and not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_CANCEL_NOT_ALLOWED)
    return _close(request, actor, PromotionStatus.CANCELLED, "cancelled a promotion", note)


def _close(
    request: PromotionRequest, actor: User | None, status: str, verb: str, note: str
) -> PromotionRequest:
    if request.status not in OPEN_PROMOTION:
        raise ApplicationError(MSG_NOT_OPEN)
    before = request.get_status_display()
    request.status = status
    request.outcome = note.strip()
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "outcome", "decided_at"])
    activity_record(
        workflow=request.workflow,
        actor=actor,
        verb=verb,
        target=_label(request),
        changes={"Status": [before, request.get_status_display()]},
        note=note.strip(),
    )
    return request


def promotion_execute(*, request: PromotionRequest, actor: User | None = None) -> PromotionRequest:
    """Run an approved promotion after re-checking everything. Raises ApplicationError (nothing
    written) or PromotionLapsed (the lapse is committed)."""
    with transaction.atomic():
        workflow = _lock_workflow(request.workflow_id)
        request = _lock_request(request.pk, workflow)
        if request.status not in OPEN_PROMOTION:
            raise ApplicationError(MSG_NOT_OPEN)
        gate = _current_gate(request)
        if gate.fingerprint != request.gate_fingerprint:
            lapsed = _lapse(request, gate, actor)
        else:
            _check_rule_2(request)
            if not gate.passed and not request.override_reason:
                blocking = ", ".join(c.label for c in gate.blocking)
                raise ApplicationError(MSG_GATE_FAILING.format(blocking=blocking))
            now = timezone.now()
            if (window := blackout_covering(workflow, now)) is not None:
                raise ApplicationError(blackout_message(window))
            return _execute_locked(request, actor, now)
    raise PromotionLapsed(lapsed)


def _execute_locked(
    request: PromotionRequest, actor: User | None, now: datetime
) -> PromotionRequest:
    workflow = request.workflow
    from_phase = _phase(request.from_phase_id, workflow)
    to_phase = _phase(request.to_phase_id, workflow)
    if from_phase.status == PhaseStatus.PAUSED:
        raise ApplicationError(MSG_PAUSED)
    if from_phase.status != PhaseStatus.ACTIVE:
        raise ApplicationError(MSG_PHASE_NOT_ACTIVE.format(phase=from_phase.get_kind_display()))
    try:
        # A savepoint, so a lost race leaves the outer transaction usable and writes nothing.
        with transaction.atomic():
            from_phase.status = PhaseStatus.COMPLETED
            from_phase.actual_end = now
            from_phase.save(update_fields=["status", "actual_end"])
            to_phase.status = PhaseStatus.ACTIVE
            to_phase.actual_start = now
            to_phase.actual_end = None
            to_phase.paused_at = None
            to_phase.pause_reason = ""
            to_phase.save(
                update_fields=["status", "actual_start", "actual_end", "paused_at", "pause_reason"]
            )
    except IntegrityError:
        raise ApplicationError(MSG_CONCURRENT) from None
    before = request.get_status_display()
    request.status = PromotionStatus.EXECUTED
    request.decided_at = now
    request.save(update_fields=["status", "decided_at"])
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="promoted",
        target=workflow.name,
        changes={
            "Phase": [from_phase.get_kind_display(), to_phase.get_kind_display()],
            "Request": [before, request.get_status_display()],
        },
        note=f"Overridden by {request.overridden_by}: {request.override_reason}"
        if request.override_reason
        else "",
    )
    followers_notify_phase_change(
        workflow,
        f"promoted from {from_phase.get_kind_display()} to {to_phase.get_kind_display()}",
        actor=actor,
    )
    plan_changed(workflow)
    return request


def promotions_run_due(now: datetime | None = None) -> int:
    """Execute the approved promotions whose time has come; returns how many ran.

    Safe to run twice at once: each execution re-checks the request under the workflow lock, and a
    request another run already executed is skipped, not failed.
    """
    now = now or timezone.now()
    due = list(
        PromotionRequest.objects.filter(
            status=PromotionStatus.APPROVED, scheduled_for__lte=now
        ).values_list("pk", "workflow_id")
    )
    ran = 0
    for request_id, _workflow_id in due:
        if _held_by_blackout(request_id, now):
            continue
        request = PromotionRequest.objects.get(pk=request_id)
        try:
            promotion_execute(request=request)
        except PromotionLapsed as exc:
            # The requester was told of the lapse; the owner is emailed unless that is them.
            _email_owner(request_id, exc.message, skip_requester=True)
        except ApplicationError as exc:
            _fail(request_id, exc.message)
        else:
            ran += 1
    return ran


@transaction.atomic
def _held_by_blackout(request_id: int, now: datetime) -> bool:
    """Rule 10 at run time: an approved promotion due inside a blackout window (created after it
    was scheduled) stays approved and scheduled, marked blocked with the window's name and end,
    and its owner is told once; it runs at the first run after the window. Returns whether it
    is held."""
    request = PromotionRequest.objects.get(pk=request_id)
    workflow = _lock_workflow(request.workflow_id)
    request = _lock_request(request_id, workflow)
    if request.status != PromotionStatus.APPROVED:
        return False
    window = blackout_covering(workflow, now)
    if window is None:
        if request.blocked_reason:
            request.blocked_reason = ""
            request.save(update_fields=["blocked_reason"])
        return False
    reason = blackout_block_message(window, BLOCKED_PROMOTION)
    if request.blocked_reason != reason:
        request.blocked_reason = reason
        request.save(update_fields=["blocked_reason"])
        label = _label(request)
        activity_record(
            workflow=workflow,
            actor=None,
            verb="scheduled promotion held by a blackout window",
            target=label,
            note=reason,
        )
        notification_send(
            recipient=workflow.owner,
            workflow=workflow,
            title=f"Promotion held by the “{window.name}” blackout: {workflow.name} ({label})",
            body=reason,
            url=_request_url(workflow),
            email=EmailCategory.UPDATES,
        )
    return True


@transaction.atomic
def _fail(request_id: int, reason: str) -> None:
    request = PromotionRequest.objects.get(pk=request_id)
    workflow = _lock_workflow(request.workflow_id)
    request = _lock_request(request_id, workflow)
    if request.status not in OPEN_PROMOTION:
        return  # another run executed or closed it meanwhile: nothing failed
    request.status = PromotionStatus.FAILED
    request.outcome = reason
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "outcome", "decided_at"])
    activity_record(
        workflow=workflow,
        actor=None,
        verb="scheduled promotion did not run",
        target=_label(request),
        changes={"Request": [PromotionStatus.APPROVED.label, PromotionStatus.FAILED.label]},
        note=reason,
    )
    _email_owner(request_id, reason)


def _email_owner(request_id: int, reason: str, *, skip_requester: bool = False) -> None:
    request = PromotionRequest.objects.select_related("workflow__owner").get(pk=request_id)
    workflow = request.workflow
    owner = workflow.owner
    if skip_requester and owner.pk == request.requested_by_id:
        return
    if not owner.is_active or not owner.wants_email(EmailCategory.UPDATES):
        return
    url = reverse("workflow_overview", kwargs={"slug": workflow.slug})
    body = (
        f"The scheduled promotion of “{workflow.name}” ({_label(request)}) did not run.\n\n"
        f"Why: {reason}\n\nSee the workflow: {url}\n"
    )
    subject = email_subject(MSG_FAILED_EMAIL_SUBJECT.format(label=_label(request)))
    message = FanOutEmail(
        subject=subject,
        body=body,
        to=[owner.email],
        headers=unsubscribe_headers(owner, EmailCategory.UPDATES),
    )
    transaction.on_commit(message.send)
