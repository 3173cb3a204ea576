"""A workflow's escalation path and its escalations: view them (owner-facing roles, contacts
included); change the path and open an escalation by hand (owner or ops leader). One escalation's
page and actions are in rollout.views.escalations."""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.escalation_path import EscalationLevelForm, EscalationRepeatForm
from rollout.forms.escalations import EscalationOpenForm
from rollout.forms.fields import add_application_error
from rollout.models import (
    EscalationLevel,
    EscalationSource,
    Feedback,
    Incident,
    Threshold,
    Workflow,
)
from rollout.permissions import access_workflow
from rollout.selectors.escalations import escalation_list_open, escalation_list_past
from rollout.selectors.feedback import feedback_title
from rollout.selectors.thresholds import threshold_sentence

# The module, not its functions: keeps service and view names apart.
from rollout.services import escalation_path as services
from rollout.services.escalations import escalation_open
from rollout.views._workflow import workflow_page_context

MSG_LEVEL_ADDED = "Added level {position}: {summary}."
MSG_LEVEL_UPDATED = "Saved level {position}."
MSG_LEVEL_UNCHANGED = "Nothing to save: level {position} is unchanged."
MSG_LEVEL_REMOVED = "Removed level {position}. The levels after it moved up."
MSG_LEVEL_MOVED = "Moved {contact} to level {position}."
MSG_REPEAT_SET = "The last level is now repeated {count} more time(s) if nobody acknowledges."
MSG_UNKNOWN_ACTION = "Unknown action."
MSG_ESCALATION_OPENED = "Escalation opened. {who}"
MSG_WHO_NOTIFIED = "{contact} (level 1) was notified."
MSG_NOBODY_NOTIFIED = "Nobody was notified: add levels to the escalation path."

ADD, REPEAT, OPEN = "add", "repeat", "open"


def _render(
    request: HtmxHttpRequest,
    workflow: Workflow,
    *,
    level_form: EscalationLevelForm,
    repeat_form: EscalationRepeatForm,
    editing: EscalationLevel | None = None,
    open_form: EscalationOpenForm | None = None,
) -> HttpResponse:
    levels = list(workflow.escalation_levels.select_related("contact").order_by("position"))
    context = workflow_page_context(request.user, workflow, tab="escalation")
    context.update(
        levels=[
            (level, services.format_minutes(level.response_target_minutes)) for level in levels
        ],
        level_form=level_form,
        repeat_form=repeat_form,
        editing=editing,
        open_escalations=list(escalation_list_open(workflow)),
        past_escalations=list(escalation_list_past(workflow)),
        open_form=open_form or EscalationOpenForm(),
    )
    return render(request, "rollout/workflow_escalation.html", context)


MSG_UNKNOWN_ORIGIN = "What this escalation was opened from is not part of this workflow."
ORIGINS = ("feedback", "incident", "threshold")


def _origin_item(workflow: Workflow, kind: str, pk: int | None):
    model = {"feedback": Feedback, "incident": Incident, "threshold": Threshold}[kind]
    if pk is None:
        return None
    item = model.objects.filter(workflow=workflow, pk=pk).first()
    if item is None:
        raise ApplicationError(MSG_UNKNOWN_ORIGIN)
    return item


def _origin(
    workflow: Workflow, feedback: int | None, incident: int | None, threshold: int | None
) -> dict[str, object]:
    """The escalation's source and link, when it is opened by hand from one item."""
    items = {
        "feedback": _origin_item(workflow, "feedback", feedback),
        "incident": _origin_item(workflow, "incident", incident),
        "threshold": _origin_item(workflow, "threshold", threshold),
    }
    source = {"feedback": EscalationSource.FEEDBACK, "incident": EscalationSource.INCIDENT}
    for kind, item in items.items():
        if item is not None:
            return {kind: item, "source": source.get(kind, EscalationSource.BREACH)}
    return {"source": EscalationSource.MANUAL}


def _prefill(workflow: Workflow, query) -> dict[str, object] | None:
    """`?feedback=<id>` (or incident, threshold): the form starts from that item. An id that
    is not this workflow's is ignored, like any unknown query parameter."""
    for kind in ORIGINS:
        raw = query.get(kind, "")
        if not raw.isdigit():
            continue
        try:
            item = _origin_item(workflow, kind, int(raw))
        except ApplicationError:
            return None
        if kind == "feedback":
            title, details = f"Feedback #{item.pk}: {feedback_title(item)}", item.text
        elif kind == "incident":
            title, details = f"Incident: {item.title}", item.impact
        else:
            title, details = f"Threshold breached: {threshold_sentence(item)}", item.bad_output
        return {kind: item.pk, "title": title[:200], "description": details[:4000]}
    return None


