"""The autonomy ladder (issue 18 §2): an enrolment's review level — every output reviewed, a
sample reviewed after the fact, or none — and the recorded, gated changes between them.

* Up the ladder (more review: none → sample → every, or a higher sample rate) happens at once and
  is recorded: safety never waits for approval. It also cancels a pending request to go down.
* Down the ladder, one rung at a time (every → sample, sample → none, or a lower sample rate), is an
  AutonomyRequest gated like a promotion (rollout.services.promotions): the gate's checklist and
  fingerprint are kept with it (rollout.gates.autonomy), ops leaders other than the requester
  approve it — as many as the plan requires (Workflow.required_approvals) — against that exact
  gate, and it lapses when the gate's inputs changed; a failing gate needs an override with a
  written reason. The requester is told how it ended (rollout.services.approvals).

Every write locks the cohort row first, so requests, approvals and immediate changes on one
enrolment are serialised. A changed level invalidates cached decisions (decision_cache).
"""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import is_ops_leader
from core.acting import refuse_via_token
from core.errors import ApplicationError
from rollout.gates.autonomy import LadderGate, autonomy_gate
from rollout.models import (
    LADDER,
    MAX_SAMPLE_RATE_PERCENT,
    MIN_SAMPLE_RATE_PERCENT,
    AutonomyApproval,
    AutonomyRequest,
    AutonomyStatus,
    Cohort,
    ReviewLevel,
)
from rollout.permissions import can_change_workflow
from rollout.services.activity import activity_record
from rollout.services.approvals import (
    ApproverRefusals,
    approval_outcome_send,
    approval_request_send,
    approver_check,
)
from rollout.services.decision_cache import plan_changed

MSG_NOT_ALLOWED = "Only the workflow's owner or an ops leader can change a cohort's review level."
MSG_BAD_LEVEL = "Choose a review level: every output, a sample, or none."
MSG_BAD_RATE = "The sample rate is a whole percentage from 1 to 50."
MSG_UNCHANGED = "“{name}” is already at this review level."
MSG_NOT_ENROLLED = (
    "“{name}” is not enrolled: enrol it before taking away review (new enrolments start with "
    "every output reviewed)."
)
MSG_ONE_RUNG = (
    "Move down one rung at a time: from every output reviewed to a sample, then from a sample "
    "to none, each with its own gate."
)
MSG_ALREADY_OPEN = "A review-level change for “{name}” is already waiting for approval."
MSG_OPS_ONLY = "Only ops leaders can approve or reject review-level changes."
MSG_OWN_REQUEST = "You requested this change; another ops leader must approve it."
MSG_ALREADY_APPROVED = "You have already approved this change."
MSG_NOT_OPEN = "This review-level change is no longer waiting."
_REFUSALS = ApproverRefusals(MSG_OPS_ONLY, MSG_NOT_OPEN, MSG_OWN_REQUEST, MSG_ALREADY_APPROVED)
MSG_LAPSED = "The gate changed since this change was requested ({changed}), so the request lapsed."
MSG_GATE_FAILING = "The gate is not passing ({blocking}): approve despite it with a written reason."
MSG_OVERRIDE_REASON_REQUIRED = "Write why this change should go ahead despite the gate."
MSG_CANCEL_NOT_ALLOWED = "Only the requester, the owner or an ops leader can cancel this request."
MSG_LEVEL_MOVED = "The cohort's review level changed since this was requested ({level})."


class AutonomyLapsed(ApplicationError):
    """The request lapsed (committed) because its gate changed."""


def _lock_cohort(cohort_id: int) -> Cohort:
    return Cohort.objects.select_for_update().select_related("workflow__owner").get(pk=cohort_id)


def level_text(level: str, rate: int | None) -> str:
    if level == ReviewLevel.SAMPLE and rate:
        return f"{ReviewLevel.SAMPLE.label} ({rate}%)"
    return ReviewLevel(level).label


def _is_down(cohort: Cohort, to_level: str, rate: int | None) -> bool:
    """Whether the move takes review away: a lower rung, or a lower sample rate."""
    here, there = LADDER.index(cohort.review_level), LADDER.index(to_level)
    if there != here:
        return there > here
    return to_level == ReviewLevel.SAMPLE and rate is not None and rate < cohort.review_sample_rate


def _cohorts_url(cohort: Cohort) -> str:
    url = reverse("workflow_cohorts", kwargs={"slug": cohort.workflow.slug})
    return f"{url}#cohort-{cohort.pk}-review"


def _set_level(cohort: Cohort, level: str, rate: int | None, actor: User | None, note: str,
               verb: str) -> None:  # fmt: skip
    before = level_text(cohort.review_level, cohort.review_sample_rate)
    cohort.review_level = level
    if level == ReviewLevel.SAMPLE and rate is not None:
        cohort.review_sample_rate = rate
    cohort.full_clean()
    cohort.save(update_fields=["review_level", "review_sample_rate"])
    activity_record(
        workflow=cohort.workflow,
        actor=actor,
        verb=verb,
        target=f"of cohort {cohort.name}",
        changes={"Review level": [before, level_text(level, cohort.review_sample_rate)]},
        note=note,
    )
    plan_changed(cohort.workflow)  # the decision answer carries the level


