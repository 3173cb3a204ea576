"""The failure-mode briefing of a workflow: everyone who may open the workflow reads the current
version and its history; a cohort member acknowledges it; the owner and ops leaders publish the
next version and see who has acknowledged, per cohort.

One page with named POST actions ("action" field): each calls one service, flashes a message and
redirects back. Invalid input re-renders the page with the errors beside the fields.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.briefings import BriefingForm
from rollout.forms.fields import add_application_error
from rollout.lib.markdown import render_markdown
from rollout.lib.numbers import format_people
from rollout.models import Briefing, BriefingRequirement, PhaseKind, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.briefings import (
    briefing_coverage_by_cohort,
    briefing_current,
    briefing_draft_initial,
    briefing_get_for_workflow,
    briefing_list,
    briefing_member_ids,
    briefing_member_status,
)
from rollout.services.briefings import BriefingText, briefing_acknowledge, briefing_publish
from rollout.views._workflow import workflow_page_context

MSG_PUBLISHED_MATERIAL = "Published version {number}. {count} asked to read and acknowledge it."
MSG_PUBLISHED_MINOR = "Published version {number} as a minor correction: nobody is asked again."
MSG_ACKNOWLEDGED = "Thank you: you acknowledged version {number} of the briefing."
MSG_ALREADY = "You had already acknowledged version {number}: nothing changed."
MSG_NO_SUCH_VERSION = "That briefing version is not one of this workflow's. Nothing was recorded."
MSG_UNKNOWN_ACTION = "Unknown action."
SECTIONS = ("what_it_does", "bad_output", "wrong_examples", "what_to_do")


def _rendered(briefing: Briefing) -> dict[str, str]:
    return {name: render_markdown(getattr(briefing, name)) for name in SECTIONS}


def _page(
    request: HtmxHttpRequest, workflow: Workflow, *, form: BriefingForm | None = None
) -> HttpResponse:
    context = workflow_page_context(request.user, workflow, tab="briefing")
    current = briefing_current(workflow)
    context["current"] = current
    if workflow.briefing_required_from != BriefingRequirement.NEVER:
        context["required_phase"] = PhaseKind(workflow.briefing_required_from).label.lower()
    context["versions"] = list(briefing_list(workflow))
    if current is not None:
        context["sections"] = _rendered(current)
    context["mine"] = briefing_member_status(workflow, request.user)
    if context["can_change"]:
        context["coverage"] = briefing_coverage_by_cohort(workflow)
        context["form"] = form or BriefingForm(
            initial=briefing_draft_initial(workflow), first=current is None
        )
        context["form_open"] = current is None or form is not None
    return render(request, "rollout/workflow_briefing.html", context)


def _back(workflow: Workflow, anchor: str = "") -> HttpResponse:
    url = reverse("workflow_briefing", kwargs={"slug": workflow.slug})
    return redirect(f"{url}#{anchor}" if anchor else url)


@require_http_methods(["GET", "POST"])
def workflow_briefing(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """GET: everyone who may open the workflow (cohort members included). POST action=publish:
    the owner and ops leaders; action=acknowledge: a cohort member, for the current version."""
    action = request.POST.get("action", "")
    if request.method == "GET":
        return _page(request, access_workflow(request.user, slug, members=True))
    if action == "publish":
        return _publish(request, access_workflow(request.user, slug, for_change=True))
    workflow = access_workflow(request.user, slug, members=True)
    if action == "acknowledge":
        return _acknowledge(request, workflow)
    messages.error(request, MSG_UNKNOWN_ACTION)
    return _back(workflow)


def _publish(request: HtmxHttpRequest, workflow: Workflow) -> HttpResponse:
    first = briefing_current(workflow) is None
    form = BriefingForm(request.POST, first=first)
    if form.is_valid():
        data = form.cleaned_data
        try:
            briefing = briefing_publish(
                workflow=workflow,
                actor=request.user,
                text=BriefingText(**{name: data[name] for name in SECTIONS}),
                material=data.get("material", True),
                change_note=data.get("change_note", ""),
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            if briefing.material:
                asked = format_people(len(briefing_member_ids(workflow)))
                message = MSG_PUBLISHED_MATERIAL.format(number=briefing.number, count=asked)
            else:
                message = MSG_PUBLISHED_MINOR.format(number=briefing.number)
            messages.success(request, message)
            return _back(workflow)
    return _page(request, workflow, form=form)


def _acknowledge(request: HtmxHttpRequest, workflow: Workflow) -> HttpResponse:
    try:
        briefing = briefing_get_for_workflow(workflow, int(request.POST.get("briefing", "")))
    except (ValueError, Briefing.DoesNotExist):
        messages.error(request, MSG_NO_SUCH_VERSION)
        return _back(workflow)
    briefing.workflow = workflow
    try:
        acknowledgement, created = briefing_acknowledge(briefing=briefing, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(workflow)
    message = MSG_ACKNOWLEDGED if created else MSG_ALREADY
    (messages.success if created else messages.info)(
        request, message.format(number=acknowledgement.briefing.number)
    )
    return _back(workflow, "acknowledgement")
