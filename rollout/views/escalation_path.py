"""A workflow's escalation path page: the path (its levels) and the workflow's escalations. Viewed
by the owner-facing roles, contacts included; changed, and an escalation opened by hand, by the
owner or an ops leader. One escalation's page and actions are in rollout.views.escalations.

One view with named POST actions. `add`, `edit`, `repeat` and `open` are forms: invalid input
re-renders the page with the errors beside the field, success redirects. `move` and `remove` are a
level's buttons: htmx gets the path card back (the level forms out of band, since the number of
levels changed), a plain POST a flash message and a redirect. Editing a level is a page state,
`?edit=<level id>`.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.forms.escalation_path import EscalationLevelForm, EscalationRepeatForm
from rollout.forms.escalations import EscalationOpenForm
from rollout.forms.fields import add_application_error
from rollout.models import EscalationLevel, EscalationSource, EscalationStatus, Workflow
from rollout.permissions import access_workflow, can_change_workflow
from rollout.selectors.escalation_path import escalation_level_get, escalation_level_list
from rollout.selectors.escalations import (
    ORIGIN_MODELS,
    escalation_list_open,
    escalation_list_past,
    escalation_origin_get,
)
from rollout.selectors.feedback import feedback_title
from rollout.selectors.thresholds import threshold_sentence

# The module, not its functions: keeps service and view names apart.
from rollout.services import escalation_path as services
from rollout.services.escalations import escalation_open
from rollout.views._workflow import workflow_page_context

PAGE = "rollout/escalation_path.html"
PATH_CARD = "escalation-path"

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
MSG_UNKNOWN_ORIGIN = "What this escalation was opened from is not part of this workflow."

ADD, EDIT, REPEAT, OPEN, MOVE, REMOVE = "add", "edit", "repeat", "open", "move", "remove"
FORM_ACTIONS = (ADD, EDIT, REPEAT, OPEN)


def _path_context(workflow: Workflow) -> dict[str, Any]:
    levels = escalation_level_list(workflow)
    return {
        "levels": [
            (level, services.format_minutes(level.response_target_minutes)) for level in levels
        ],
    }


def _render(
    request: HtmxHttpRequest,
    workflow: Workflow,
    *,
    level_form: EscalationLevelForm | None = None,
    repeat_form: EscalationRepeatForm | None = None,
    editing: EscalationLevel | None = None,
    open_form: EscalationOpenForm | None = None,
) -> HttpResponse:
    context = workflow_page_context(request.user, workflow, tab="escalation")
    # Open and resolved escalations page on their own (open_page=, resolved_page=).
    open_pages = paginate(escalation_list_open(workflow), request.GET, param="open_page")
    past_pages = paginate(escalation_list_past(workflow), request.GET, param="resolved_page")
    context.update(
        _path_context(workflow),
        level_form=level_form or EscalationLevelForm(workflow=workflow),
        repeat_form=repeat_form or _repeat_form(workflow),
        editing=editing,
        open_pages=open_pages,
        open_escalations=open_pages["page_obj"].object_list,
        EscalationStatus=EscalationStatus,
        past_pages=past_pages,
        past_escalations=past_pages["page_obj"].object_list,
        open_form=open_form or EscalationOpenForm(),
    )
    return render(request, PAGE, context)


def _repeat_form(workflow: Workflow, data: QueryDict | None = None) -> EscalationRepeatForm:
    return EscalationRepeatForm(data, initial={"repeat_last": workflow.escalation_repeat_last})


def _origin_item(workflow: Workflow, kind: str, pk: int | None):
    if pk is None:
        return None
    item = escalation_origin_get(workflow, kind, pk)
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


def _prefill(workflow: Workflow, query: QueryDict) -> dict[str, object] | None:
    """`?feedback=<id>` (or incident, threshold): the form starts from that item. An id that
    is not this workflow's is ignored, like any unknown query parameter."""
    for kind in ORIGIN_MODELS:
        raw = query.get(kind, "")
        if not raw.isdigit():
            continue
        item = escalation_origin_get(workflow, kind, int(raw))
        if item is None:
            return None
        if kind == "feedback":
            title, details = f"Feedback #{item.pk}: {feedback_title(item)}", item.text
        elif kind == "incident":
            title, details = f"Incident: {item.title}", item.impact
        else:
            title, details = f"Threshold breached: {threshold_sentence(item)}", item.bad_output
        return {kind: item.pk, "title": title[:200], "description": details[:4000]}
    return None


def _level(workflow: Workflow, raw_id: str) -> EscalationLevel:
    """A level of this workflow; a level of another workflow is a 404 like any unknown one."""
    try:
        return escalation_level_get(workflow, int(raw_id) if raw_id.isdigit() else 0)
    except EscalationLevel.DoesNotExist:
        raise Http404("No such escalation level.") from None


