"""The promotion card of the workflow overview, its actions, and the approvals queue."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
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
from rollout.models import IN_PROGRESS, OPEN_PROMOTION, Phase, PromotionRequest, Workflow
from rollout.permissions import AnyUser, access_workflow, can_change_workflow, can_view_workflow
from rollout.services import phase_control, promotions
from rollout.services.blackouts import blackout_list_for

MSG_REQUESTED = "Promotion requested. An ops leader must approve it."
MSG_APPROVED = "Approved. {more}"
MSG_EXECUTED = "Promoted: {phase} is now active."
MSG_SCHEDULED = "Approved: the promotion runs at the scheduled time."
MSG_WAITING = "Approved: waiting for more approvals."
MSG_REJECTED = "Promotion request rejected."
MSG_CANCELLED = "Promotion request cancelled."
MSG_PAUSED = "Roll-out paused."
MSG_RESUMED = "Roll-out resumed."
MSG_ROLLED_BACK = "Rolled back: {phase} is active again."
MSG_FIX_FORM = "Check the form: {errors}"


def _open_request(workflow: Workflow) -> PromotionRequest | None:
    return (
        PromotionRequest.objects.filter(workflow=workflow, status__in=OPEN_PROMOTION)
        .select_related("requested_by", "overridden_by", "from_phase", "to_phase")
        .prefetch_related("approvals__approver")
        .first()
    )


def _timeline(workflow: Workflow, phases: list[Phase]) -> object | None:
    """The phase timeline, once its selector exists (written alongside this feature)."""
    try:
        from rollout.selectors.plan import phase_timeline  # type: ignore[import-not-found]
    except ImportError:
        return None
    return phase_timeline(workflow, timezone.localdate(), phases)


def _has_timeline_template() -> bool:
    try:
        select_template(["rollout/_phase_timeline.html"])
    except TemplateDoesNotExist:
        return False
    return True


def promotion_card_context(
    user: AnyUser, workflow: Workflow, *, can_change: bool | None = None
) -> dict[str, Any]:
    """Context for the overview's phase/promotion card. Members see the phase only."""
    phases = list(workflow.phases.all())
    current = next((p for p in phases if p.status in IN_PROGRESS), None)
    context: dict[str, Any] = {"phases": phases, "current_phase": current}
    context["timeline"] = _timeline(workflow, phases) if _has_timeline_template() else None
    if not can_view_workflow(user, workflow):
        return context
    for phase in phases:
        phase.workflow = workflow
    if can_change is None:
        can_change = can_change_workflow(user, workflow)
    gate = gate_next(workflow) if current else None
    open_request = _open_request(workflow)
    ops = is_ops_leader(user)
    approvers = {a.approver_id for a in open_request.approvals.all()} if open_request else set()
    context.update(
        gate=gate,
        open_request=open_request,
        can_control=can_change,
        can_decide=bool(
            open_request
            and ops
            and open_request.status == "pending"
            and open_request.requested_by_id != user.pk
            and user.pk not in approvers
        ),
        can_reject=bool(open_request and ops and open_request.requested_by_id != user.pk),
        can_cancel=bool(open_request and (open_request.requested_by_id == user.pk or can_change)),
        workflow_blackouts=list(blackout_list_for(workflow).select_related("created_by")),
        request_form=PromotionRequestForm(),
        approve_form=PromotionApproveForm(),
        override_form=PromotionOverrideForm(),
        reject_form=PromotionRejectForm(),
        pause_form=PhasePauseForm(initial={"fallback_mode": workflow.fallback_mode}),
        rollback_form=PhaseRollbackForm(),
        blackout_form=BlackoutForm(),
    )
    return context


