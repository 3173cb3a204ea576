"""One escalation: its facts and full timeline, and the actions of the people it concerns.

Everyone who may view the workflow reads it; the owner, ops leaders and the contacts it has
notified act on it (executives read only). One page, named POST actions: a plain POST redirects
back with a message, an htmx POST gets the panel re-rendered from fresh data.
"""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.escalations import (
    EscalationNoteForm,
    EscalationReassignForm,
    EscalationResolveForm,
)
from rollout.forms.fields import add_application_error
from rollout.models import Escalation, EscalationStatus, Workflow
from rollout.permissions import access_workflow, can_act_on_escalation
from rollout.selectors.escalation_path import escalation_level_list
from rollout.selectors.escalations import escalation_get_for_workflow
from rollout.services import escalations as services
from rollout.views._workflow import workflow_page_context

PAGE = "rollout/escalation_detail.html"
MSG_ACKNOWLEDGED = "Acknowledged. The escalation stops climbing; resolve it when it is fixed."
MSG_REASSIGNED = "Handed to {contact}."
MSG_RESOLVED = "Resolved. The note is in the timeline."
MSG_NOTE_ADDED = "Note added."
MSG_UNKNOWN_ACTION = "Unknown action."
MSG_NEXT_LEVEL = "level {position} ({contact}) is told unless it is acknowledged first"
MSG_NEXT_OWNER = "the owner is told that nobody acknowledged, unless someone does first"

ACKNOWLEDGE, REASSIGN, RESOLVE, NOTE = "acknowledge", "reassign", "resolve", "note"
ACTIONS = (ACKNOWLEDGE, REASSIGN, RESOLVE, NOTE)


def _forms(
    request: HtmxHttpRequest, workflow: Workflow, escalation: Escalation, action: str | None
) -> dict[str, Any]:
    data = request.POST
    return {
        "reassign_form": EscalationReassignForm(
            data if action == REASSIGN else None, workflow=workflow, escalation=escalation
        ),
        "resolve_form": EscalationResolveForm(data if action == RESOLVE else None),
        "note_form": EscalationNoteForm(data if action == NOTE else None),
    }


def _render(
    request: HtmxHttpRequest,
    workflow: Workflow,
    escalation: Escalation,
    forms: dict[str, Any],
    *,
    done: str = "",
    error: str = "",
) -> HttpResponse:
    context = workflow_page_context(request.user, workflow, tab="escalation")
    context.update(
        escalation=escalation,
        can_act=can_act_on_escalation(request.user, escalation),
        # Owner and ops leaders open incidents (rollout.views.incidents), here prefilled from this
        # escalation and linked to it; once linked, the page links the incident instead.
        can_open_incident=context["can_change"] and escalation.incident_id is None,
        is_open=escalation.status == EscalationStatus.OPEN,
        is_resolved=escalation.status == EscalationStatus.RESOLVED,
        next_step=_next_step(escalation),
        done=done,
        error=error,
        **forms,
    )
    template = f"{PAGE}#escalation-panel" if request.htmx else PAGE
    return render(request, template, context)


def _next_step(escalation: Escalation) -> str:
    """What happens when the timer runs out: the next level is told, or the path is exhausted."""
    if escalation.status != EscalationStatus.OPEN or escalation.next_step_at is None:
        return ""
    levels = escalation_level_list(escalation.workflow)
    total = services.total_steps(levels, escalation.workflow.escalation_repeat_last)
    if escalation.step >= total:
        return MSG_NEXT_OWNER
    level = services.level_for_step(levels, escalation.step + 1)
    return MSG_NEXT_LEVEL.format(position=level.position, contact=level.contact)


def _run(action: str, escalation: Escalation, request: HtmxHttpRequest, forms: dict) -> str:
    """Call the action's service; return the message to show. ApplicationError on refusal;
    ValueError when the form itself is invalid (its errors are on the form)."""
    actor = request.user
    if action == ACKNOWLEDGE:
        services.escalation_acknowledge(escalation=escalation, actor=actor)
        return MSG_ACKNOWLEDGED
    form = forms[f"{action}_form"]
    if not form.is_valid():
        raise ValueError(action)
    data = form.cleaned_data
    if action == REASSIGN:
        services.escalation_reassign(
            escalation=escalation, actor=actor, contact=data["contact"], note=data["note"]
        )
        return MSG_REASSIGNED.format(contact=data["contact"])
    if action == RESOLVE:
        services.escalation_resolve(escalation=escalation, actor=actor, note=data["note"])
        return MSG_RESOLVED
    services.escalation_add_note(escalation=escalation, actor=actor, note=data["note"])
    return MSG_NOTE_ADDED


@require_http_methods(["GET", "POST"])
def escalation_detail(request: HtmxHttpRequest, slug: str, escalation_id: int) -> HttpResponse:
    """GET: the escalation and its timeline. POST action=acknowledge|reassign|resolve|note."""
    workflow = access_workflow(request.user, slug)
    escalation = escalation_get_for_workflow(workflow, escalation_id)
    if request.method == "GET":
        return _render(request, workflow, escalation, _forms(request, workflow, escalation, None))
    if not can_act_on_escalation(request.user, escalation):
        raise Http404("No such escalation.")  # read-only viewers: as if there were nothing here
    action = request.POST.get("action")
    if action not in ACTIONS:
        return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    forms = _forms(request, workflow, escalation, action)
    error = ""
    try:
        done = _run(action, escalation, request, forms)
    except ValueError:
        pass  # the form shows its errors
    except ApplicationError as exc:
        if action == ACKNOWLEDGE:
            error = exc.message
        else:
            add_application_error(forms[f"{action}_form"], exc)
    else:
        if request.htmx:
            fresh = escalation_get_for_workflow(workflow, escalation.pk)
            return _render(
                request, workflow, fresh, _forms(request, workflow, fresh, None), done=done
            )
        messages.success(request, done)
        return redirect("escalation_detail", slug=workflow.slug, escalation_id=escalation.pk)
    return _render(request, workflow, escalation, forms, error=error)