def _level(workflow: Workflow, level_id: int) -> EscalationLevel:
    """A level of this workflow; a level of another workflow is a 404 like any unknown one."""
    return get_object_or_404(
        EscalationLevel.objects.select_related("contact", "workflow"),
        pk=level_id,
        workflow=workflow,
    )


@require_http_methods(["GET", "POST"])
def workflow_escalation(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The escalations and the path, in order. POST with action=add appends a level;
    action=repeat sets the repeat; action=open opens an escalation by hand."""
    is_post = request.method == "POST"
    workflow = access_workflow(request.user, slug, for_change=is_post)
    action = request.POST.get("action") if is_post else None
    if is_post and action not in (ADD, REPEAT, OPEN):
        return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    level_form = EscalationLevelForm(request.POST if action == ADD else None)
    repeat_form = EscalationRepeatForm(
        request.POST if action == REPEAT else None,
        initial={"repeat_last": workflow.escalation_repeat_last},
    )
    open_form = EscalationOpenForm(
        request.POST if action == OPEN else None,
        initial=None if is_post else _prefill(workflow, request.GET),
    )
    try:
        if action == ADD and level_form.is_valid():
            level = services.escalation_level_add(
                workflow=workflow, actor=request.user, **level_form.service_kwargs()
            )
            summary = services.level_summary(level)
            messages.success(
                request, MSG_LEVEL_ADDED.format(position=level.position, summary=summary)
            )
            return redirect("workflow_escalation", slug=workflow.slug)
        if action == REPEAT and repeat_form.is_valid():
            workflow = services.escalation_repeat_set(
                workflow=workflow,
                actor=request.user,
                repeat_last=repeat_form.cleaned_data["repeat_last"],
            )
            messages.success(request, MSG_REPEAT_SET.format(count=workflow.escalation_repeat_last))
            return redirect("workflow_escalation", slug=workflow.slug)
        if action == OPEN and open_form.is_valid():
            data = dict(open_form.cleaned_data)
            origin = _origin(
                workflow, data.pop("feedback"), data.pop("incident"), data.pop("threshold")
            )
            escalation = escalation_open(workflow=workflow, actor=request.user, **origin, **data)
            who = (
                MSG_WHO_NOTIFIED.format(contact=escalation.current_contact)
                if escalation.current_contact
                else MSG_NOBODY_NOTIFIED
            )
            messages.success(request, MSG_ESCALATION_OPENED.format(who=who))
            return redirect("escalation_detail", slug=workflow.slug, escalation_id=escalation.pk)
    except ApplicationError as exc:
        form = {ADD: level_form, REPEAT: repeat_form, OPEN: open_form}[action]
        add_application_error(form, exc)
    return _render(
        request, workflow, level_form=level_form, repeat_form=repeat_form, open_form=open_form
    )


@require_http_methods(["GET", "POST"])
def escalation_level_edit(request: HtmxHttpRequest, slug: str, level_id: int) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    level = _level(workflow, level_id)
    form = EscalationLevelForm.for_level(level, request.POST or None)
    if form.is_bound and form.is_valid():
        if not form.has_changed():
            messages.info(request, MSG_LEVEL_UNCHANGED.format(position=level.position))
            return redirect("workflow_escalation", slug=workflow.slug)
        try:
            services.escalation_level_update(
                level=level, actor=request.user, **form.service_kwargs()
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_LEVEL_UPDATED.format(position=level.position))
            return redirect("workflow_escalation", slug=workflow.slug)
    repeat_form = EscalationRepeatForm(initial={"repeat_last": workflow.escalation_repeat_last})
    return _render(request, workflow, level_form=form, repeat_form=repeat_form, editing=level)


@require_POST
def escalation_level_remove(request: HtmxHttpRequest, slug: str, level_id: int) -> HttpResponse:
    workflow = access_workflow(request.user, slug, for_change=True)
    level = _level(workflow, level_id)
    services.escalation_level_remove(level=level, actor=request.user)
    messages.success(request, MSG_LEVEL_REMOVED.format(position=level.position))
    return redirect("workflow_escalation", slug=workflow.slug)


@require_POST
def escalation_level_move(request: HtmxHttpRequest, slug: str, level_id: int) -> HttpResponse:
    """POST direction=up|down: swap the level with its neighbour."""
    workflow = access_workflow(request.user, slug, for_change=True)
    level = _level(workflow, level_id)
    direction = request.POST.get("direction", "")
    try:
        services.escalation_level_move(level=level, actor=request.user, direction=direction)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        position = level.position - 1 if direction == "up" else level.position + 1
        messages.success(request, MSG_LEVEL_MOVED.format(contact=level.contact, position=position))
    return redirect("workflow_escalation", slug=workflow.slug)
