"""The promotion card of the workflow overview and its actions, the gate checklist, and the
approvals queue.

Every action on the card is a POST to `workflow_promotions` with a named action. htmx gets back
the card named by HX-Target (`phase-card` or `promotion-card`), with the other card and the pause
callout swapped out of band, since one action can change all three (an approval that runs moves
the phase; a pause stops the promotion). A plain POST gets a flash message and a redirect to the
overview, so all of it works without JavaScript.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.forms.promotions import (
    BlackoutForm,
    PhasePauseForm,
    PhaseRollbackForm,
    PromotionApproveForm,
    PromotionOverrideForm,
    PromotionRejectForm,
    PromotionRequestForm,
)
from rollout.gates import gate_next
from rollout.models import IN_PROGRESS, PhaseStatus, PromotionRequest, PromotionStatus, Workflow
from rollout.permissions import AnyUser, access_workflow, can_change_workflow, can_view_workflow
from rollout.selectors.autonomy import autonomy_list_open
from rollout.selectors.blackouts import blackout_list
from rollout.selectors.notices import notice_list_awaiting_approval
from rollout.selectors.plan import phase_list, phase_timeline
from rollout.selectors.promotions import (
    promotion_get_for_workflow,
    promotion_get_open,
    promotion_list_open,
)
from rollout.services import phase_control, promotions

PAGE = "rollout/workflow_overview.html"
PHASE_CARD, PROMOTION_CARD, PAUSE_CALLOUT = "phase-card", "promotion-card", "pause-callout"

MSG_REQUESTED = "Promotion requested. An ops leader must approve it."
MSG_EXECUTED = "Promoted: {phase} is now active."
MSG_SCHEDULED = "Approved: the promotion runs at the scheduled time."
MSG_WAITING = "Approved: waiting for more approvals."
MSG_REJECTED = "Promotion request rejected."
MSG_CANCELLED = "Promotion request cancelled."
MSG_PAUSED = "Roll-out paused."
MSG_RESUMED = "Roll-out resumed."
MSG_ROLLED_BACK = "Rolled back: {phase} is active again."
MSG_FIX_FORM = "Check the form: {errors}"
MSG_UNKNOWN_ACTION = "Unknown action."


def promotion_card_context(
    user: AnyUser, workflow: Workflow, *, can_change: bool | None = None
) -> dict[str, Any]:
    """Context for the overview's phase and promotion cards. Members see the phase only."""
    phases = list(phase_list(workflow))
    current = next((p for p in phases if p.status in IN_PROGRESS), None)
    context: dict[str, Any] = {
        "phases": phases,
        "current_phase": current,
        "is_paused": current is not None and current.status == PhaseStatus.PAUSED,
        "timeline": phase_timeline(workflow, timezone.localdate(), phases),
    }
    if not can_view_workflow(user, workflow):
        return context
    for phase in phases:
        phase.workflow = workflow
    if can_change is None:
        can_change = can_change_workflow(user, workflow)
    gate = gate_next(workflow) if current else None
    open_request = promotion_get_open(workflow)
    ops = is_ops_leader(user)
    approvers = {a.approver_id for a in open_request.approvals.all()} if open_request else set()
    context.update(
        gate=gate,
        open_request=open_request,
        can_control=can_change,
        can_decide=bool(
            open_request
            and ops
            and open_request.status == PromotionStatus.PENDING
            and open_request.requested_by_id != user.pk
            and user.pk not in approvers
        ),
        can_reject=bool(open_request and ops and open_request.requested_by_id != user.pk),
        can_cancel=bool(open_request and (open_request.requested_by_id == user.pk or can_change)),
        workflow_blackouts=list(blackout_list(workflow)),
        request_form=PromotionRequestForm(),
        approve_form=PromotionApproveForm(),
        override_form=PromotionOverrideForm(),
        reject_form=PromotionRejectForm(),
        pause_form=PhasePauseForm(initial={"fallback_mode": workflow.fallback_mode}),
        rollback_form=PhaseRollbackForm(),
        blackout_form=BlackoutForm(),
    )
    return context


