"""One workflow's own pages: create, overview, edit, hand over."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.selectors import user_get
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.fields import add_application_error
from rollout.forms.workflows import WorkflowCreateForm, WorkflowDetailsForm, WorkflowHandoverForm
from rollout.lib.numbers import format_count, format_percent
from rollout.models import Workflow
from rollout.permissions import (
    access_workflow,
    can_create_workflow,
    can_handover_workflow,
    can_view_workflow,
)
from rollout.selectors.briefings import briefing_member_status
from rollout.selectors.follows import follow_exists
from rollout.selectors.health import workflow_health
from rollout.selectors.impact import headline, impact_headlines
from rollout.selectors.incidents import incident_list_open
from rollout.selectors.setup import workflow_setup_steps
from rollout.selectors.usage import usage_window
from rollout.selectors.usage_summary import period_days
from rollout.selectors.workflows import activity_list_for_workflow

# The module, not its functions: the views share the services' names (workflow_handover).
from rollout.services import workflows as services
from rollout.views._workflow import workflow_page_context
from rollout.views.promotions import promotion_card_context

RECENT_ACTIVITY = 5
KEY_METRICS_DAYS = 7
OPEN_INCIDENTS_SHOWN = 3  # one more is fetched, to say "and more"

MSG_CREATED = "Created “{name}”. {owner} owns it and can now set it up."
MSG_UPDATED = "Saved your changes to “{name}”."
MSG_UNCHANGED = "Nothing to save: no field was changed."
MSG_HANDED_OVER = "{owner} now owns “{name}”."
MSG_HANDED_OVER_AWAY = "{owner} now owns “{name}”. You no longer have access to it."


@require_http_methods(["GET", "POST"])
def workflow_new(request: HtmxHttpRequest) -> HttpResponse:
    """Create a workflow with its one owner (ops leaders only)."""
    if not can_create_workflow(request.user):
        raise PermissionDenied("Only ops leaders can create workflows.")
    form = WorkflowCreateForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            workflow = services.workflow_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_CREATED.format(name=workflow.name, owner=workflow.owner))
            return redirect(workflow)
    return render(request, "rollout/workflow_new.html", {"form": form})


def _key_metrics(workflow: Workflow) -> list[tuple[str, str, str]]:
    """(label, value, detail) for the last 7 days, from the rollups (three queries)."""
    start, end = period_days(KEY_METRICS_DAYS, today=timezone.localdate())
    c = usage_window(workflow, start=start, end=end)
    active = min(c.active_users, c.members)
    # "Active members" everywhere: who used it at least once in the period, of all members (the
    # usage page's table says the same for its period; its chart is the typical day instead).
    people = (
        f"{format_count(active)} of {format_count(c.members)} used it at least once"
        if c.members
        else ""
    )
    p95 = "—" if c.p95_latency_ms is None else f"{format_count(c.p95_latency_ms)} ms"
    acted_on = f"of {format_count(c.outcomes)} outputs acted on"
    return [
        ("Invocations", format_count(c.invocations), ""),
        ("Active members", format_percent(c.adoption_rate), people),
        ("Acceptance", format_percent(c.acceptance_rate), acted_on),
        ("Override", format_percent(c.override_rate), acted_on),
        ("Error", format_percent(c.error_rate), f"of {format_count(c.invocations)} invocations"),
        ("p95 latency", p95, f"{format_count(c.latency_count)} timed" if c.latency_count else ""),
    ]


@require_GET
def workflow_overview(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    workflow = access_workflow(request.user, slug, members=True)
    context = workflow_page_context(request.user, workflow, tab="overview")
    if context["can_view"]:  # activity, health and metrics are owner-facing, not for members
        context["recent_activity"] = list(activity_list_for_workflow(workflow)[:RECENT_ACTIVITY])
        context["health"] = workflow_health([workflow.pk])[workflow.pk]
        context["key_metrics"] = _key_metrics(workflow)
        context["key_metrics_days"] = KEY_METRICS_DAYS
        context["impact"] = headline(impact_headlines([workflow.pk]).get(workflow.pk, []))
        context["open_incidents"] = list(incident_list_open(workflow)[: OPEN_INCIDENTS_SHOWN + 1])
        # The Follow button (rollout/services/follows.py): for everyone who may view it.
        context["can_follow"] = True
        context["is_following"] = follow_exists(request.user, workflow)
    context.update(promotion_card_context(request.user, workflow, can_change=context["can_change"]))
    if not context["can_view"]:
        # A cohort member with a briefing to read is told so first (the owner's roles see the
        # briefing page's coverage instead).
        context["briefing"] = briefing_member_status(workflow, request.user)
    if context["can_change"]:
        steps = workflow_setup_steps(workflow)
        # A new workflow's checklist, until every step is done or the roll-out starts.
        if steps and not all(step.done for step in steps):
            context["setup_steps"] = steps
            context["setup_done"] = sum(step.done for step in steps)
    return render(request, "rollout/workflow_overview.html", context)


@require_http_methods(["GET", "POST"])
def workflow_edit(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Edit the descriptive fields (owner or ops leader). Slug and owner are not edited here."""
    workflow = access_workflow(request.user, slug, for_change=True)
    initial = {name: getattr(workflow, name) for name in services.EDITABLE_FIELDS}
    form = WorkflowDetailsForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_bound and form.is_valid():
        if not form.has_changed():
            messages.info(request, MSG_UNCHANGED)
            return redirect(workflow)
        try:
            workflow = services.workflow_update(
                workflow=workflow, actor=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_UPDATED.format(name=workflow.name))
            return redirect(workflow)
    context = workflow_page_context(request.user, workflow, tab="edit")
    context["form"] = form
    return render(request, "rollout/workflow_edit.html", context)


@require_http_methods(["GET", "POST"])
def workflow_handover(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Name a new owner. Ops leaders for any workflow; an owner for their own."""
    workflow = access_workflow(request.user, slug)
    if not can_handover_workflow(request.user, workflow):
        raise Http404("No such workflow.")
    form = WorkflowHandoverForm(
        request.POST if request.method == "POST" else None, workflow=workflow
    )
    if form.is_bound and form.is_valid():
        try:
            workflow = services.workflow_handover(
                workflow=workflow,
                actor=request.user,
                new_owner=form.cleaned_data["new_owner"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            # Guardian caches permissions on the user object: ask again with a fresh one, since
            # an owner handing their own workflow on may just have lost access to it.
            actor = user_get(request.user.pk)
            if can_view_workflow(actor, workflow):
                messages.success(
                    request, MSG_HANDED_OVER.format(owner=workflow.owner, name=workflow.name)
                )
                return redirect(workflow)
            messages.success(
                request, MSG_HANDED_OVER_AWAY.format(owner=workflow.owner, name=workflow.name)
            )
            return redirect("home")
    context = workflow_page_context(request.user, workflow, tab="handover")
    context["form"] = form
    return render(request, "rollout/workflow_handover.html", context)