@require_http_methods(["GET", "POST"])
def escalation_path(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The escalations and the path, in order; `?edit=<level id>` (owner, ops leaders) shows the
    form for that level. POST (owner, ops leaders) with action=add appends a level, action=edit
    (`level=<id>`) saves one, action=repeat sets the repeat, action=move (`level`,
    `direction=up|down`) and action=remove (`level`) reorder the path, action=open opens an
    escalation by hand."""
    is_post = request.method == "POST"
    workflow = access_workflow(request.user, slug, for_change=is_post)
    if not is_post:
        return _get(request, workflow)
    action = request.POST.get("action", "")
    if action in LEVEL_ACTIONS:
        return _level_action(request, workflow, action)
    if action not in FORM_ACTIONS:
        return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    return _form_action(request, workflow, action)


def _get(request: HtmxHttpRequest, workflow: Workflow) -> HttpResponse:
    raw_edit = request.GET.get("edit")
    if raw_edit is None:
        open_form = EscalationOpenForm(initial=_prefill(workflow, request.GET))
        return _render(request, workflow, open_form=open_form)
    # Editing is a change: for anyone else the level is as unknown as it is to a stranger.
    if not can_change_workflow(request.user, workflow):
        raise Http404("No such escalation level.")
    level = _level(workflow, raw_edit)
    form = EscalationLevelForm.for_level(level)
    return _render(request, workflow, level_form=form, editing=level)


def _form_action(request: HtmxHttpRequest, workflow: Workflow, action: str) -> HttpResponse:
    editing = _level(workflow, request.POST.get("level", "")) if action == EDIT else None
    level_form = (
        EscalationLevelForm.for_level(editing, request.POST)
        if editing is not None
        else EscalationLevelForm(request.POST if action == ADD else None, workflow=workflow)
    )
    repeat_form = _repeat_form(workflow, request.POST if action == REPEAT else None)
    open_form = EscalationOpenForm(request.POST if action == OPEN else None)
    form = {ADD: level_form, EDIT: level_form, REPEAT: repeat_form, OPEN: open_form}[action]
    if form.is_valid():
        try:
            return _save(request, workflow, action, form, editing)
        except ApplicationError as exc:
            add_application_error(form, exc)
    return _render(
        request,
        workflow,
        level_form=level_form,
        repeat_form=repeat_form,
        editing=editing,
        open_form=open_form,
    )


def _save(
    request: HtmxHttpRequest,
    workflow: Workflow,
    action: str,
    form: Any,
    editing: EscalationLevel | None,
) -> HttpResponse:
    """Run a valid form's service; flash its message and redirect (ApplicationError on refusal)."""
    path = redirect("escalation_path", slug=workflow.slug)
    if action == ADD:
        level = services.escalation_level_add(
            workflow=workflow, actor=request.user, **form.service_kwargs()
        )
        summary = services.level_summary(level)
        messages.success(request, MSG_LEVEL_ADDED.format(position=level.position, summary=summary))
        return path
    if action == EDIT and editing is not None:
        if not form.has_changed():
            messages.info(request, MSG_LEVEL_UNCHANGED.format(position=editing.position))
            return path
        services.escalation_level_update(level=editing, actor=request.user, **form.service_kwargs())
        messages.success(request, MSG_LEVEL_UPDATED.format(position=editing.position))
        return path
    if action == REPEAT:
        workflow = services.escalation_repeat_set(
            workflow=workflow, actor=request.user, repeat_last=form.cleaned_data["repeat_last"]
        )
        messages.success(request, MSG_REPEAT_SET.format(count=workflow.escalation_repeat_last))
        return path
    data = dict(form.cleaned_data)
    origin = _origin(workflow, data.pop("feedback"), data.pop("incident"), data.pop("threshold"))
    escalation = escalation_open(workflow=workflow, actor=request.user, **origin, **data)
    who = (
        MSG_WHO_NOTIFIED.format(contact=escalation.current_contact)
        if escalation.current_contact
        else MSG_NOBODY_NOTIFIED
    )
    messages.success(request, MSG_ESCALATION_OPENED.format(who=who))
    return redirect("escalation_detail", slug=workflow.slug, escalation_id=escalation.pk)


def _move(request: HtmxHttpRequest, level: EscalationLevel) -> str:
    direction = request.POST.get("direction", "")
    services.escalation_level_move(level=level, actor=request.user, direction=direction)
    position = level.position - 1 if direction == "up" else level.position + 1
    return MSG_LEVEL_MOVED.format(contact=level.contact, position=position)


def _remove(request: HtmxHttpRequest, level: EscalationLevel) -> str:
    services.escalation_level_remove(level=level, actor=request.user)
    return MSG_LEVEL_REMOVED.format(position=level.position)


LEVEL_ACTIONS: dict[str, Callable[[HtmxHttpRequest, EscalationLevel], str]] = {
    MOVE: _move,
    REMOVE: _remove,
}


def _level_action(request: HtmxHttpRequest, workflow: Workflow, action: str) -> HttpResponse:
    level = _level(workflow, request.POST.get("level", ""))
    try:
        message, error = LEVEL_ACTIONS[action](request, level), False
    except ApplicationError as exc:
        message, error = exc.message, True
    if not request.htmx:
        (messages.error if error else messages.success)(request, message)
        return redirect("escalation_path", slug=workflow.slug)
    context = workflow_page_context(request.user, workflow, tab="escalation")
    context.update(
        _path_context(workflow),
        level_form=EscalationLevelForm(workflow=workflow),
        repeat_form=_repeat_form(workflow),
    )
    card = render_to_string(
        f"{PAGE}#{PATH_CARD}",
        {**context, "card_message": message, "card_error": error},
        request=request,
    )
    forms = render_to_string(f"{PAGE}#level-forms", {**context, "oob": True}, request=request)
    return HttpResponse(card + forms)