@require_GET
def workflow_gate(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The next promotion's checklist, refreshed by htmx on the overview."""
    workflow = access_workflow(request.user, slug)
    return render(
        request,
        "rollout/_gate_checklist.html",
        {"workflow": workflow, "gate": gate_next(workflow)},
    )


def _cleaned(form: Form) -> dict[str, Any]:
    """The form's data, or an ApplicationError naming every problem (shown like a refusal)."""
    if not form.is_valid():
        errors = " ".join(str(e) for field in form.errors.values() for e in field)
        raise ApplicationError(MSG_FIX_FORM.format(errors=errors))
    return form.cleaned_data


# Actions on the workflow's phases (owner or ops leader). Each returns the message to show.


def _request(request: HtmxHttpRequest, workflow: Workflow) -> str:
    data = _cleaned(PromotionRequestForm(request.POST))
    promotions.promotion_request(workflow=workflow, actor=request.user, **data)
    return MSG_REQUESTED


def _pause(request: HtmxHttpRequest, workflow: Workflow) -> str:
    data = _cleaned(PhasePauseForm(request.POST))
    phase_control.phase_pause(workflow=workflow, actor=request.user, **data)
    return MSG_PAUSED


def _resume(request: HtmxHttpRequest, workflow: Workflow) -> str:
    phase_control.phase_resume(workflow=workflow, actor=request.user)
    return MSG_RESUMED


def _rollback(request: HtmxHttpRequest, workflow: Workflow) -> str:
    reason = _cleaned(PhaseRollbackForm(request.POST))["reason"]
    phase = phase_control.phase_rollback(workflow=workflow, actor=request.user, reason=reason)
    return MSG_ROLLED_BACK.format(phase=phase.get_kind_display())


# Actions on the open request (`promotion=<id>`): ops leaders decide, its requester may cancel.


def _approved_message(result: PromotionRequest) -> str:
    if result.status == PromotionStatus.EXECUTED:
        return MSG_EXECUTED.format(phase=result.to_phase.get_kind_display())
    if result.status == PromotionStatus.APPROVED:
        return MSG_SCHEDULED
    return MSG_WAITING


def _approve(request: HtmxHttpRequest, promotion: PromotionRequest) -> str:
    note = _cleaned(PromotionApproveForm(request.POST))["note"]
    result = promotions.promotion_approve(request=promotion, actor=request.user, note=note)
    return _approved_message(result)


def _override(request: HtmxHttpRequest, promotion: PromotionRequest) -> str:
    reason = _cleaned(PromotionOverrideForm(request.POST))["reason"]
    result = promotions.promotion_override(request=promotion, actor=request.user, reason=reason)
    return _approved_message(result)


def _reject(request: HtmxHttpRequest, promotion: PromotionRequest) -> str:
    note = _cleaned(PromotionRejectForm(request.POST))["note"]
    promotions.promotion_reject(request=promotion, actor=request.user, note=note)
    return MSG_REJECTED


def _cancel(request: HtmxHttpRequest, promotion: PromotionRequest) -> str:
    promotions.promotion_cancel(request=promotion, actor=request.user)
    return MSG_CANCELLED


WORKFLOW_ACTIONS: dict[str, Callable[[HtmxHttpRequest, Workflow], str]] = {
    "request": _request,
    "pause": _pause,
    "resume": _resume,
    "rollback": _rollback,
}
DECIDE_ACTIONS: dict[str, Callable[[HtmxHttpRequest, PromotionRequest], str]] = {
    "approve": _approve,
    "override": _override,
    "reject": _reject,
}
REQUEST_ACTIONS = {**DECIDE_ACTIONS, "cancel": _cancel}


def _posted_promotion(request: HtmxHttpRequest, workflow: Workflow) -> PromotionRequest:
    raw = request.POST.get("promotion", "")
    try:
        return promotion_get_for_workflow(workflow, int(raw) if raw.isdigit() else 0)
    except PromotionRequest.DoesNotExist:
        raise Http404("No such promotion request.") from None


@require_POST
def workflow_promotions(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The overview's promotion and phase actions. POST action=request|pause|resume|rollback
    (owner, ops leaders); action=approve|override|reject with `promotion=<id>` (ops leaders);
    action=cancel with `promotion=<id>` (its requester, the owner, ops leaders). An action the
    role does not allow is a 404, like every change a role does not allow (executives never
    change anything)."""
    user = request.user
    workflow = access_workflow(user, slug)
    action = request.POST.get("action", "")
    if action not in WORKFLOW_ACTIONS and action not in REQUEST_ACTIONS:
        return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    try:
        if action in WORKFLOW_ACTIONS:
            if not can_change_workflow(user, workflow):
                raise Http404("No such workflow.")
            message = WORKFLOW_ACTIONS[action](request, workflow)
        else:
            if action in DECIDE_ACTIONS and not is_ops_leader(user):
                raise Http404("No such promotion request.")
            promotion = _posted_promotion(request, workflow)
            if action == "cancel" and not (
                promotion.requested_by_id == user.pk or can_change_workflow(user, workflow)
            ):
                raise Http404("No such promotion request.")
            message = REQUEST_ACTIONS[action](request, promotion)
    except ApplicationError as exc:
        return _after(request, slug, message=exc.message, error=True)
    return _after(request, slug, message=message, error=False)


def _after(request: HtmxHttpRequest, slug: str, *, message: str, error: bool) -> HttpResponse:
    """Run the action's outcome back to the page: the targeted card from fresh data with the
    message, the other card and the pause callout out of band, for htmx; a flash message and a
    redirect to the overview otherwise."""
    if not request.htmx:
        (messages.error if error else messages.success)(request, message)
        return redirect("workflow_overview", slug=slug)
    workflow = access_workflow(request.user, slug)  # fresh: the action may have changed it
    context: dict[str, Any] = {"workflow": workflow}
    context.update(promotion_card_context(request.user, workflow))
    target = PHASE_CARD if request.htmx.target == PHASE_CARD else PROMOTION_CARD
    parts = [
        render_to_string(
            f"{PAGE}#{target}",
            {**context, "card_message": message, "card_error": error},
            request=request,
        )
    ]
    for other in (PHASE_CARD, PROMOTION_CARD, PAUSE_CALLOUT):
        if other != target:
            parts.append(
                render_to_string(f"{PAGE}#{other}", {**context, "oob": True}, request=request)
            )
    return HttpResponse("".join(parts))


@require_GET
def approval_list(request: HtmxHttpRequest) -> HttpResponse:
    """Open promotion requests across the portfolio, oldest first (ops leaders), the requests for
    less review of AI outputs (the autonomy ladder), and the urgent change notices waiting for an
    ops leader (rule 5)."""
    if not is_ops_leader(request.user):
        raise PermissionDenied("Only ops leaders approve promotions.")
    # Two lists, each paging on its own (page=, notices_page=) and keeping the other's page.
    pending = paginate(promotion_list_open(), request.GET)
    urgent = paginate(notice_list_awaiting_approval(), request.GET, param="notices_page")
    autonomy = paginate(autonomy_list_open(), request.GET, param="autonomy_page")
    context = {
        "autonomy_pages": autonomy,
        "autonomy_requests": autonomy["page_obj"].object_list,
        "pending_pages": pending,
        "pending": pending["page_obj"].object_list,
        "urgent_pages": urgent,
        "urgent_notices": urgent["page_obj"].object_list,
    }
    return render(request, "rollout/approval_list.html", context)
