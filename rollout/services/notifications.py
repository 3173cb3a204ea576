"""Telling one person something (a threshold alert, a pause on breach): in the app, and by email
when they chose it. The email goes out after commit from a task that marks the row, so a retry
never sends it twice."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.wake import wake
from rollout.models import Notification, Workflow

logger = logging.getLogger(__name__)


def notification_send(
    *,
    recipient: User,
    workflow: Workflow | None,
    title: str,
    body: str = "",
    url: str = "",
    email: bool = False,
) -> Notification:
    """Store an in-app notification and, after commit, email it if the person chose email for
    everything or `email` asks for this one (a per-case choice: an escalation level whose channel
    is email, "email me" on a feedback). The only place that enqueues a notification email."""
    notification = Notification(
        recipient=recipient, workflow=workflow, title=title[:200], body=body[:4000], url=url
    )
    notification.full_clean()
    notification.save()
    if recipient.is_active and (recipient.notify_by_email or email):
        wake("rollout.tasks.email_notification", notification.pk)
    return notification


def notifications_email_pending(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """The sweep: email notifications whose email was not sent (a lost task, a broker outage).
    Returns how many this call sent."""
    due = Notification.objects.filter(
        emailed_at__isnull=True,
        created_at__lte=timezone.now() - older_than,
        recipient__is_active=True,
        recipient__notify_by_email=True,
    ).values_list("pk", flat=True)[:200]
    return sum(notification_email(notification_id=pk) for pk in list(due))


def notification_email(*, notification_id: int) -> bool:
    """Send the notification's email once. Returns whether this call sent it."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .select_related("recipient")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None or not notification.recipient.is_active:
            return False
        link = f"{settings.SITE_URL}{notification.url}" if notification.url else settings.SITE_URL
        send_mail(
            f"[Rollout] {notification.title}",
            f"{notification.body}\n\n{link}\n",
            None,
            [notification.recipient.email],
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True


def notification_mark_read(*, recipient: User, notification_id: int) -> None:
    Notification.objects.filter(
        pk=notification_id, recipient=recipient, read_at__isnull=True
    ).update(read_at=timezone.now())
