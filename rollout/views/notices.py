"""A workflow's change notices: the list with a "New notice" form, one notice's edit page, and the
live preview both forms post to.

Owner and ops leaders write, schedule and cancel notices; ops leaders approve urgent ones (never
their own); executives read the list. Cohort members get notices in their inbox, not here (404).
Plain POSTs redirect (the pages work without JavaScript, including the "Preview" button); with
htmx the preview re-renders as the author types.
"""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import is_ops_leader
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from core.time_zones import format_instant
from rollout.forms.fields import add_application_error
from rollout.forms.notices import NoticeForm
from rollout.lib.markdown import render_markdown
from rollout.models import ChangeNotice, NoticeAudience, NoticeKind, NoticeStatus, Workflow
from rollout.permissions import access_workflow
from rollout.selectors.cohorts import cohort_list_by_ids
from rollout.selectors.notices import (
    notice_get_for_workflow,
    notice_groups,
    notice_list_for_workflow,
    notice_status_counts,
)

# The module, not its functions: keeps service and view names apart.
from rollout.services import notices as services
from rollout.views._workflow import workflow_page_context

MSG_DRAFTED = "Saved the draft “{title}”."
MSG_SCHEDULED = "Scheduled “{title}” to publish {when}."
MSG_AWAITING = "“{title}” is urgent: it now waits for an ops leader's approval."
MSG_SAVED = "Saved your changes."
MSG_CANCELLED = "Cancelled “{title}”. It will not be published."
MSG_APPROVED = "Approved the urgent notice “{title}”: it is scheduled."
MSG_UNKNOWN_ACTION = "Unknown action."

PREVIEW, DRAFT, SCHEDULE = "preview", "draft", "schedule"
SAVE, PUBLISH_NOW, CANCEL, APPROVE = "save", "publish_now", "cancel", "approve"
EDITABLE = (NoticeStatus.DRAFT, NoticeStatus.AWAITING_APPROVAL, NoticeStatus.SCHEDULED)
GROUP_HEADINGS = {
    NoticeStatus.DRAFT: "Drafts",
    NoticeStatus.AWAITING_APPROVAL: "Waiting for approval",
    NoticeStatus.SCHEDULED: "Scheduled",
    NoticeStatus.PUBLISHED: "Published",
    NoticeStatus.CANCELLED: "Cancelled",
}


def notice_url(workflow: Workflow, notice: ChangeNotice, *, can_change: bool) -> str:
    """Where a notice in the list links: its edit page while it can change, else its detail page
    (delivery's, when that page exists)."""
    kwargs = {"slug": workflow.slug, "notice_id": notice.pk}
    if can_change and notice.status in EDITABLE:
        return reverse("notice_edit", kwargs=kwargs)
    try:
        return reverse("notice_detail", args=[workflow.slug, notice.pk])
    except NoReverseMatch:
        return reverse("notice_edit", kwargs=kwargs) if can_change else ""


def _preview(form: NoticeForm, workflow: Workflow) -> dict[str, Any]:
    """An unsaved notice from whatever the form holds (valid or not), rendered as recipients see
    it, with the audience warning and the urgent hint."""
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    raw = form.data
    notice = ChangeNotice(
        workflow=workflow,
        title=data.get("title") or raw.get("title", ""),
        body=data.get("body") or raw.get("body", ""),
        kind=data.get("kind") or NoticeKind.OTHER,
        audience=data.get("audience") or NoticeAudience.COHORTS,
        include_followers=data.get("include_followers", False),
        publish_at=data.get("publish_at"),
        effective_at=data.get("effective_at"),
        requires_ack=data.get("requires_ack", False),
    )
    notice.body_html = render_markdown(notice.body)
    cohorts = cohort_list_by_ids(workflow, data.get("cohorts") or [])
    hint = services.notice_urgent_hint(notice)
    notice.urgent = bool(hint)
    return {
        "preview": notice,
        "preview_audience": services.notice_audience_label(notice, cohorts),
        "preview_warning": services.notice_audience_warning(notice, cohorts),
        "preview_hint": hint,
    }


def _list_context(request: HtmxHttpRequest, workflow: Workflow) -> dict[str, Any]:
    """The page's notices, 50 at a time in STATUS_ORDER, grouped by status; each group's
    heading counts all the workflow's notices of that status, not only this page's."""
    context = workflow_page_context(request.user, workflow, tab="notices")
    can_change = context["can_change"]
    page = paginate(notice_list_for_workflow(workflow), request.GET)
    counts = notice_status_counts(workflow)
    context.update(page)
    context["groups"] = [
        (
            status,
            GROUP_HEADINGS[status],
            counts.get(status, 0),
            [
                (
                    n,
                    services.notice_audience_label(n),
                    notice_url(workflow, n, can_change=can_change),
                )
                for n in notices
            ],
        )
        for status, notices in notice_groups(workflow, page["page_obj"].object_list)
    ]
    return context


