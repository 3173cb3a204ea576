"""Reads of a person's notifications: always scoped to the recipient."""

from django.db.models import QuerySet

from accounts.models import User
from rollout.models import Notification


def notification_list_unread(user: User) -> QuerySet[Notification]:
    """The person's unread notifications, newest first."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).order_by(
        "-created_at", "-id"
    )


def notification_get_for_recipient(user: User, notification_id: int) -> Notification:
    """One of the person's own notifications; Notification.DoesNotExist for anyone else's."""
    return Notification.objects.get(pk=notification_id, recipient=user)


def notification_count_unread(user: User) -> int:
    return notification_list_unread(user).count()
