"""Reads of a person's notifications: always scoped to the recipient."""

from urllib.parse import urlsplit

from django.db.models import QuerySet
from django.urls import Resolver404, resolve

from accounts.models import User
from rollout.models import Escalation, Notification


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


def notification_escalations(notifications: list[Notification]) -> dict[int, Escalation]:
    """{notification id: escalation} for the notifications that point at an escalation's page
    (the escalation service links each page it sends to the case), with each escalation's
    workflow. One query, whatever the number of notifications."""
    wanted: dict[int, int] = {}
    for notification in notifications:
        try:
            match = resolve(urlsplit(notification.url).path)
        except Resolver404:
            continue
        if match.url_name == "escalation_detail":
            wanted[notification.pk] = match.kwargs["escalation_id"]
    if not wanted:
        return {}
    found = Escalation.objects.select_related("workflow").in_bulk(set(wanted.values()))
    return {
        pk: found[escalation_id] for pk, escalation_id in wanted.items() if escalation_id in found
    }
