"""One cohort's place on the autonomy ladder (issue 18 §2): its review level, the live gate of
the next step down (or of the pending request), the request with its approvals, and the history.

Named POST actions, each one service call, then a flash message and a redirect back here:
`change` (owner, ops leaders: up at once, down as a request), `approve`, `override` and `reject`
(ops leaders other than the requester), `cancel` (the requester, owner, ops leaders). A refusal
is flashed and nothing changes.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.autonomy import ApprovalNoteForm, ReviewLevelForm
from rollout.gates.autonomy import autonomy_gate
from rollout.models import LADDER, AutonomyRequest, AutonomyStatus, Cohort, ReviewLevel, Workflow
from rollout.permissions import access_workflow, can_change_workflow
from rollout.selectors.autonomy import (
    autonomy_get_for_cohort,
    autonomy_history,
    autonomy_pending_by_cohort,
)
from rollout.selectors.cohorts import cohort_get_for_workflow
from rollout.services import autonomy as services
from rollout.views._workflow import workflow_page_context

PAGE = "rollout/cohort_review_level.html"
MSG_RAISED = "“{name}” is now at: {level}. More review takes effect at once."
MSG_REQUESTED = "Asked the ops leaders to approve less review for “{name}”: {label}."
MSG_APPROVED = "Approved."
MSG_CHANGED = "Approved: “{name}” is now at {level}."
MSG_REJECTED = "Rejected."
MSG_CANCELLED = "Cancelled the request."
MSG_UNKNOWN_ACTION = "Unknown action."


def _cohort_or_404(workflow: Workflow, cohort_id: int) -> Cohort:
    try:
        cohort = cohort_get_for_workflow(workflow, cohort_id)
    except Cohort.DoesNotExist:
        raise Http404("No such cohort.") from None
    cohort.workflow = workflow
    return cohort


def _url(workflow: Workflow, cohort: Cohort) -> str:
    return reverse("cohort_review_level", kwargs={"slug": workflow.slug, "cohort_id": cohort.pk})


def next_step_down(cohort: Cohort) -> str | None:
    """The rung below the cohort's level, or None at the bottom."""
    position = LADDER.index(cohort.review_level)
    return LADDER[position + 1] if position + 1 < len(LADDER) else None


@require_http_methods(["GET", "POST"])
def cohort_review_level(request: HtmxHttpRequest, slug: str, cohort_id: int) -> HttpResponse:
    """GET: the cohort's ladder (everyone who may see the workflow). POST: a named action."""
    workflow = access_workflow(request.user, slug)
    cohort = _cohort_or_404(workflow, cohort_id)
    if request.method == "GET":
        return _page(request, workflow, cohort)
    action = request.POST.get("action", "")
    if action == "change":
        if not can_change_workflow(request.user, workflow):
            raise Http404("No such workflow.")
        return _change(request, workflow, cohort)
    if action not in {"approve", "override", "reject", "cancel"}:
        messages.error(request, MSG_UNKNOWN_ACTION)
        return redirect(_url(workflow, cohort))
    try:
        autonomy = autonomy_get_for_cohort(cohort, int(request.POST.get("request", "")))
    except (ValueError, AutonomyRequest.DoesNotExist):
        raise Http404("No such request.") from None
    note = ApprovalNoteForm(request.POST)
    text = note.cleaned_data["note"] if note.is_valid() else ""
    try:
        if action == "approve":
            done = services.autonomy_approve(request=autonomy, actor=request.user, note=text)
        elif action == "override":
            done = services.autonomy_override(request=autonomy, actor=request.user, reason=text)
        elif action == "reject":
            done = services.autonomy_reject(request=autonomy, actor=request.user, note=text)
        else:
            done = services.autonomy_cancel(request=autonomy, actor=request.user, note=text)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(_url(workflow, cohort))
    if action == "reject":
        messages.success(request, MSG_REJECTED)
    elif action == "cancel":
        messages.success(request, MSG_CANCELLED)
    elif done.status == AutonomyStatus.EXECUTED:
        cohort = _cohort_or_404(workflow, cohort.pk)
        level = services.level_text(cohort.review_level, cohort.review_sample_rate).lower()
        messages.success(request, MSG_CHANGED.format(name=cohort.name, level=level))
    else:
        messages.success(request, MSG_APPROVED)
    return redirect(_url(workflow, cohort))


def _change(request: HtmxHttpRequest, workflow: Workflow, cohort: Cohort) -> HttpResponse:
    form = ReviewLevelForm(request.POST)
    if not form.is_valid():
        return _page(request, workflow, cohort, form=form)
    data = form.cleaned_data
    try:
        asked = services.autonomy_change(
            cohort=cohort,
            actor=request.user,
            to_level=data["to_level"],
            sample_rate=data["sample_rate"],
            note=data["note"],
        )
    except ApplicationError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _page(request, workflow, cohort, form=form)
    if asked is None:
        cohort = _cohort_or_404(workflow, cohort.pk)
        level = services.level_text(cohort.review_level, cohort.review_sample_rate).lower()
        messages.success(request, MSG_RAISED.format(name=cohort.name, level=level))
    else:
        messages.success(request, MSG_REQUESTED.format(name=cohort.name, label=asked.label))
    return redirect(_url(workflow, cohort))


def _page(
    request: HtmxHttpRequest,
    workflow: Workflow,
    cohort: Cohort,
    *,
    form: ReviewLevelForm | None = None,
) -> HttpResponse:
    pending = autonomy_pending_by_cohort(workflow).get(cohort.pk)
    below = next_step_down(cohort)
    gate_to = pending.to_level if pending else below
    gate = autonomy_gate(cohort, to_level=gate_to) if gate_to else None
    context = workflow_page_context(request.user, workflow, tab="cohorts")
    context.update(
        cohort=cohort,
        pending=pending,
        gate=gate,
        gate_to=ReviewLevel(gate_to).label if gate_to else "",
        history=autonomy_history(cohort),
        form=form
        or ReviewLevelForm(
            initial={
                "to_level": below or cohort.review_level,
                "sample_rate": cohort.review_sample_rate,
            }
        ),
        can_approve=is_ops_leader(request.user)
        and pending is not None
        and pending.requested_by_id != request.user.pk,
        ladder=[(level, level.label) for level in LADDER],
    )
    return render(request, PAGE, context, status=200)
