"""My inbox of change notices: the list (unread first), one notice (opening it marks it read, a
button acknowledges it) and the unread count the navigation polls."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.htmx import HtmxHttpRequest
from core.pagination import paginate
from rollout.models import NoticeReceipt
from rollout.selectors.inbox import inbox_get_receipt, inbox_list_for_user, inbox_unread_count
from rollout.services.notice_receipts import notice_receipt_acknowledge, notice_receipt_read

MSG_ACKNOWLEDGED = "Thanks — the owner can see you have read this and are ready."


@require_GET
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    """My notices, unread first, newest first, 50 to a page; the unread count is of them all."""
    page = paginate(inbox_list_for_user(request.user), request.GET)
    context = {
        **page,
        "receipts": page["page_obj"].object_list,
        "unread": inbox_unread_count(request.user),
    }
    return render(request, "rollout/inbox.html", context)


@require_http_methods(["GET", "POST"])
def inbox_notice(request: HtmxHttpRequest, receipt_id: int) -> HttpResponse:
    """One notice as its recipient sees it. GET marks it read; POST acknowledges it (htmx gets the
    acknowledgement panel back, a plain POST is redirected here). Others' receipts are a 404."""
    try:
        receipt = inbox_get_receipt(request.user, receipt_id)
    except NoticeReceipt.DoesNotExist:
        raise Http404("No such notice.") from None
    if request.method == "POST":
        notice_receipt_acknowledge(receipt=receipt)
        if not request.htmx:
            messages.success(request, MSG_ACKNOWLEDGED)
            return redirect("inbox_notice", receipt_id=receipt.pk)
        context = {"receipt": receipt, "notice": receipt.notice, "done": MSG_ACKNOWLEDGED}
        return render(request, "rollout/inbox_notice.html#ack-panel", context)
    notice_receipt_read(receipt=receipt)
    return render(
        request, "rollout/inbox_notice.html", {"receipt": receipt, "notice": receipt.notice}
    )


@require_GET
def inbox_count(request: HtmxHttpRequest) -> HttpResponse:
    """The navigation's unread badge (polled by htmx every 60 s)."""
    return render(
        request, "rollout/_inbox_badge.html", {"inbox_unread": inbox_unread_count(request.user)}
    )