def _check_input(to_level: str, rate: object) -> int | None:
    if to_level not in ReviewLevel.values:
        raise ApplicationError(MSG_BAD_LEVEL, field="to_level")
    if to_level != ReviewLevel.SAMPLE:
        return None
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int)
        or not MIN_SAMPLE_RATE_PERCENT <= rate <= MAX_SAMPLE_RATE_PERCENT
    ):
        raise ApplicationError(MSG_BAD_RATE, field="sample_rate")
    return rate


@transaction.atomic
def autonomy_change(
    *, cohort: Cohort, actor: User, to_level: str, sample_rate: int | None = None, note: str = ""
) -> AutonomyRequest | None:
    """Move the enrolment to `to_level` (with `sample_rate` % at "sample"). Up the ladder: done
    now, returns None. Down: returns the pending AutonomyRequest, asked of the ops leaders."""
    rate = _check_input(to_level, sample_rate)
    cohort = _lock_cohort(cohort.pk)
    workflow = cohort.workflow
    if not can_change_workflow(actor, workflow):
        raise ApplicationError(MSG_NOT_ALLOWED)
    same_rate = rate is None or rate == cohort.review_sample_rate
    if to_level == cohort.review_level and same_rate:
        raise ApplicationError(MSG_UNCHANGED.format(name=cohort.name), field="to_level")
    note = note.strip()
    pending = AutonomyRequest.objects.filter(cohort=cohort, status=AutonomyStatus.PENDING).first()
    if not _is_down(cohort, to_level, rate):
        if pending is not None:
            _close(pending, actor, AutonomyStatus.CANCELLED, "More review was set meanwhile.")
        _set_level(cohort, to_level, rate, actor, note, "raised the review level")
        return None
    if not cohort.enrolled_phase:
        raise ApplicationError(MSG_NOT_ENROLLED.format(name=cohort.name))
    if LADDER.index(to_level) - LADDER.index(cohort.review_level) > 1:
        raise ApplicationError(MSG_ONE_RUNG, field="to_level")
    if pending is not None:
        raise ApplicationError(MSG_ALREADY_OPEN.format(name=cohort.name))
    gate = autonomy_gate(cohort, to_level=to_level)
    request = AutonomyRequest(
        cohort=cohort,
        workflow=workflow,
        from_level=cohort.review_level,
        to_level=to_level,
        sample_rate=rate,
        requested_by=actor,
        note=note,
        gate_snapshot=gate.snapshot(),
        gate_fingerprint=gate.fingerprint,
    )
    request.full_clean()
    request.save()
    label = _label(request)
    activity_record(
        workflow=workflow,
        actor=actor,
        verb="requested less review",
        target=f"for cohort {cohort.name}",
        changes={"Review level": label.split(" → ")},
        note=note,
    )
    approval_request_send(
        workflow=workflow,
        requester=actor,
        title=f"Review-level change to approve: {workflow.name}, {cohort.name}",
        body=f"{actor} asks to reduce human review of “{cohort.name}”: {label}."
        + (f"\n\n{note}" if note else ""),
        url=_cohorts_url(cohort),
    )
    return request


def _label(request: AutonomyRequest) -> str:
    rate = request.sample_rate if request.to_level == ReviewLevel.SAMPLE else None
    before = level_text(request.from_level, request.cohort.review_sample_rate)
    return f"{before} → {level_text(request.to_level, rate)}"


def _lock_request(request_id: int, cohort: Cohort) -> AutonomyRequest:
    request = AutonomyRequest.objects.select_for_update().get(pk=request_id)
    request.cohort = cohort
    request.workflow = cohort.workflow
    return request


def _tell_requester(request: AutonomyRequest, actor: User | None, outcome: str, why: str) -> None:
    cohort = request.cohort
    approval_outcome_send(
        workflow=cohort.workflow,
        requester=request.requested_by,
        actor=actor,
        title=f"Review-level change {outcome}: {cohort.workflow.name}, {cohort.name}",
        body=why,
        url=_cohorts_url(cohort),
    )


def autonomy_approve(*, request: AutonomyRequest, actor: User, note: str = "") -> AutonomyRequest:
    return _approve(request=request, actor=actor, note=note, override_reason="")


