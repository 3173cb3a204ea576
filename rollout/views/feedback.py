"""Feedback pages: the quick form members fill in, the workflow's feedback page (triage for the
owner and ops leaders, read-only for other viewers; own feedback and the public status list for
cohort members), and one item with its comments.

Every action on an item is a POST to `feedback_detail` with a named action. htmx gets the item's
partial back (the one named by HX-Target), a plain POST a flash message and a redirect, so all of
it works without JavaScript.
"""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts.models import User
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.forms.feedback import (
    CommentForm,
    FeedbackBulkForm,
    FeedbackFilterForm,
    FeedbackForm,
    MergeForm,
    TriageForm,
)
from rollout.forms.fields import add_application_error
from rollout.lib.numbers import format_count
from rollout.models import Feedback, FeedbackStatus, Severity, Workflow
from rollout.permissions import access_workflow, can_give_feedback, can_triage_feedback
from rollout.selectors.cohorts import cohort_list_by_name
from rollout.selectors.feedback import (
    feedback_assignee_list,
    feedback_comment_list,
    feedback_get_by_author,
    feedback_get_for_workflow,
    feedback_list_by_author,
    feedback_list_for_triage,
    feedback_list_public,
    feedback_merge_targets,
    feedback_title,
    feedback_url,
)
from rollout.services import feedback as services
from rollout.views._workflow import workflow_page_context

PAGE = "rollout/workflow_feedback.html"
NEW = "rollout/feedback_new.html"
DETAIL = "rollout/feedback_detail.html"
PANEL = "rollout/feedback_panel.html"
PANEL_TARGET = "triage-panel"  # the inbox's side panel, by its id
PER_PAGE = 25
SHOWN = 50  # a member's own feedback and the public list: the newest / most backed

MSG_THANKS = "Thank you: your feedback reached the owner of {workflow}."
MSG_TRIAGED = "Saved #{id}: {changes}."
MSG_BULK_DONE = "Updated {count} {items}: {changes}."
MSG_BULK_ALREADY = "{count} {were} already so."
MSG_BULK_UNCHANGED = "Nothing to change: {count} ticked {were} already so."
MSG_COMMENTED = "Comment added to #{id}."
MSG_VOTED = "Counted: you said “me too” to #{id}."
MSG_MERGED = "#{id} is merged into #{into}."
MSG_UNKNOWN_ACTION = "Unknown action."

TRIAGER_ACTIONS = {"triage", "merge"}
MEMBER_ACTIONS = {"comment", "vote"}


def _triage_choices(workflow: Workflow) -> dict[str, Any]:
    """What the triage controls offer: one query for the people, whatever the list's length."""
    assignees = feedback_assignee_list(workflow)
    return {
        "statuses": FeedbackStatus.choices,
        "severities": Severity.choices,
        "assignees": assignees,
        "assignee_ids": {u.pk for u in assignees},
    }


def _roles(user: User, workflow: Workflow) -> dict[str, bool]:
    return {
        "can_triage": can_triage_feedback(user, workflow),
        "can_give": can_give_feedback(user, workflow),
    }


