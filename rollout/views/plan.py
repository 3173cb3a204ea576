"""The plan page of one workflow: phases and timeline, data sources, readiness, plan settings.

One GET page; each change is its own POST URL that calls one service and redirects back. Invalid
input re-renders the page with that one form bound, its errors beside its fields.
"""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.plan import (
    DataSourceForm,
    PhaseForm,
    PlanCreateForm,
    PlanSettingsForm,
    ReadinessForm,
)
from rollout.models import DataSource, ReadinessQuestion, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.blackouts import phase_blackout_conflicts
from rollout.selectors.plan import (
    data_source_get,
    data_source_list,
    phase_get,
    phase_list,
    phase_timeline,
    readiness_current,
)
from rollout.selectors.source_health import source_has_reports, source_health_list
from rollout.services.data_sources import (
    data_source_create,
    data_source_delete,
    data_source_update,
)
from rollout.services.phases import phase_update, plan_create_default
from rollout.services.plan_settings import plan_settings_update
from rollout.services.readiness import readiness_answer
from rollout.views._workflow import workflow_page_context

MSG_PLAN_CREATED = "Created the default plan from {date}. The data audit is active."
MSG_PHASE_SAVED = "Saved {phase}."
MSG_UNCHANGED = "Nothing to save: no field was changed."
MSG_NO_SUCH_PHASE = "That phase is not part of this workflow's plan. Reload the page."
MSG_SOURCE_ADDED = "Added the data source “{name}”."
MSG_SOURCE_SAVED = "Saved the data source “{name}”."
MSG_SOURCE_REMOVED = "Removed the data source “{name}”."
MSG_NO_SUCH_SOURCE = "That data source no longer exists. Reload the page."
MSG_ANSWERED = "Recorded your answer to “{question}”."
MSG_NO_SUCH_QUESTION = "There is no such readiness question. Reload the page."
MSG_SETTINGS_SAVED = "Saved the plan settings."


def _plan_url(workflow: Workflow) -> str:
    return reverse("workflow_plan", kwargs={"slug": workflow.slug})


def _render(
    request: HtmxHttpRequest, workflow: Workflow, bound: dict[str, forms.Form] | None = None
) -> HttpResponse:
    """The plan page; `bound` replaces the blank forms named by its keys (a failed submission)."""
    bound = bound or {}
    context = workflow_page_context(request.user, workflow, tab="plan")
    can_change = context["can_change"]
    phases = list(phase_list(workflow))
    sources = list(data_source_list(workflow))
    health = {row.source.pk: row for row in source_health_list(workflow)}
    for source in sources:
        source.health = health.get(source.pk)
    readiness = readiness_current(workflow, observe=True)
    today = timezone.localdate()
    if can_change:
        for phase in phases:
            phase.form = bound.get(f"phase-{phase.kind}") or PhaseForm(
                prefix=f"phase-{phase.kind}",
                initial={
                    "planned_start": phase.planned_start,
                    "planned_end": phase.planned_end,
                    "min_duration_days": phase.min_duration_days,
                    "exit_criteria": phase.exit_criteria,
                },
            )
        for source in sources:
            reported = source.health is not None and source.health.last_seen_at is not None
            source.form = bound.get(f"source-{source.pk}") or DataSourceForm(
                prefix=f"source-{source.pk}", instance=source, key_fixed=reported
            )
        for item in readiness:
            item.form = bound.get(f"q-{item.question}") or ReadinessForm(
                prefix=f"q-{item.question}"
            )
        context.update(
            create_form=bound.get("create") or PlanCreateForm(initial={"start_date": today}),
            source_form=bound.get("source-new") or DataSourceForm(prefix="source-new"),
            settings_form=bound.get("settings")
            or PlanSettingsForm(instance=workflow, approvals_editable=is_ops_leader(request.user)),
        )
    conflicts = phase_blackout_conflicts(workflow, phases)
    for phase in phases:
        phase.blackout_conflicts = conflicts.get(phase.pk, [])
    context.update(
        phases=phases,
        blackout_conflicts=sum(conflicts.values(), []),
        sources=sources,
        readiness=readiness,
        timeline=phase_timeline(workflow, today, phases=phases),
        bound=bound,
    )
    return render(request, "rollout/workflow_plan.html", context)


