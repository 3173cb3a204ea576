"""Telling one person something (a threshold alert, a pause on breach): in the app, and by email
when they want that category of email (escalation pages and approval requests always). The email
goes out after commit from a task that marks the row, so a retry never sends it twice. One that
can be turned off carries a one-click unsubscribe link for its category (RFC 8058)."""

import logging
import smtplib
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from accounts.models import EmailCategory, User
from accounts.unsubscribe import unsubscribe_headers
from core.db import retry_on_lost_connection
from core.mail import FanOutEmail, email_subject, failure_reason, smtp_refused_for_good
from core.text import one_line
from core.wake import wake
from rollout.lib.approval_links import MAX_AGE as APPROVAL_LINK_MAX_AGE
from rollout.models import Feedback, FeedbackVote, Notification, Workflow

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200


def notification_send(
    *,
    recipient: User,
    workflow: Workflow | None,
    title: str,
    body: str = "",
    url: str = "",
    email: EmailCategory | None = None,
    asked_for_email: bool = False,
    email_link: str = "",
) -> Notification:
    """Store an in-app notification and, after commit, email it as `email` (its category) if
    the person wants that category, or `asked_for_email` on this one case ("email me" on a
    feedback). None: in the app only. The only place that enqueues a notification email.
    `email_link` (site-relative) is for the email alone: a signed approval link for this
    recipient, put above `url` in the email and never shown in the app."""
    wanted = email is not None and (recipient.wants_email(email) or asked_for_email)
    notification = Notification(
        recipient=recipient,
        workflow=workflow,
        title=one_line(title)[:200],
        body=body[:4000],
        url=url,
        email_link=email_link if wanted else "",
        email_category=email if wanted else "",
    )
    notification.full_clean()
    notification.save()
    if recipient.is_active and wanted:
        wake("rollout.tasks.email_notification", notification.pk)
    return notification


def feedback_email_requests_clear(*, user: User) -> None:
    """Withdraw every "email me" this person asked for on feedback they filed or backed (they
    turned feedback updates off by email). Call it inside their preferences' transaction."""
    Feedback.objects.filter(author=user, notify_by_email=True).update(notify_by_email=False)
    FeedbackVote.objects.filter(user=user, notify_by_email=True).update(notify_by_email=False)


def notifications_email_pending(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """The sweep: email notifications whose email was not sent (a lost task, a broker outage),
    batch after batch until none is due. One that fails for good is given up inside
    `notification_email`; an address refused for now waits for the next sweep and the others go
    on; the mail server unreachable stops the sweep until the next one. Returns how many this call
    sent."""
    sent = 0
    later: set[int] = set()
    while True:
        due = list(
            Notification.objects.filter(
                emailed_at__isnull=True,
                email_error="",
                created_at__lte=timezone.now() - older_than,
                recipient__is_active=True,
            )
            .exclude(email_category="")
            .exclude(pk__in=later)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        for pk in due:
            try:
                if notification_email(notification_id=pk):
                    sent += 1
                else:
                    later.add(pk)  # someone else's now, or not to be emailed: not again this run
            except smtplib.SMTPRecipientsRefused as exc:
                logger.warning("Notification %s: address refused for now: %s", pk, exc)
                later.add(pk)
            except OSError:  # SMTPException included: the server is unreachable or refuses now
                logger.warning("Could not email notification %s; the next sweep tries", pk)
                return sent
        if len(due) < SWEEP_BATCH:
            return sent


def notification_email(*, notification_id: int) -> bool:
    """Send the notification's email once. Returns whether this call sent it. A transient failure
    raises (the task retries, the sweep catches up); one that trying again cannot fix — a header
    Django refuses, an address refused for good, any other error building the message — is
    recorded in `email_error` and the email is not tried again. If the connection is lost under
    the mark after the email went out, the mark is made again on a new connection, so neither a
    retry nor the sweep sends it twice."""
    sent_at = None
    try:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update()
                .select_related("recipient")
                .filter(pk=notification_id, emailed_at__isnull=True, email_error="")
                .exclude(email_category="")
                .first()
            )
            if notification is None or not notification.recipient.is_active:
                return False
            if not _send(notification):
                return False
            sent_at = timezone.now()
            Notification.objects.filter(pk=notification.pk).update(emailed_at=sent_at)
    except (OperationalError, InterfaceError):
        if sent_at is None:
            raise
        retry_on_lost_connection(
            lambda: Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
                emailed_at=sent_at
            )
        )
    return True


def _send(notification: Notification) -> bool:
    """Send it; False when it failed for good (recorded on the row)."""
    link = f"{settings.SITE_URL}{notification.url}" if notification.url else settings.SITE_URL
    recipient = notification.recipient
    try:
        FanOutEmail(
            subject=email_subject(notification.title),
            body=_email_body(notification, link),
            to=[recipient.email],
            headers=unsubscribe_headers(recipient, notification.email_category),
        ).send()
    except OSError as exc:  # SMTPException included
        if not smtp_refused_for_good(exc):
            raise
        _give_up(notification, exc)
        return False
    except (SoftTimeLimitExceeded, DatabaseError):
        raise
    except Exception as exc:
        logger.exception("Notification %s cannot be emailed", notification.pk)
        _give_up(notification, exc)
        return False
    return True


MSG_EMAIL_DECIDE = (
    "Decide on it from this link, made for you alone: sign in, and nothing is decided until you "
    f"press a button on its page. It works for {APPROVAL_LINK_MAX_AGE // timedelta(hours=1)} hours."
)
MSG_EMAIL_PAGE = "Or open its page:"


def _email_body(notification: Notification, link: str) -> str:
    """The workflow first (the subject does not name it), then the text and the link; an
    approval request's signed link before the plain one."""
    head = f"{notification.workflow.name}\n\n" if notification.workflow_id else ""
    if notification.email_link:
        decide = f"{settings.SITE_URL}{notification.email_link}"
        return (
            f"{head}{notification.body}\n\n{MSG_EMAIL_DECIDE}\n{decide}\n\n"
            f"{MSG_EMAIL_PAGE}\n{link}\n"
        )
    return f"{head}{notification.body}\n\n{link}\n"


def _give_up(notification: Notification, exc: BaseException) -> None:
    notification.email_error = failure_reason(exc)
    logger.warning("Notification %s not emailed: %s", notification.pk, notification.email_error)
    notification.save(update_fields=["email_error"])


def notification_mark_read(*, recipient: User, notification_id: int) -> None:
    Notification.objects.filter(
        pk=notification_id, recipient=recipient, read_at__isnull=True
    ).update(read_at=timezone.now())