def _form_errors(form: Form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _invalid(request: HtmxHttpRequest, form: Form, workflow: Workflow) -> HttpResponse:
    messages.error(request, MSG_FIX_FORM.format(errors=_form_errors(form)))
    return redirect(workflow)


def _refused(request: HtmxHttpRequest, exc: ApplicationError, workflow: Workflow) -> HttpResponse:
    messages.error(request, exc.message)
    return redirect(workflow)


def _request_for(workflow: Workflow, request_id: int) -> PromotionRequest:
    return get_object_or_404(PromotionRequest, pk=request_id, workflow=workflow)


def _decidable(request: HtmxHttpRequest, slug: str, request_id: int) -> tuple:
    """(workflow, promotion request) for approving or rejecting: ops leaders only, else 404,
    like every change a role does not allow (executives never change anything)."""
    workflow = access_workflow(request.user, slug)
    if not is_ops_leader(request.user):
        raise Http404("No such promotion request.")
    return workflow, _request_for(workflow, request_id)


@require_GET
def workflow_gate(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The next promotion's checklist, refreshed by htmx on the overview."""
    workflow = access_workflow(request.user, slug)
    return render(
        request,
        "rollout/_gate_checklist.html",
        {"workflow": workflow, "gate": gate_next(workflow)},
    )


@require_POST
def workflow_promotion_request(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    form = PromotionRequestForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form, workflow)
    try:
        promotions.promotion_request(workflow=workflow, actor=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        return _refused(request, exc, workflow)
    messages.success(request, MSG_REQUESTED)
    return redirect(workflow)


def _approved_message(result: PromotionRequest) -> str:
    if result.status == "executed":
        return MSG_EXECUTED.format(phase=result.to_phase.get_kind_display())
    if result.status == "approved":
        return MSG_SCHEDULED
    return MSG_WAITING


@require_POST
def workflow_promotion_approve(
    request: HtmxHttpRequest, slug: str, request_id: int
) -> HttpResponse:
    workflow, promotion = _decidable(request, slug, request_id)
    form = PromotionApproveForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form, workflow)
    try:
        result = promotions.promotion_approve(
            request=promotion, actor=request.user, note=form.cleaned_data["note"]
        )
    except ApplicationError as exc:
        return _refused(request, exc, workflow)
    messages.success(request, _approved_message(result))
    return redirect(workflow)


@require_POST
def workflow_promotion_override(
    request: HtmxHttpRequest, slug: str, request_id: int
) -> HttpResponse:
    workflow, promotion = _decidable(request, slug, request_id)
    form = PromotionOverrideForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form, workflow)
    try:
        result = promotions.promotion_override(
            request=promotion, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        return _refused(request, exc, workflow)
    messages.success(request, _approved_message(result))
    return redirect(workflow)


@require_POST
def workflow_promotion_reject(request: HtmxHttpRequest, slug: str, request_id: int) -> HttpResponse:
    workflow, promotion = _decidable(request, slug, request_id)
    form = PromotionRejectForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form, workflow)
    try:
        promotions.promotion_reject(
            request=promotion, actor=request.user, note=form.cleaned_data["note"]
        )
    except ApplicationError as exc:
        return _refused(request, exc, workflow)
    messages.success(request, MSG_REJECTED)
    return redirect(workflow)


@require_POST
def workflow_promotion_cancel(request: HtmxHttpRequest, slug: str, request_id: int) -> HttpResponse:
    workflow = access_workflow(request.user, slug)
    promotion = _request_for(workflow, request_id)
    if promotion.requested_by_id != request.user.pk and not can_change_workflow(
        request.user, workflow
    ):
        raise Http404("No such promotion request.")
    try:
        promotions.promotion_cancel(request=promotion, actor=request.user)
    except ApplicationError as exc:
        return _refused(request, exc, workflow)
    messages.success(request, MSG_CANCELLED)
    return redirect(workflow)


@require_POST
def workflow_pause(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    form = PhasePauseForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form, workflow)
    try:
        phase_control.phase_pause(workflow=workflow, actor=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        return _refused(request, exc, workflow)
    messages.success(request, MSG_PAUSED)
    return redirect(workflow)


@require_POST
def workflow_resume(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    try:
        phase_control.phase_resume(workflow=workflow, actor=request.user)
    except ApplicationError as exc:
        return _refused(request, exc, workflow)
    messages.success(request, MSG_RESUMED)
    return redirect(workflow)


@require_POST
def workflow_rollback(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    form = PhaseRollbackForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form, workflow)
    try:
        phase = phase_control.phase_rollback(
            workflow=workflow, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        return _refused(request, exc, workflow)
    messages.success(request, MSG_ROLLED_BACK.format(phase=phase.get_kind_display()))
    return redirect(workflow)


@require_GET
def approval_list(request: HtmxHttpRequest) -> HttpResponse:
    """Open promotion requests across the portfolio, oldest first (ops leaders)."""
    if not is_ops_leader(request.user):
        raise PermissionDenied("Only ops leaders approve promotions.")
    pending = (
        PromotionRequest.objects.filter(status__in=OPEN_PROMOTION)
        .select_related("workflow", "requested_by", "from_phase", "to_phase")
        .prefetch_related("approvals__approver")
        .order_by("requested_at", "id")
    )
    from rollout.selectors.notices import notice_list_awaiting_approval

    urgent_notices = notice_list_awaiting_approval()  # urgent change notices (rule 5)
    context = {"pending": pending, "urgent_notices": urgent_notices}
    return render(request, "rollout/approval_list.html", context)
