"""A workflow's incidents: the list (open first) and one incident's page.

Owner and ops leaders open, update and close incidents; everyone else who may view the workflow
reads them; a cohort member reads the explanation of closed incidents that affected their cohorts
(rollout.selectors.incidents). With htmx a POST re-renders the changed part of the page from fresh
data; without it, the page redirects back to itself with a message.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.forms.fields import add_application_error
from rollout.forms.incidents import IncidentCloseForm, IncidentEntryForm, IncidentForm
from rollout.models import (
    Escalation,
    Incident,
    IncidentStatus,
    Severity,
    Workflow,
)
from rollout.permissions import access_workflow
from rollout.selectors.escalations import escalation_get_or_none
from rollout.selectors.incidents import (
    incident_get_for_user,
    incident_list_for_user,
    incident_timeline,
)
from rollout.selectors.notices import notice_get_for_incident

# The module, not its functions: keeps service and view names apart.
from rollout.services import incidents as services
from rollout.views._workflow import workflow_page_context

MSG_OPENED = "Opened the incident “{title}”. Add to its timeline as you learn more."
MSG_ENTRY_ADDED = "Added to the timeline."
MSG_ENTRY_POSTED = "Added to the timeline and posted to {audience}."
MSG_DETAILS_SAVED = "Saved the incident's details."
MSG_DETAILS_UNCHANGED = "Nothing to save: no detail was changed."
MSG_CLOSED = "Closed the incident. Its explanation was published to {audience}."
MSG_UNKNOWN_ACTION = "Unknown action."

ENTRY, DETAILS, CLOSE = "entry", "details", "close"


def _escalation(workflow: Workflow, raw: str | None) -> Escalation | None:
    """The escalation an incident is opened from (`?escalation=<id>`), if it is this workflow's."""
    if not raw or not raw.isdigit():
        return None
    return escalation_get_or_none(workflow, int(raw))


@require_http_methods(["GET", "POST"])
def workflow_incidents(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The incidents, open first, 50 to a page. POST opens one (owner or ops leader),
    optionally from an escalation (`escalation=<id>`, prefilled from `?escalation=<id>`)."""
    is_post = request.method == "POST"
    workflow = access_workflow(request.user, slug, for_change=is_post, members=not is_post)
    context = workflow_page_context(request.user, workflow, tab="incidents")
    escalation = _escalation(workflow, (request.POST if is_post else request.GET).get("escalation"))
    form = None
    if context["can_change"]:
        initial = {"severity": Severity.HIGH}
        if escalation is not None:
            initial.update(
                title=escalation.title, impact=escalation.description, severity=escalation.severity
            )
        form = IncidentForm(request.POST if is_post else None, initial=initial, workflow=workflow)
    if form is not None and form.is_bound and form.is_valid():
        try:
            incident = services.incident_open(
                workflow=workflow, actor=request.user, escalation=escalation, **form.cleaned_data
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, MSG_OPENED.format(title=incident.title))
            url = incident_url(incident)
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    page = paginate(incident_list_for_user(request.user, workflow), request.GET)
    context.update(
        page,
        incidents=page["page_obj"].object_list,
        form=form,
        escalation=escalation,
    )
    template = "rollout/workflow_incidents.html"
    if is_post and request.htmx:
        template += "#incident-open-form"
    return render(request, template, context)


def incident_url(incident: Incident) -> str:
    return reverse(
        "incident_detail", kwargs={"slug": incident.workflow.slug, "incident_id": incident.pk}
    )


def _render_detail(
    request: HtmxHttpRequest,
    workflow: Workflow,
    incident: Incident,
    *,
    entry_form: IncidentEntryForm | None = None,
    details_form: IncidentForm | None = None,
    close_form: IncidentCloseForm | None = None,
    done: str = "",
    partial: bool = False,
) -> HttpResponse:
    context = workflow_page_context(request.user, workflow, tab="incidents")
    is_open = incident.status == IncidentStatus.OPEN
    acts = context["can_change"] and is_open
    cohorts = list(incident.cohorts.all())
    context.update(
        incident=incident,
        cohorts=cohorts,
        audience=services.incident_audience(incident, cohorts),
        timeline=list(incident_timeline(incident)) if context["can_view"] else [],
        is_open=is_open,
        acts=acts,
        entry_form=(entry_form or IncidentEntryForm()) if acts else None,
        details_form=(details_form or IncidentForm.for_incident(incident)) if acts else None,
        close_form=(close_form or IncidentCloseForm()) if acts else None,
        details_open=bool(details_form and details_form.errors),
        done=done,
        # The explanation published as a change notice when the incident closed.
        notice=(notice_get_for_incident(incident) if context["can_view"] and not is_open else None),
    )
    template = "rollout/incident_detail.html"
    if partial:
        template += "#incident-body"
    return render(request, template, context)


def _incident(request: HtmxHttpRequest, workflow: Workflow, incident_id: int) -> Incident:
    try:
        incident = incident_get_for_user(request.user, workflow, incident_id)
    except Incident.DoesNotExist:
        raise Http404("No such incident.") from None
    incident.workflow = workflow
    return incident


@require_http_methods(["GET", "POST"])
def incident_detail(request: HtmxHttpRequest, slug: str, incident_id: int) -> HttpResponse:
    """One incident. POST (owner or ops leader) with action=entry adds a timeline entry,
    action=details corrects the details, action=close closes it and publishes the explanation."""
    is_post = request.method == "POST"
    workflow = access_workflow(request.user, slug, for_change=is_post, members=not is_post)
    incident = _incident(request, workflow, incident_id)
    if not is_post:
        return _render_detail(request, workflow, incident)
    action = request.POST.get("action")
    forms = {
        ENTRY: lambda: IncidentEntryForm(request.POST),
        DETAILS: lambda: IncidentForm.for_incident(incident, request.POST),
        CLOSE: lambda: IncidentCloseForm(request.POST),
    }
    if action not in forms:
        return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    form = forms[action]()
    done = ""
    if form.is_valid():
        try:
            done = _act(request, incident, action, form)
        except ApplicationError as exc:
            add_application_error(form, exc)
    if done and not request.htmx:
        messages.success(request, done)
        return redirect(incident_url(incident))
    if done:  # start again from fresh data, with empty forms
        incident = _incident(request, workflow, incident.pk)
        return _render_detail(request, workflow, incident, done=done, partial=True)
    kwargs = {f"{action}_form": form}
    return _render_detail(request, workflow, incident, partial=bool(request.htmx), **kwargs)


def _act(
    request: HtmxHttpRequest,
    incident: Incident,
    action: str,
    form: IncidentEntryForm | IncidentForm | IncidentCloseForm,
) -> str:
    """Run the action's service; return the message to show (an ApplicationError propagates)."""
    data = form.cleaned_data
    if action == ENTRY:
        services.incident_update_add(
            incident=incident,
            actor=request.user,
            text=data["text"],
            at=data["at"],
            publish=data["publish"],
        )
        if data["publish"]:
            return MSG_ENTRY_POSTED.format(audience=services.incident_audience(incident))
        return MSG_ENTRY_ADDED
    if action == DETAILS:
        if not form.has_changed():
            return MSG_DETAILS_UNCHANGED
        services.incident_update_details(incident=incident, actor=request.user, **data)
        return MSG_DETAILS_SAVED
    incident = services.incident_close(
        incident=incident,
        actor=request.user,
        what_happened=data["what_happened"],
        what_changed=data["what_changed"],
    )
    return MSG_CLOSED.format(audience=services.incident_audience(incident))
