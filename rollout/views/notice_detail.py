"""One change notice as its owner sees it: the notice as recipients see it, its status, and once
published who it reached, read and acknowledged — per cohort and in total — with the failed
deliveries (and a Retry for each) and who has not acknowledged yet.

Owner, ops leaders and executives (read-only); anyone else gets a 404. POST action `retry`
(owner or ops leader) re-queues one failed delivery.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.models import ChangeNotice, NoticeStatus, Workflow
from rollout.permissions import access_workflow, can_view_notice_stats
from rollout.selectors.notice_stats import (
    notice_delivery_get_failed,
    notice_get_for_stats,
    notice_list_failed_deliveries,
    notice_list_not_acknowledged,
    notice_stats,
)
from rollout.services.notice_delivery import notice_delivery_retry
from rollout.views._workflow import workflow_page_context

MSG_RETRIED = "Queued {recipient}'s {channel} again."
MSG_NOT_RETRYABLE = "That delivery is no longer waiting for a retry."
RETRY = "retry"


def _render(
    request: HtmxHttpRequest,
    workflow: Workflow,
    notice: ChangeNotice,
    *,
    done: str = "",
    error: str = "",
    partial: bool = False,
) -> HttpResponse:
    context = workflow_page_context(request.user, workflow, tab="notices")
    published = notice.status == NoticeStatus.PUBLISHED
    context.update(notice=notice, published=published, done=done, error=error)
    if published:
        stats = notice_stats(notice)
        # The two lists of people page on their own (failed_page=, pending_page=), each keeping
        # the other's page in its links.
        failed = paginate(notice_list_failed_deliveries(notice), request.GET, param="failed_page")
        pending = paginate(notice_list_not_acknowledged(notice), request.GET, param="pending_page")
        context.update(
            stats=stats,
            # Acknowledging is done from the inbox, so everyone acknowledged was delivered.
            not_acknowledged_count=stats.total.delivered - stats.total.acknowledged,
            failed_pages=failed,
            failed=failed["page_obj"].object_list,
            pending_pages=pending,
            not_acknowledged=pending["page_obj"].object_list,
        )
    template = "rollout/notice_detail.html"
    return render(request, template + "#notice-stats" if partial else template, context)


@require_http_methods(["GET", "POST"])
def notice_detail(request: HtmxHttpRequest, slug: str, notice_id: int) -> HttpResponse:
    is_post = request.method == "POST"
    workflow = access_workflow(request.user, slug, for_change=is_post)
    if not can_view_notice_stats(request.user, workflow):
        raise Http404("No such notice.")
    notice = notice_get_for_stats(workflow, notice_id)
    if notice is None:
        raise Http404("No such notice.")
    if not is_post:
        return _render(request, workflow, notice)
    if request.POST.get("action") != RETRY:
        raise Http404("Unknown action.")
    raw = request.POST.get("delivery", "")
    delivery = notice_delivery_get_failed(notice, int(raw) if raw.isdigit() else 0)
    done, error = "", ""
    try:
        if delivery is None:
            raise ApplicationError(MSG_NOT_RETRYABLE)
        notice_delivery_retry(delivery=delivery, actor=request.user)
    except ApplicationError as exc:
        error = exc.message
    else:
        done = MSG_RETRIED.format(
            recipient=delivery.recipient, channel=delivery.get_channel_display().lower()
        )
    if request.htmx:
        return _render(request, workflow, notice, done=done, error=error, partial=True)
    if done:
        messages.success(request, done)
    else:
        messages.error(request, error)
    return redirect("notice_detail", slug=workflow.slug, notice_id=notice.pk)
