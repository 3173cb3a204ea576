"""One item and its comments: its page, the inbox's side panel, and every action on it as a named
POST (triage and merge for the owner and ops leaders, comment and vote for the people who use the
workflow)."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts.models import User
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.forms.feedback import CommentForm, MergeForm, TriageForm
from rollout.models import Feedback, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.feedback import (
    feedback_comment_list,
    feedback_get_for_workflow,
    feedback_merge_targets,
    feedback_title,
    feedback_url,
)
from rollout.services import feedback as services
from rollout.views._workflow import workflow_page_context
from rollout.views.feedback._common import (
    MSG_UNKNOWN_ACTION,
    PAGE,
    PANEL,
    PANEL_TARGET,
    in_words,
    page_roles,
    triage_choices,
)

DETAIL = "rollout/feedback_detail.html"

MSG_TRIAGED = "Saved #{id}: {changes}."
MSG_COMMENTED = "Comment added to #{id}."
MSG_VOTED = "Counted: you said “me too” to #{id}."
MSG_MERGED = "#{id} is merged into #{into}."

TRIAGER_ACTIONS = {"triage", "merge"}
MEMBER_ACTIONS = {"comment", "vote"}


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
    roles = page_roles(user, workflow)
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
    return MSG_TRIAGED.format(id=feedback.pk, changes=in_words(changes)), False


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
        context.update(triage_choices(workflow), merge_targets=feedback_merge_targets(workflow))
    context.update(extra or {})
    if panel:
        context["panel"] = True
        return render(request, PANEL, context)
    return render(request, f"{DETAIL}#detail-body" if partial else DETAIL, context)
