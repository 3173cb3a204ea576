"""The workflow's outcome metrics: what the integration reports as `outcome` events, declared by
the owner (issue 18 §1). Everyone who reads the workflow sees them; the owner and ops leaders
declare, edit, archive and restore them (named POST actions)."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.outcome_metrics import OutcomeMetricEditForm, OutcomeMetricForm
from rollout.models import OutcomeMetric, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.outcome_metrics import outcome_metric_get, outcome_metric_list
from rollout.services import outcome_metrics as services
from rollout.views._workflow import workflow_page_context

MSG_DECLARED = "“{name}” is declared: send outcome events with attrs.metric = {name}."
MSG_EDITED = "“{name}” is saved."
MSG_ARCHIVED = "“{name}” is archived: events naming it are refused from now on."
MSG_RESTORED = "“{name}” is current again."
MSG_UNKNOWN_ACTION = "Unknown action."
ACTIONS = {"create", "edit", "archive", "restore"}


def _edit_form(metric: OutcomeMetric) -> OutcomeMetricEditForm:
    return OutcomeMetricEditForm(
        auto_id=f"id_m{metric.pk}_%s",
        initial={
            "label": metric.label,
            "unit": metric.unit,
            "higher_is_better": metric.higher_is_better,
        },
    )


def _page(
    request: HtmxHttpRequest,
    workflow: Workflow,
    *,
    create_form: forms.Form | None = None,
    bound: tuple[int, forms.Form] | None = None,
) -> HttpResponse:
    metrics = list(outcome_metric_list(workflow))
    for metric in metrics:
        metric.edit_form = bound[1] if bound and bound[0] == metric.pk else _edit_form(metric)
    context = workflow_page_context(request.user, workflow, tab="outcomes")
    context.update(
        metrics=metrics,
        create_form=create_form or OutcomeMetricForm(auto_id="id_new_%s"),
    )
    return render(request, "rollout/workflow_outcomes.html", context)


@require_http_methods(["GET", "POST"])
def workflow_outcomes(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    if request.method == "GET":
        return _page(request, access_workflow(request.user, slug))
    workflow = access_workflow(request.user, slug, for_change=True)
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, MSG_UNKNOWN_ACTION)
        return redirect("workflow_outcomes", slug=workflow.slug)
    if action == "create":
        return _create(request, workflow)
    metric = outcome_metric_get(workflow, request.POST.get("metric"))
    if action == "edit":
        return _edit(request, workflow, metric)
    try:
        services.outcome_metric_archive(
            metric=metric, actor=request.user, archived=action == "archive"
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        done = MSG_ARCHIVED if action == "archive" else MSG_RESTORED
        messages.success(request, done.format(name=metric.name))
    return redirect("workflow_outcomes", slug=workflow.slug)


def _create(request: HtmxHttpRequest, workflow: Workflow) -> HttpResponse:
    form = OutcomeMetricForm(request.POST, auto_id="id_new_%s")
    if form.is_valid():
        try:
            metric = services.outcome_metric_create(
                workflow=workflow, actor=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_DECLARED.format(name=metric.name))
            return redirect("workflow_outcomes", slug=workflow.slug)
    return _page(request, workflow, create_form=form)


def _edit(request: HtmxHttpRequest, workflow: Workflow, metric: OutcomeMetric) -> HttpResponse:
    form = OutcomeMetricEditForm(request.POST, auto_id=f"id_m{metric.pk}_%s")
    if form.is_valid():
        try:
            services.outcome_metric_update(metric=metric, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_EDITED.format(name=metric.name))
            return redirect("workflow_outcomes", slug=workflow.slug)
    return _page(request, workflow, bound=(metric.pk, form))
