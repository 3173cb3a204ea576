"""A workflow's quality thresholds: read by every owner-facing role, changed by owner or ops."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.thresholds import ThresholdForm
from rollout.models import QUALITY_METRICS, Metric, Threshold, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.ai_config import ai_config_restart
from rollout.selectors.impact import impact_alpha_note
from rollout.selectors.thresholds import (
    threshold_get_for_workflow,
    threshold_list_for_workflow,
    threshold_sentence,
)

# The module, not its functions: keeps service and view names apart.
from rollout.services import thresholds as services
from rollout.views._workflow import workflow_page_context

MSG_ADDED = "Added the threshold: {sentence}."
MSG_ADDED_AFTER_LAUNCH = (
    "Added the threshold: {sentence}. The limited roll-out has started, so it is marked as "
    "added after launch."
)
MSG_UPDATED = "Saved the threshold: {sentence}."
MSG_UPDATED_AFTER_LAUNCH = (
    "Saved the threshold: {sentence}. It was loosened after the limited roll-out started, so it "
    "is marked as changed after launch."
)
MSG_UNCHANGED = "Nothing to save: no field was changed."
MSG_DELETED = "Deleted the threshold: {sentence}."


def _threshold(workflow: Workflow, threshold_id: int) -> Threshold:
    """A threshold of this workflow; one of another workflow is a 404 like any unknown one."""
    try:
        return threshold_get_for_workflow(workflow, threshold_id)
    except Threshold.DoesNotExist:
        raise Http404("No such threshold.") from None


def _render(
    request: HtmxHttpRequest,
    workflow: Workflow,
    *,
    form: ThresholdForm,
    editing: Threshold | None = None,
) -> HttpResponse:
    thresholds = list(threshold_list_for_workflow(workflow))
    currency = form.currency
    context = workflow_page_context(request.user, workflow, tab="thresholds")
    context.update(
        thresholds=[(t, threshold_sentence(t, currency)) for t in thresholds],
        impact_note=impact_alpha_note(sum(1 for t in thresholds if t.metric == Metric.IMPACT)),
        has_quality_threshold=any(t.metric in QUALITY_METRICS for t in thresholds),
        quality_metrics=", ".join(Metric(m).label.lower() for m in QUALITY_METRICS),
        limited_started=services.limited_has_started(workflow),
        config_restart=ai_config_restart(workflow),
        form=form,
        editing=editing,
    )
    return render(request, "rollout/workflow_thresholds.html", context)


@require_http_methods(["GET", "POST"])
def workflow_thresholds(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The thresholds as sentences. POST adds one."""
    workflow = access_workflow(request.user, slug, for_change=request.method == "POST")
    form = ThresholdForm(request.POST or None, workflow=workflow)
    if form.is_bound and form.is_valid():
        try:
            threshold = services.threshold_create(
                workflow=workflow, actor=request.user, **form.service_kwargs()
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            message = MSG_ADDED_AFTER_LAUNCH if threshold.added_after_launch else MSG_ADDED
            messages.success(request, message.format(sentence=threshold_sentence(threshold)))
            return redirect("workflow_thresholds", slug=workflow.slug)
    return _render(request, workflow, form=form)


@require_http_methods(["GET", "POST"])
def threshold_edit(request: HtmxHttpRequest, slug: str, threshold_id: int) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    threshold = _threshold(workflow, threshold_id)
    form = ThresholdForm.for_threshold(threshold, request.POST or None)
    if form.is_bound and form.is_valid():
        if not form.has_changed():
            messages.info(request, MSG_UNCHANGED)
            return redirect("workflow_thresholds", slug=workflow.slug)
        was_marked = threshold.added_after_launch
        try:
            threshold = services.threshold_update(
                threshold=threshold, actor=request.user, **form.service_kwargs()
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            marked_now = threshold.added_after_launch and not was_marked
            message = MSG_UPDATED_AFTER_LAUNCH if marked_now else MSG_UPDATED
            messages.success(request, message.format(sentence=threshold_sentence(threshold)))
            return redirect("workflow_thresholds", slug=workflow.slug)
    return _render(request, workflow, form=form, editing=threshold)


@require_POST
def threshold_delete(request: HtmxHttpRequest, slug: str, threshold_id: int) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    threshold = _threshold(workflow, threshold_id)
    sentence = threshold_sentence(threshold)
    services.threshold_delete(threshold=threshold, actor=request.user)
    messages.success(request, MSG_DELETED.format(sentence=sentence))
    return redirect("workflow_thresholds", slug=workflow.slug)