def _done(request: HtmxHttpRequest, workflow: Workflow, message: str, anchor: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(f"{_plan_url(workflow)}#{anchor}")


@require_GET
def workflow_plan(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug)
    return _render(request, workflow)


@require_POST
def workflow_plan_create(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    form = PlanCreateForm(request.POST)
    if form.is_valid():
        start = form.cleaned_data["start_date"]
        try:
            plan_create_default(workflow=workflow, start_date=start, actor=request.user)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            label = date_format(start, "j M Y")
            return _done(request, workflow, MSG_PLAN_CREATED.format(date=label), "phases")
    return _render(request, workflow, {"create": form})


@require_POST
def workflow_phase_edit(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    phase = phase_get(workflow, request.POST.get("phase", ""))
    if phase is None:
        messages.error(request, MSG_NO_SUCH_PHASE)
        return redirect(_plan_url(workflow))
    key = f"phase-{phase.kind}"
    form = PhaseForm(request.POST, prefix=key)
    if form.is_valid():
        try:
            saved = phase_update(phase=phase, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            name = saved.get_kind_display()
            return _done(request, workflow, MSG_PHASE_SAVED.format(phase=name), key)
    return _render(request, workflow, {key: form})


@require_POST
def workflow_source_new(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    form = DataSourceForm(request.POST, prefix="source-new")
    if form.is_valid():
        try:
            source = data_source_create(workflow=workflow, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            message = MSG_SOURCE_ADDED.format(name=source.name)
            return _done(request, workflow, message, "data-sources")
    return _render(request, workflow, {"source-new": form})


def _posted_source(request: HtmxHttpRequest, workflow: Workflow) -> DataSource | None:
    source_id = request.POST.get("source", "")
    if not source_id.isdigit():
        return None
    return data_source_get(workflow, int(source_id))


@require_POST
def workflow_source_edit(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    source = _posted_source(request, workflow)
    if source is None:
        messages.error(request, MSG_NO_SUCH_SOURCE)
        return redirect(_plan_url(workflow))
    key = f"source-{source.pk}"
    form = DataSourceForm(
        request.POST, prefix=key, instance=source, key_fixed=source_has_reports(source)
    )
    if form.is_valid():
        try:
            source = data_source_update(source=source, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            message = MSG_SOURCE_SAVED.format(name=source.name)
            return _done(request, workflow, message, "data-sources")
    return _render(request, workflow, {key: form})


@require_POST
def workflow_source_delete(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    source = _posted_source(request, workflow)
    if source is None:
        messages.error(request, MSG_NO_SUCH_SOURCE)
        return redirect(_plan_url(workflow))
    data_source_delete(source=source, actor=request.user)
    return _done(request, workflow, MSG_SOURCE_REMOVED.format(name=source.name), "data-sources")


@require_POST
def workflow_readiness_answer(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    question = request.POST.get("question", "")
    if question not in ReadinessQuestion.values:
        messages.error(request, MSG_NO_SUCH_QUESTION)
        return redirect(_plan_url(workflow))
    key = f"q-{question}"
    form = ReadinessForm(request.POST, prefix=key)
    if form.is_valid():
        try:
            readiness_answer(
                workflow=workflow, actor=request.user, question=question, **form.cleaned_data
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            label = ReadinessQuestion(question).label
            return _done(request, workflow, MSG_ANSWERED.format(question=label), key)
    return _render(request, workflow, {key: form})


@require_POST
def workflow_plan_settings(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    form = PlanSettingsForm(
        request.POST, instance=workflow, approvals_editable=is_ops_leader(request.user)
    )
    if form.is_valid():
        if not form.has_changed():
            messages.info(request, MSG_UNCHANGED)
            return redirect(f"{_plan_url(workflow)}#plan-settings")
        try:
            plan_settings_update(workflow=workflow, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            return _done(request, workflow, MSG_SETTINGS_SAVED, "plan-settings")
    return _render(request, workflow, {"settings": form})