def autonomy_override(*, request: AutonomyRequest, actor: User, reason: str) -> AutonomyRequest:
    """Approve despite a failing gate; the written reason is kept with the request."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(MSG_OVERRIDE_REASON_REQUIRED, field="reason")
    return _approve(request=request, actor=actor, note=reason, override_reason=reason)


def _approve(
    *, request: AutonomyRequest, actor: User, note: str, override_reason: str
) -> AutonomyRequest:
    # As promotions do: a lapse is committed even though the approval is then refused.
    with transaction.atomic():
        cohort = _lock_cohort(request.cohort_id)
        request = _lock_request(request.pk, cohort)
        approver_check(request, actor, pending=AutonomyStatus.PENDING, refusals=_REFUSALS)
        if cohort.review_level != request.from_level:
            moved = MSG_LEVEL_MOVED.format(level=level_text(cohort.review_level, None).lower())
            _close(request, None, AutonomyStatus.LAPSED, moved)
            lapsed = moved
        else:
            gate = autonomy_gate(cohort, to_level=request.to_level)
            if gate.fingerprint == request.gate_fingerprint:
                if not gate.passed and not override_reason and not request.override_reason:
                    blocking = ", ".join(c.label for c in gate.blocking)
                    raise ApplicationError(MSG_GATE_FAILING.format(blocking=blocking))
                return _record_approval(request, gate, actor, note, override_reason)
            lapsed = _lapse(request, gate)
    raise AutonomyLapsed(lapsed)


def _lapse(request: AutonomyRequest, gate: LadderGate) -> str:
    changed = gate.changed_since(request.gate_snapshot)
    message = MSG_LAPSED.format(changed=", ".join(changed) or "its conditions")
    _close(request, None, AutonomyStatus.LAPSED, message)
    return message


def _record_approval(
    request: AutonomyRequest, gate: LadderGate, actor: User, note: str, override_reason: str
) -> AutonomyRequest:
    cohort = request.cohort
    approval = AutonomyApproval(
        request=request, approver=actor, gate_fingerprint=gate.fingerprint, note=note.strip()
    )
    approval.full_clean()
    approval.save()
    if override_reason:
        request.override_reason = override_reason
        request.overridden_by = actor
        request.save(update_fields=["override_reason", "overridden_by"])
    activity_record(
        workflow=cohort.workflow,
        actor=actor,
        verb="approved less review",
        target=f"for cohort {cohort.name}" + (" despite its gate" if override_reason else ""),
        note=note.strip(),
    )
    if request.approvals.count() < cohort.workflow.required_approvals:
        return request
    label = _label(request)
    request.status = AutonomyStatus.EXECUTED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    overridden = (
        f"Approved despite its gate by {request.overridden_by}: {request.override_reason}"
        if request.override_reason
        else ""
    )
    _set_level(
        cohort, request.to_level, request.sample_rate, actor, overridden, "lowered the review level"
    )
    _tell_requester(request, actor, "approved", f"{actor} approved it: {label}.")
    return request


@transaction.atomic
def autonomy_reject(*, request: AutonomyRequest, actor: User, note: str = "") -> AutonomyRequest:
    cohort = _lock_cohort(request.cohort_id)
    request = _lock_request(request.pk, cohort)
    refuse_via_token()
    if not is_ops_leader(actor):
        raise ApplicationError(MSG_OPS_ONLY)
    if request.requested_by_id == actor.pk:
        raise ApplicationError(MSG_OWN_REQUEST)
    request = _close(request, actor, AutonomyStatus.REJECTED, note)
    why = f"{actor} rejected it." + (f" Why: {note.strip()}" if note.strip() else "")
    _tell_requester(request, actor, "rejected", why)
    return request


@transaction.atomic
def autonomy_cancel(*, request: AutonomyRequest, actor: User, note: str = "") -> AutonomyRequest:
    cohort = _lock_cohort(request.cohort_id)
    request = _lock_request(request.pk, cohort)
    if request.requested_by_id != actor.pk and not can_change_workflow(actor, cohort.workflow):
        raise ApplicationError(MSG_CANCEL_NOT_ALLOWED)
    return _close(request, actor, AutonomyStatus.CANCELLED, note)


_VERBS = {
    AutonomyStatus.REJECTED: "rejected less review",
    AutonomyStatus.CANCELLED: "cancelled a request for less review",
    AutonomyStatus.LAPSED: "request for less review lapsed",
}


def _close(request: AutonomyRequest, actor: User | None, status: str, note: str) -> AutonomyRequest:
    if request.status != AutonomyStatus.PENDING:
        raise ApplicationError(MSG_NOT_OPEN)
    before = request.get_status_display()
    request.status = status
    request.outcome = (note or "").strip()
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "outcome", "decided_at"])
    activity_record(
        workflow=request.workflow,
        actor=actor,
        verb=_VERBS[status],
        target=f"cohort {request.cohort.name}",
        changes={"Status": [before, request.get_status_display()]},
        note=request.outcome,
    )
    if status == AutonomyStatus.LAPSED:
        _tell_requester(
            request, None, "lapsed", f"{request.outcome} Request it again if it should go ahead."
        )
    return request
