from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.roles import is_executive, is_ops_leader
from core.htmx import HtmxHttpRequest
from rollout.models import Notification
from rollout.permissions import can_create_workflow
from rollout.selectors.escalations import escalation_list_for_contact
from rollout.selectors.feedback import feedback_list_open_for_author
from rollout.selectors.inbox import inbox_list_for_user
from rollout.selectors.notifications import (
    notification_count_unread,
    notification_get_for_recipient,
    notification_list_unread,
)
from rollout.selectors.promotions import promotion_count_pending
from rollout.selectors.workflows import (
    workflow_count_ownerless,
    workflow_list_owned_by_activity,
    workflow_list_ownerless,
)
from rollout.services.notifications import notification_mark_read

# The callout is a to-do list, not a report: the rest is one click away in the filtered portfolio.
OWNERLESS_SHOWN = 10
NOTIFICATIONS_SHOWN = 10
LIST_SHOWN = 10


def _notifications_context(user: User) -> dict[str, object]:
    shown = list(notification_list_unread(user)[:NOTIFICATIONS_SHOWN])
    count = notification_count_unread(user) if len(shown) == NOTIFICATIONS_SHOWN else len(shown)
    return {"notifications": shown, "unread_count": count}


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    """My home: unread notifications, escalations waiting on me, my cohorts' notices (unread
    first), the workflows I own, my open feedback, and for ops leaders the ownerless ones
    waiting for an owner."""
    user = request.user
    owned = list(workflow_list_owned_by_activity(user))
    context: dict[str, object] = {
        "owned": owned,
        "can_create": can_create_workflow(user),
        "sees_everything": is_ops_leader(user) or is_executive(user),
        **_notifications_context(user),
        "my_escalations": list(escalation_list_for_contact(user)[:LIST_SHOWN]),
        "my_feedback": list(feedback_list_open_for_author(user)[:LIST_SHOWN]),
        "my_notices": list(inbox_list_for_user(user)[:LIST_SHOWN]),
    }
    if is_ops_leader(user):
        context["pending_approvals"] = promotion_count_pending()
        shown = list(workflow_list_ownerless(user)[:OWNERLESS_SHOWN])
        context["ownerless"] = shown
        context["ownerless_count"] = (
            workflow_count_ownerless(user) if len(shown) == OWNERLESS_SHOWN else len(shown)
        )
    return render(request, "rollout/home.html", context)


@require_POST
def notification_read(request: HtmxHttpRequest, notification_id: int) -> HttpResponse:
    """Mark one of my notifications read: htmx gets the list again, a plain POST goes home.
    Someone else's notification is a 404, like one that does not exist."""
    try:
        notification = notification_get_for_recipient(request.user, notification_id)
    except Notification.DoesNotExist:
        raise Http404("No such notification.") from None
    notification_mark_read(recipient=request.user, notification_id=notification.pk)
    if request.htmx:
        context = _notifications_context(request.user)
        return render(request, "rollout/home.html#notifications", context)
    return redirect("home")