@require_http_methods(["GET", "POST"])
def feedback_new(request: HtmxHttpRequest) -> HttpResponse:
    """`?workflow=<slug>[&event=<event id>]`: the form; after sending, `&thanks=<id>` says
    thank you and links to the feedback. No role on the workflow: 404, as for any page of it."""
    user = request.user
    workflow = access_workflow(user, request.GET.get("workflow", ""), members=True)
    if not can_give_feedback(user, workflow):
        raise Http404("No such workflow.")
    context: dict[str, Any] = {"workflow": workflow}
    thanks = request.GET.get("thanks", "")
    if request.method == "GET" and thanks.isdigit():
        sent = feedback_get_by_author(workflow, user, int(thanks))
        if sent is not None:
            sent.workflow = workflow
            context.update(sent=sent, title=feedback_title(sent))
            return render(request, NEW, context)
    form = FeedbackForm(
        request.POST or None,
        initial={"event_id": request.GET.get("event", ""), "notify_by_email": True},
    )
    # People who want feedback updates by email get them anyway: the box is for those who do not.
    if user.email_feedback:
        del form.fields["notify_by_email"]
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            feedback = services.feedback_create(
                workflow=workflow,
                author=user,
                rating=data["rating"],
                category=data["category"],
                text=data["text"],
                event_id=data["event_id"] or None,
                source="form",
                notify_by_email=data.get("notify_by_email", True),
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            query = f"?workflow={workflow.slug}&thanks={feedback.pk}"
            return redirect(reverse("feedback_new") + query)
    context.update(
        form=form,
        show_event=bool(form["event_id"].value() or form["event_id"].errors),
        ask_email="notify_by_email" in form.fields,
        action=request.get_full_path(),
    )
    return render(request, NEW, context)


@require_http_methods(["GET", "POST"])
def workflow_feedback(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Viewers of the workflow get the filterable inbox (with triage controls and the bulk bar
    for the owner and ops leaders); cohort members their own feedback and the public status list.
    POST action=bulk (owner, ops leaders) changes the ticked items, then the page restarts: the
    list for htmx, a flash message and a redirect to the same filtered page otherwise."""
    user = request.user
    workflow = access_workflow(user, slug, members=True)
    context = workflow_page_context(user, workflow, tab="feedback")
    context.update(_roles(user, workflow))
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
        context.update(_triage_choices(workflow))
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
        count=format_count(changed), items=_plural(changed, "item"), changes=_in_words(changes)
    )
    if unchanged:
        message += " " + MSG_BULK_ALREADY.format(
            count=format_count(unchanged), were="was" if unchanged == 1 else "were"
        )
    return message


def _in_words(changes: dict[str, Any]) -> str:
    """{"status": "in_progress", "assignee": None} → "status In progress, assignee nobody"."""
    words = []
    if "status" in changes:
        words.append(f"status {FeedbackStatus(changes['status']).label}")
    if "severity" in changes:
        severity = changes["severity"]
        words.append(f"severity {Severity(severity).label if severity else 'not set'}")
    if "assignee" in changes:
        words.append(f"assignee {changes['assignee'] or 'nobody'}")
    return ", ".join(words)


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


def _feedback_or_404(workflow: Workflow, feedback_id: int, user: User) -> Feedback:
    try:
        return feedback_get_for_workflow(workflow, feedback_id, user)
    except Feedback.DoesNotExist:
        raise Http404("No such feedback.") from None


@require_http_methods(["GET", "POST"])
def feedback_detail(request: HtmxHttpRequest, slug: str, feedback_id: int) -> HttpResponse:
    """One item and its comments. POST action=triage|merge (owner, ops leaders) or
    action=comment|vote (people who use the workflow)."""
    user = request.user
    workflow = access_workflow(user, slug, members=True)
    feedback = _feedback_or_404(workflow, feedback_id, user)
    roles = _roles(user, workflow)
    if request.method == "GET":
        # The inbox's side panel asks for the item alone (htmx); the address is the detail page's,
        # which a phone, or a browser without JavaScript, opens instead.
        panel = bool(request.htmx) and request.htmx.target == PANEL_TARGET
        response = _detail(request, workflow, feedback, roles, panel=panel)
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response
    action = request.POST.get("action", "")
    if action not in TRIAGER_ACTIONS | MEMBER_ACTIONS:
        return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    allowed = roles["can_triage"] or (action in MEMBER_ACTIONS and roles["can_give"])
    if not allowed:
        raise Http404("No such feedback.")
    handler = {"triage": _triage, "merge": _merge, "comment": _comment, "vote": _vote}[action]
    try:
        message, error = handler(request, feedback)
    except ApplicationError as exc:
        message, error = exc.message, True
    return _after(request, workflow, feedback, roles, message=message, error=error)


def _triage(request: HtmxHttpRequest, feedback: Feedback) -> tuple[str, bool]:
    form = TriageForm(request.POST)
    if not form.is_valid():
        return " ".join(e for errors in form.errors.values() for e in errors), True
    data = form.cleaned_data
    after = services.feedback_triage(
        feedback=feedback,
        actor=request.user,
        status=data["status"],
        severity=data["severity"],
        assignee=data["assignee"],
    )
    changes: dict[str, Any] = {}
    if after.status != feedback.status:
        changes["status"] = after.status
    if after.severity != feedback.severity:
        changes["severity"] = after.severity
    if after.assignee_id != feedback.assignee_id:
        changes["assignee"] = after.assignee
    return MSG_TRIAGED.format(id=feedback.pk, changes=_in_words(changes)), False


def _merge(request: HtmxHttpRequest, feedback: Feedback) -> tuple[str, bool]:
    form = MergeForm(request.POST)
    if not form.is_valid():
        return " ".join(form.errors["into"]), True
    into = form.cleaned_data["into"]
    services.feedback_merge_by_id(duplicate=feedback, into_id=into, actor=request.user)
    return MSG_MERGED.format(id=feedback.pk, into=into), False


def _comment(request: HtmxHttpRequest, feedback: Feedback) -> tuple[str, bool]:
    form = CommentForm(request.POST)
    if not form.is_valid():
        return " ".join(form.errors["text"]), True
    services.feedback_comment_add(
        feedback=feedback, author=request.user, text=form.cleaned_data["text"]
    )
    return MSG_COMMENTED.format(id=feedback.pk), False


def _vote(request: HtmxHttpRequest, feedback: Feedback) -> tuple[str, bool]:
    vote = services.feedback_vote(feedback=feedback, user=request.user)
    return MSG_VOTED.format(id=vote.feedback_id), False


def _after(
    request: HtmxHttpRequest,
    workflow: Workflow,
    feedback: Feedback,
    roles: dict[str, bool],
    *,
    message: str,
    error: bool,
) -> HttpResponse:
    """Run the action's outcome back to the page: the item's partial for htmx (fresh data),
    a flash message and a redirect otherwise."""
    if not request.htmx:
        (messages.error if error else messages.success)(request, message)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = feedback_url(feedback)
        return redirect(target)
    fresh = feedback_get_for_workflow(workflow, feedback.pk, request.user)
    context: dict[str, Any] = {
        "workflow": workflow,
        "item": fresh,
        "row_message": message,
        "row_error": error,
        "next_url": request.POST.get("next", ""),
        **roles,
    }
    if request.POST.get("panel"):  # the inbox's side panel (or a keyboard shortcut) saved
        return _detail(request, workflow, fresh, roles, extra=context, panel=True)
    if (request.htmx.target or "") == f"public-{fresh.pk}":
        return render(request, f"{PAGE}#public-item", context)
    return _detail(request, workflow, fresh, roles, extra=context, partial=True)


def _detail(
    request: HtmxHttpRequest,
    workflow: Workflow,
    feedback: Feedback,
    roles: dict[str, bool],
    *,
    extra: dict[str, Any] | None = None,
    partial: bool = False,
    panel: bool = False,
) -> HttpResponse:
    """The detail page; its body alone (`partial`, after an htmx action on the page); or the
    inbox's side panel (`panel`): the body, the item's inbox row and the confirmation, both
    swapped out of band so the list and the announcement follow the save."""
    context = workflow_page_context(request.user, workflow, tab="feedback")
    context.update(roles)
    context.update(
        item=feedback,
        title=feedback_title(feedback),
        # The full text is the author's and the workflow viewers'; other members see the title.
        show_text=context["can_view"] or feedback.author_id == request.user.pk,
        comments=list(feedback_comment_list(feedback)),
        comment_form=CommentForm(auto_id=f"id_c{feedback.pk}_%s"),
        next_url="",
    )
    if roles["can_triage"]:
        context.update(_triage_choices(workflow), merge_targets=feedback_merge_targets(workflow))
    context.update(extra or {})
    if panel:
        context["panel"] = True
        return render(request, PANEL, context)
    return render(request, f"{DETAIL}#detail-body" if partial else DETAIL, context)