@require_http_methods(["GET", "POST"])
def workflow_notices(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The notices, grouped by status, and a "New notice" form (owner, ops leaders). POST with
    action=preview shows the preview, action=draft saves a draft, action=schedule schedules it."""
    is_post = request.method == "POST"
    workflow = access_workflow(request.user, slug, for_change=is_post)
    context = _list_context(request, workflow)
    form = None
    if context["can_change"]:
        form = NoticeForm(request.POST if is_post else None, workflow=workflow)
    action = request.POST.get("action", DRAFT)
    if is_post and action not in (PREVIEW, DRAFT, SCHEDULE):
        return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
    if is_post and action != PREVIEW and form is not None and form.is_valid():
        create = services.notice_create_scheduled if action == SCHEDULE else services.notice_create
        try:
            notice = create(workflow=workflow, actor=request.user, **form.service_fields())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _done_message(notice))
            return redirect(reverse("notice_edit", args=[workflow.slug, notice.pk]))
    context["form"] = form
    if form is not None:
        context.update(_preview(form, workflow) if form.is_bound else {})
    return render(request, "rollout/workflow_notices.html", context)


def _done_message(notice: ChangeNotice) -> str:
    if notice.status == NoticeStatus.AWAITING_APPROVAL:
        return MSG_AWAITING.format(title=notice.title)
    if notice.status == NoticeStatus.SCHEDULED:
        when = format_instant(notice.publish_at)
        return MSG_SCHEDULED.format(title=notice.title, when=when)
    return MSG_DRAFTED.format(title=notice.title)


@require_POST
def notice_preview(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The preview fragment of the notice being written (htmx, from either form)."""
    workflow = access_workflow(request.user, slug, for_change=True)
    form = NoticeForm(request.POST, workflow=workflow)
    context = {"workflow": workflow, **_preview(form, workflow)}
    return render(request, "rollout/_notice_preview.html", context)


def _notice(workflow: Workflow, notice_id: int) -> ChangeNotice:
    try:
        return notice_get_for_workflow(workflow, notice_id)
    except ChangeNotice.DoesNotExist:
        raise Http404("No such notice.") from None


@require_http_methods(["GET", "POST"])
def notice_edit(request: HtmxHttpRequest, slug: str, notice_id: int) -> HttpResponse:
    """One notice for its authors (owner, ops leaders). POST action=save|preview|schedule|
    publish_now|cancel|approve (approve: an ops leader, not its author)."""
    workflow = access_workflow(request.user, slug, for_change=True)
    notice = _notice(workflow, notice_id)
    form = (
        NoticeForm.for_notice(notice, request.POST or None) if notice.status in EDITABLE else None
    )
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in (PREVIEW, SAVE, SCHEDULE, PUBLISH_NOW, CANCEL, APPROVE):
            return HttpResponseBadRequest(MSG_UNKNOWN_ACTION)
        if action != PREVIEW:
            done = _act(request, notice, action, form)
            if done:
                messages.success(request, done)
                return redirect(reverse("notice_edit", args=[workflow.slug, notice.pk]))
            if form is None:
                # Published or cancelled meanwhile: show the page as it now is.
                return redirect(reverse("notice_edit", args=[workflow.slug, notice.pk]))
            if action != SAVE:
                # The form was not submitted for saving: show the notice's stored values.
                form = NoticeForm.for_notice(notice)
    context = workflow_page_context(request.user, workflow, tab="notices")
    context.update(
        notice=notice,
        form=form,
        audience=services.notice_audience_label(notice),
        warning=services.notice_audience_warning(notice) if form is not None else "",
        can_approve=notice.status == NoticeStatus.AWAITING_APPROVAL
        and is_ops_leader(request.user)
        and notice.created_by_id != request.user.pk,
    )
    if form is not None:
        context.update(_preview(form, workflow) if form.is_bound else _stored_preview(notice))
    return render(request, "rollout/notice_edit.html", context)


def _stored_preview(notice: ChangeNotice) -> dict[str, Any]:
    return {
        "preview": notice,
        "preview_audience": services.notice_audience_label(notice),
        "preview_warning": "",
        "preview_hint": (
            services.notice_urgent_hint(notice) if notice.status == NoticeStatus.DRAFT else ""
        ),
    }


def _act(
    request: HtmxHttpRequest, notice: ChangeNotice, action: str, form: NoticeForm | None
) -> str:
    """Run the action's service and return the message to show; "" when refused (the refusal is
    on the form, or flashed when there is no form to show it)."""
    actor = request.user
    try:
        if action == SAVE:
            if form is None or not form.is_valid():
                if form is None:
                    raise ApplicationError(services.MSG_PUBLISHED)
                return ""
            services.notice_update(notice=notice, actor=actor, **form.service_fields())
            return MSG_SAVED
        if action == CANCEL:
            notice = services.notice_cancel(notice=notice, actor=actor)
            return MSG_CANCELLED.format(title=notice.title)
        if action == APPROVE:
            notice = services.notice_approve_urgent(notice=notice, actor=actor)
            return MSG_APPROVED.format(title=notice.title)
        run = services.notice_publish_now if action == PUBLISH_NOW else services.notice_schedule
        return _done_message(run(notice=notice, actor=actor))
    except ApplicationError as exc:
        if form is not None and action == SAVE:
            add_application_error(form, exc)
        else:
            messages.error(request, exc.message)
        return ""
