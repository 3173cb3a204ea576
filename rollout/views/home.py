from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.roles import is_executive, is_ops_leader
from core.errors import ApplicationError
from core.htmx import HtmxHttpRequest
from rollout.lib.numbers import format_percent
from rollout.models import EscalationStatus, Notification
from rollout.permissions import can_create_workflow
from rollout.selectors.escalations import escalation_list_for_contact
from rollout.selectors.feedback import feedback_list_open_for_author
from rollout.selectors.inbox import inbox_list_for_user
from rollout.selectors.notifications import (
    notification_count_unread,
    notification_escalations,
    notification_get_for_recipient,
    notification_list_unread,
)
from rollout.selectors.output_reviews import output_review_waiting_for
from rollout.selectors.portfolio import ADOPTION_DAYS, owned_workflow_rows, portfolio_summary
from rollout.selectors.promotions import promotion_count_pending
from rollout.selectors.workflows import workflow_count_ownerless, workflow_list_ownerless
from rollout.services.escalations import escalation_acknowledge
from rollout.services.notifications import notification_mark_read

# The callout is a to-do list, not a report: the rest is one click away in the filtered portfolio.
OWNERLESS_SHOWN = 10
NOTIFICATIONS_SHOWN = 10
LIST_SHOWN = 10


def _notifications_context(user: User) -> dict[str, object]:
    """The newest unread notifications; one that pages the person about an escalation still open
    and theirs to take on (they are its current contact, or own its workflow) carries it as
    `escalation`, and is answered with "Acknowledge" rather than "Mark as read"."""
    shown = list(notification_list_unread(user)[:NOTIFICATIONS_SHOWN])
    count = notification_count_unread(user) if len(shown) == NOTIFICATIONS_SHOWN else len(shown)
    escalations = notification_escalations(shown)
    for notification in shown:
        escalation = escalations.get(notification.pk)
        theirs = escalation is not None and user.pk in (
            escalation.current_contact_id,
            escalation.workflow.owner_id,
        )
        ackable = theirs and escalation.status == EscalationStatus.OPEN
        notification.escalation = escalation if ackable else None
    return {"notifications": shown, "unread_count": count}


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    """My home: for executives and ops leaders the portfolio in a few numbers first; unread
    notifications, escalations waiting on me, my cohorts' notices (unread first), the workflows I
    own with their phase, health, open feedback and escalations, my open feedback, and for ops
    leaders the ownerless ones waiting for an owner."""
    user = request.user
    sees_everything = is_ops_leader(user) or is_executive(user)
    context: dict[str, object] = {
        "owned": owned_workflow_rows(user),
        "can_create": can_create_workflow(user),
        "sees_everything": sees_everything,
        **_notifications_context(user),
        "my_escalations": list(escalation_list_for_contact(user)[:LIST_SHOWN]),
        "my_feedback": list(feedback_list_open_for_author(user)[:LIST_SHOWN]),
        "my_notices": list(inbox_list_for_user(user)[:LIST_SHOWN]),
        "my_review_queues": output_review_waiting_for(user),
    }
    if sees_everything:
        summary = portfolio_summary(user, today=timezone.localdate())
        context["summary"] = summary
        context["adoption_percent"] = format_percent(summary.adoption)
        context["adoption_days"] = ADOPTION_DAYS
    if is_ops_leader(user):
        context["pending_approvals"] = promotion_count_pending()
        shown = list(workflow_list_ownerless(user)[:OWNERLESS_SHOWN])
        context["ownerless"] = shown
        context["ownerless_count"] = (
            workflow_count_ownerless(user) if len(shown) == OWNERLESS_SHOWN else len(shown)
        )
    return render(request, "rollout/home.html", context)


@require_POST
def notification_acknowledge(request: HtmxHttpRequest, notification_id: int) -> HttpResponse:
    """Acknowledge the escalation a notification pages me about, and mark the notification read:
    a plain POST goes on to the escalation's page, htmx gets the list again. Someone else's
    notification, or one about no escalation, is a 404; a refusal (already acknowledged, not
    mine to take on) is said on the home page and changes nothing."""
    try:
        notification = notification_get_for_recipient(request.user, notification_id)
    except Notification.DoesNotExist:
        raise Http404("No such notification.") from None
    escalation = notification_escalations([notification]).get(notification.pk)
    if escalation is None:
        raise Http404("This notification is not about an escalation.")
    try:
        escalation_acknowledge(escalation=escalation, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("home")
    notification_mark_read(recipient=request.user, notification_id=notification.pk)
    messages.success(request, f"Acknowledged: {escalation.title}. The climb stops here.")
    if request.htmx:
        context = _notifications_context(request.user)
        return render(request, "rollout/home.html#notifications", context)
    return redirect("escalation_detail", escalation.workflow.slug, escalation.pk)


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
