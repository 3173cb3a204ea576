"""The workflow's feedback page: the triage inbox for the workflow's viewers (the bulk bar for the
owner and ops leaders), the own and public lists for cohort members."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.forms.feedback import FeedbackBulkForm, FeedbackFilterForm
from rollout.lib.numbers import format_count
from rollout.models import Workflow
from rollout.permissions import access_workflow
from rollout.selectors.cohorts import cohort_list_by_name
from rollout.selectors.feedback import (
    feedback_assignee_list,
    feedback_list_by_author,
    feedback_list_for_triage,
    feedback_list_public,
)
from rollout.services import feedback as services
from rollout.views._workflow import workflow_page_context
from rollout.views.feedback._common import (
    MSG_UNKNOWN_ACTION,
    PAGE,
    PER_PAGE,
    SHOWN,
    in_words,
    page_roles,
    plural,
    triage_choices,
)

MSG_BULK_DONE = "Updated {count} {items}: {changes}."
MSG_BULK_ALREADY = "{count} {were} already so."
MSG_BULK_UNCHANGED = "Nothing to change: {count} ticked {were} already so."


@require_http_methods(["GET", "POST"])
def workflow_feedback(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Viewers of the workflow get the filterable inbox (with triage controls and the bulk bar
    for the owner and ops leaders); cohort members their own feedback and the public status list.
    POST action=bulk (owner, ops leaders) changes the ticked items, then the page restarts: the
    list for htmx, a flash message and a redirect to the same filtered page otherwise."""
    user = request.user
    workflow = access_workflow(user, slug, members=True)
    context = workflow_page_context(user, workflow, tab="feedback")
    context.update(page_roles(user, workflow))
    if request.method == "POST":
        if request.POST.get("action") != "bulk":
            return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
        if not context["can_triage"]:
            raise Http404("No such workflow.")
        message, error = _bulk(request, workflow)
        if not request.htmx:
            (messages.error if error else messages.success)(request, message)
            # The form posts to the page's own address: back to the same filters and page.
            return redirect(request.get_full_path())
        context.update(toast=message, toast_error=error)
    if not context["can_view"]:
        context.update(
            own=list(feedback_list_by_author(workflow, user)[:SHOWN]),
            public=list(feedback_list_public(workflow, user)[:SHOWN]),
            shown=SHOWN,
            next_url=request.get_full_path(),
        )
        return render(request, PAGE, context)
    cohorts = cohort_list_by_name(workflow)
    filter_form = FeedbackFilterForm(request.GET or None, cohorts=cohorts)
    query = filter_form.query()
    context.update(
        paginate(
            feedback_list_for_triage(workflow, **filter_form.filters()),
            request.GET,
            per_page=PER_PAGE,
        ),
        filter_form=filter_form,
        # The page links keep the filters as the form understood them.
        page_query=f"{query}&" if query else "",
        next_url=request.get_full_path(),
    )
    if context["can_triage"]:
        context.update(triage_choices(workflow))
        context["bulk_form"] = FeedbackBulkForm(assignees=context["assignees"], auto_id="bulk-%s")
    template = PAGE
    if request.htmx and not request.htmx.history_restore_request:
        template += "#triage-list"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _bulk(request: HtmxHttpRequest, workflow: Workflow) -> tuple[str, bool]:
    """The bulk bar's POST: (message, is it an error)."""
    form = FeedbackBulkForm(request.POST, assignees=feedback_assignee_list(workflow))
    if not form.is_valid():
        return " ".join(e for errors in form.errors.values() for e in errors), True
    changes = form.changes()
    try:
        done = services.feedback_triage_bulk(
            workflow=workflow, ids=form.cleaned_data["ids"], actor=request.user, **changes
        )
    except ApplicationError as exc:
        return exc.message, True
    return _bulk_message(len(done.changed), len(done.unchanged), changes), False


def _bulk_message(changed: int, unchanged: int, changes: dict[str, Any]) -> str:
    """ "Updated 4 items: status In progress." (and how many already were so)."""
    if not changed:
        return MSG_BULK_UNCHANGED.format(
            count=format_count(unchanged), were="was" if unchanged == 1 else "were"
        )
    message = MSG_BULK_DONE.format(
        count=format_count(changed), items=plural(changed, "item"), changes=in_words(changes)
    )
    if unchanged:
        message += " " + MSG_BULK_ALREADY.format(
            count=format_count(unchanged), were="was" if unchanged == 1 else "were"
        )
    return message
