"""Publishing change notices and delivering them exactly once per recipient and channel (rule 6).

The database is the record; the broker only wakes the sender. `notices_publish_due`,
`notice_reminders_send` and `notice_deliveries_send` all pick up whatever is due, so the
every-minute sweep (rollout.tasks.deliver_notices) delivers what a lost wake-up or a broker outage
left behind.

Who is "in scope" (audience "everyone"): the members of every cohort of the workflow, enrolled or
not yet. A cohort about to be enrolled is exactly who must hear of the change ahead of time (rule 3
asks for a notice to the newly enrolled cohorts before the promotion), so "enrolled only" would
miss the people the notice is for. Followers are added when the notice includes them and they may
still see the workflow. Only active users receive anything.

Exactly once, per channel:
* in-app: the inbox row is the receipt; the delivery is re-checked and marked sent inside the
  transaction that holds its row lock, so it happens once or not at all.
* email: a mail server is outside our transaction, so "send, then mark" cannot be atomic. Two
  phases per row: the claim (row lock, SKIP LOCKED, still due?) moves the row to `sending` and
  commits; then the message goes out over the batch's single SMTP connection, then the row is
  marked sent (or failed with the reason, retried with backoff up to MAX_ATTEMPTS). Rows are
  claimed one at a time, so a crash leaves only the message in flight in doubt; the rest of the
  batch stays pending for the next run. A crash between sending and marking
  leaves the row `sending`: it is never re-sent automatically (which could double it). After
  STALE_SENDING it is reported as failed with MSG_INTERRUPTED, and the owner's Retry decides.
  So email is at most once automatically, and never lost silently.
"""

import logging
import smtplib
import time
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import DatabaseError, transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.db import retry_on_lost_connection
from core.errors import ApplicationError
from core.mail import failure_reason, smtp_refused_for_good
from core.wake import wake
from rollout.models import (
    ChangeNotice,
    Cohort,
    CohortMember,
    DeliveryChannel,
    DeliveryStatus,
    Follow,
    NoticeAudience,
    NoticeDelivery,
    NoticeReceipt,
    NoticeStatus,
)
from rollout.permissions import may_use_workflow
from rollout.services.activity import activity_record

logger = logging.getLogger(__name__)

NOTICE, REMINDER = "notice", "reminder"
MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(minutes=1)  # automatic retries after 1, 2, 4, 8 minutes
STALE_SENDING = timedelta(minutes=10)  # longer than a task may run (time_limit=300)
PUBLISH_BATCH = 50
SEND_BATCH = 500  # rows locked per transaction
SEND_BUDGET = 180.0  # seconds of sending per run before handing over (task soft limit: 240)

MSG_INTERRUPTED = (
    "Interrupted while sending: the email may or may not have arrived. Retry sends it again."
)
MSG_NOT_FAILED = "Only a failed delivery can be retried."


# --- Audience ------------------------------------------------------------------------------------


def notice_audience_cohorts(notice: ChangeNotice) -> QuerySet[Cohort]:
    """The cohorts the notice goes to: the chosen ones, or every cohort of the workflow."""
    if notice.audience == NoticeAudience.EVERYONE:
        return Cohort.objects.filter(workflow_id=notice.workflow_id)
    return notice.cohorts.all()


def _followers_who_may_see(notice: ChangeNotice) -> QuerySet[Follow]:
    return Follow.objects.filter(workflow_id=notice.workflow_id, user__is_active=True).filter(
        may_use_workflow(notice.workflow_id)
    )


def notice_audience_resolve(notice: ChangeNotice) -> dict[int, int | None]:
    """`{user_id: cohort_id}` of everyone the notice goes to now (cohort None: a follower).
    Someone in several audience cohorts is counted under the first (lowest id). Two queries."""
    recipients: dict[int, int | None] = {}
    members = CohortMember.objects.filter(
        cohort__in=notice_audience_cohorts(notice), user__is_active=True
    ).order_by("cohort_id", "user_id")
    for user_id, cohort_id in members.values_list("user_id", "cohort_id"):
        recipients.setdefault(user_id, cohort_id)
    if notice.include_followers:
        for user_id in _followers_who_may_see(notice).values_list("user_id", flat=True):
            recipients.setdefault(user_id, None)
    return recipients


# --- Publishing ----------------------------------------------------------------------------------


def notices_publish_due(*, now: datetime | None = None) -> int:
    """Publish every scheduled notice whose publish time has come. Returns how many. Each notice
    is published in its own transaction under its row lock; a notice locked by someone editing it
    is skipped and picked up by the next sweep."""
    now = now or timezone.now()
    published = 0
    for _ in range(PUBLISH_BATCH):
        with transaction.atomic():
            notice = (
                ChangeNotice.objects.select_for_update(skip_locked=True)
                .filter(status=NoticeStatus.SCHEDULED, publish_at__lte=now)
                .order_by("publish_at", "pk")
                .first()
            )
            if notice is None:
                break
            _publish(notice, now)
            published += 1
    return published


def _publish(notice: ChangeNotice, now: datetime) -> None:
    recipients = notice_audience_resolve(notice)
    wants_email = set(
        User.objects.filter(pk__in=recipients, notify_by_email=True).values_list("pk", flat=True)
    )
    NoticeReceipt.objects.bulk_create(
        [
            NoticeReceipt(notice=notice, recipient_id=user_id, cohort_id=cohort_id)
            for user_id, cohort_id in recipients.items()
        ],
        ignore_conflicts=True,
    )
    _create_deliveries(notice, recipients, wants_email, kind=NOTICE)
    before = notice.get_status_display()
    notice.status = NoticeStatus.PUBLISHED
    notice.published_at = now
    notice.save(update_fields=["status", "published_at", "updated_at"])
    activity_record(
        workflow=notice.workflow,
        actor=None,
        verb="published notice",
        target=notice.title,
        changes={
            "status": [before, notice.get_status_display()],
            "recipients": ["—", str(len(recipients))],
        },
    )
    wake_sender()


def _create_deliveries(notice: ChangeNotice, user_ids, wants_email: set[int], *, kind: str) -> None:
    rows = []
    for user_id in user_ids:
        rows.append(
            NoticeDelivery(
                notice=notice, recipient_id=user_id, channel=DeliveryChannel.IN_APP, kind=kind
            )
        )
        if user_id in wants_email:
            rows.append(
                NoticeDelivery(
                    notice=notice, recipient_id=user_id, channel=DeliveryChannel.EMAIL, kind=kind
                )
            )
    # The unique (notice, recipient, channel, kind) constraint makes a second run add nothing.
    NoticeDelivery.objects.bulk_create(rows, ignore_conflicts=True)


def wake_sender() -> None:
    """Wake the sender after commit. The broker is only a wake-up call: if it is down, the sweep
    sends."""
    wake("rollout.tasks.send_notice_deliveries")


# --- Reminders -----------------------------------------------------------------------------------


def notice_reminders_send(*, now: datetime | None = None) -> int:
    """Once per notice: remind those who have not acknowledged, `reminder_hours` before it takes
    effect. A notice published inside that window gets no reminder (it just arrived), nor does
    one already in effect. Returns how many reminders were queued.

    Each notice in its own transaction under its row lock (one held by someone editing it is
    skipped until the next sweep): an error with one notice is logged, leaves that notice for
    the next sweep, and never holds back the others."""
    now = now or timezone.now()
    queued = 0
    candidates = ChangeNotice.objects.filter(
        status=NoticeStatus.PUBLISHED,
        requires_ack=True,
        reminder_hours__isnull=False,
        reminded_at__isnull=True,
        effective_at__gt=now,
    )
    for notice_id in list(candidates.order_by("effective_at", "pk").values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                notice = candidates.select_for_update(skip_locked=True).filter(pk=notice_id).first()
                if notice is not None:
                    queued += _remind(notice, now)
        except (SoftTimeLimitExceeded, DatabaseError):
            raise
        except Exception:
            logger.exception("Reminders of notice %s could not be queued", notice_id)
    if queued:
        wake_sender()
    return queued


def _remind(notice: ChangeNotice, now: datetime) -> int:
    """Queue the notice's reminders if their time has come. Returns how many."""
    remind_at = notice.effective_at - timedelta(hours=notice.reminder_hours)
    if now < remind_at:
        return 0
    queued = 0
    if notice.published_at and notice.published_at < remind_at:
        pending = list(
            NoticeReceipt.objects.filter(
                notice=notice, acknowledged_at__isnull=True, recipient__is_active=True
            ).values_list("recipient_id", "recipient__notify_by_email")
        )
        wants_email = {user_id for user_id, email in pending if email}
        _create_deliveries(notice, [u for u, _ in pending], wants_email, kind=REMINDER)
        queued = len(pending)
    notice.reminded_at = now
    notice.save(update_fields=["reminded_at", "updated_at"])
    return queued


# --- Sending -------------------------------------------------------------------------------------


def _due_q(now: datetime) -> Q:
    """Pending rows, and failed ones whose backoff has passed (1, 2, 4, 8 minutes after the
    attempt that failed; `sent_at` holds when that attempt began)."""
    due = Q(status=DeliveryStatus.PENDING)
    for attempts in range(1, MAX_ATTEMPTS):
        due |= Q(
            status=DeliveryStatus.FAILED,
            attempts=attempts,
            sent_at__lte=now - BACKOFF_BASE * 2 ** (attempts - 1),
        )
    return due


def notice_deliveries_send(
    *, limit: int = SEND_BATCH, now: datetime | None = None, budget: float = SEND_BUDGET
) -> int:
    """Deliver what is due, batch after batch of up to `limit`, until nothing is due (so a
    fan-out to thousands completes from the publish wake-up, not minute by minute from the
    sweep). After `budget` seconds, well inside the task's time limit, it stops and wakes a new
    run for the rest. Returns how many this call delivered.

    Safe to run concurrently and twice: rows are claimed with SKIP LOCKED, and a delivered row is
    never due again. Audience, account and email preference are re-checked at send time; whoever
    no longer qualifies is `skipped`."""
    now = now or timezone.now()
    started = time.monotonic()
    _release_stale_sending(now)
    delivered = 0
    while True:
        claimed, in_app, emails = _claim(limit, now)
        delivered += in_app
        server_down = False
        if emails:
            sent, server_down = _send_emails(emails, now)
            delivered += sent
        if claimed < limit or server_down:
            return delivered  # nothing more due, or the rest waits for the mail server
        if time.monotonic() - started > budget:
            wake_sender()  # a fresh run goes on; the sweep is the safety net
            return delivered


def _send_emails(
    emails: list[tuple[NoticeDelivery, NoticeReceipt]], now: datetime
) -> tuple[int, bool]:
    """Send over one SMTP connection for the whole batch (reopened only after a failure broke
    it); mark each row sent or failed right after its own send. Returns (how many were sent,
    whether it stopped because no connection to the mail server could be opened).

    Failures are isolated per row. A transient one (the server unreachable, a timeout, a 4xx
    answer) is retried with backoff. One that trying again cannot fix — a header Django refuses
    (a title with a line break stored before validation existed), an address the server refuses
    for good (5xx), any other error building or sending this one message — fails the row for
    good with the reason, and the batch goes on."""
    sent = 0
    server_down = False
    connection = mailers.default
    is_open = False
    try:
        for delivery, receipt in emails:
            if not _claim_one(delivery, now):
                continue
            try:
                message = _email_message(delivery, receipt)
                if not is_open:
                    connection.open()
                    is_open = True
                if connection.send_messages([message]) != 1:
                    raise smtplib.SMTPException("The mail server accepted no recipient.")
            except (smtplib.SMTPException, OSError) as exc:
                if smtp_refused_for_good(exc):
                    _mark_failed(delivery, failure_reason(exc), permanent=True)
                    continue
                _mark_failed(delivery, failure_reason(exc))
                connection.close()
                if not is_open:
                    server_down = True
                    break  # no connection at all: the rest stay pending for the next sweep
                is_open = False
            except (SoftTimeLimitExceeded, DatabaseError):
                raise  # not this message's fault: the row stays `sending`, reported later
            except Exception as exc:
                logger.exception("Notice delivery %s cannot be sent", delivery.pk)
                _mark_failed(delivery, failure_reason(exc), permanent=True)
            else:
                _mark_sent(delivery)
                sent += 1
    finally:
        connection.close()
    return sent, server_down


def _release_stale_sending(now: datetime) -> None:
    """Email rows stuck in `sending` (the worker died mid-send): report, never resend."""
    NoticeDelivery.objects.filter(
        status=DeliveryStatus.SENDING, sent_at__lte=now - STALE_SENDING
    ).update(status=DeliveryStatus.FAILED, last_error=MSG_INTERRUPTED, attempts=MAX_ATTEMPTS)


@transaction.atomic
def _claim(
    limit: int, now: datetime
) -> tuple[int, int, list[tuple[NoticeDelivery, NoticeReceipt]]]:
    """Lock due rows, re-check them (skipping whoever no longer qualifies) and deliver the in-app
    ones, all in one transaction. Returns (rows locked, in-app delivered, [(email delivery, its
    receipt)]): the email rows to claim and send one by one."""
    rows = list(
        NoticeDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(_due_q(now))
        .select_related("notice__workflow", "recipient")
        .order_by("created_at", "pk")[:limit]
    )
    if not rows:
        return 0, 0, []
    receipts = _receipts_for(rows)
    audiences = {
        notice.pk: notice_audience_resolve(notice)
        for notice in {row.notice_id: row.notice for row in rows}.values()
    }
    skipped: list[NoticeDelivery] = []
    in_app: list[NoticeDelivery] = []
    emails = []
    for row in rows:
        receipt = receipts.get((row.notice_id, row.recipient_id))
        if not _still_wanted(row, receipt, audiences[row.notice_id]):
            skipped.append(row)
        elif row.channel == DeliveryChannel.IN_APP:
            in_app.append(row)
        else:
            emails.append((row, receipt))
    NoticeDelivery.objects.filter(pk__in=[r.pk for r in skipped]).update(
        status=DeliveryStatus.SKIPPED
    )
    NoticeDelivery.objects.filter(pk__in=[r.pk for r in in_app]).update(
        status=DeliveryStatus.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""
    )
    reminded = [receipts[(r.notice_id, r.recipient_id)].pk for r in in_app if r.kind == REMINDER]
    NoticeReceipt.objects.filter(pk__in=reminded).update(reminded_at=now)
    return len(rows), len(in_app), emails


def _claim_one(delivery: NoticeDelivery, now: datetime) -> bool:
    """Move one email row to `sending`, committed before its message goes out: from then on no
    worker (this one included) sends it again on its own. False if another worker got it first.
    One row at a time, so a crash leaves at most the message in flight in doubt."""
    with transaction.atomic():
        claimed = (
            NoticeDelivery.objects.select_for_update(skip_locked=True)
            .filter(_due_q(now), pk=delivery.pk)
            .values_list("pk", flat=True)
            .first()
        )
        if claimed is None:
            return False
        NoticeDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENDING, sent_at=now, attempts=F("attempts") + 1
        )
    return True


def _receipts_for(rows: list[NoticeDelivery]) -> dict[tuple[int, int], NoticeReceipt]:
    pairs = Q()
    for notice_id in {r.notice_id for r in rows}:
        pairs |= Q(
            notice_id=notice_id,
            recipient_id__in=[r.recipient_id for r in rows if r.notice_id == notice_id],
        )
    return {(r.notice_id, r.recipient_id): r for r in NoticeReceipt.objects.filter(pairs)}


def _still_wanted(
    row: NoticeDelivery, receipt: NoticeReceipt | None, audience: dict[int, int | None]
) -> bool:
    if receipt is None or not row.recipient.is_active or row.recipient_id not in audience:
        return False
    if row.notice.status != NoticeStatus.PUBLISHED:
        return False
    if row.channel == DeliveryChannel.EMAIL and not row.recipient.notify_by_email:
        return False
    return not (row.kind == REMINDER and receipt.acknowledged_at is not None)


def _email_message(delivery: NoticeDelivery, receipt: NoticeReceipt) -> EmailMultiAlternatives:
    notice = delivery.notice
    is_reminder = delivery.kind == REMINDER
    context = {
        "notice": notice,
        "workflow": notice.workflow,
        "recipient": delivery.recipient,
        "is_reminder": is_reminder,
        "link": settings.SITE_URL + reverse("inbox_notice", kwargs={"receipt_id": receipt.pk}),
    }
    prefix = "Reminder: " if is_reminder else ""
    message = EmailMultiAlternatives(
        subject=f"[Rollout] {prefix}{notice.workflow.name}: {notice.title}"[:250],
        body=render_to_string("rollout/email/notice.txt", context),
        to=[delivery.recipient.email],
    )
    message.attach_alternative(render_to_string("rollout/email/notice.html", context), "text/html")
    return message


def _mark_sent(delivery: NoticeDelivery) -> None:
    retry_on_lost_connection(
        lambda: NoticeDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error=""
        )
    )


def _mark_failed(delivery: NoticeDelivery, reason: str, *, permanent: bool = False) -> None:
    """Record the failure; a permanent one uses up the attempts, so only the owner's Retry sends
    the row again. Both marks survive a lost connection (core.db): the message is out, or was
    refused, whatever happens to the connection after; without the retry the row would be
    reported "interrupted" and a Retry would send it twice."""
    logger.warning("Notice delivery %s failed: %s", delivery.pk, reason)
    changes: dict[str, object] = {"status": DeliveryStatus.FAILED, "last_error": reason}
    if permanent:
        changes["attempts"] = MAX_ATTEMPTS
    retry_on_lost_connection(
        lambda: NoticeDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            **changes
        )
    )


# --- The owner's retry ---------------------------------------------------------------------------


@transaction.atomic
def notice_delivery_retry(*, delivery: NoticeDelivery, actor: User) -> NoticeDelivery:
    """Send a failed delivery again (also one whose outcome is unknown after a crash: the owner
    accepts that it may arrive twice). Raises ApplicationError unless it failed."""
    locked = NoticeDelivery.objects.select_for_update().select_related("notice", "recipient")
    delivery = locked.get(pk=delivery.pk)
    if delivery.status != DeliveryStatus.FAILED:
        raise ApplicationError(MSG_NOT_FAILED)
    delivery.status = DeliveryStatus.PENDING
    delivery.save(update_fields=["status"])
    activity_record(
        workflow=delivery.notice.workflow,
        actor=actor,
        verb="retried delivery of notice",
        target=delivery.notice.title,
        changes={
            "recipient": ["—", delivery.recipient.email],
            "channel": ["—", delivery.get_channel_display()],
        },
        note=delivery.last_error,
    )
    wake_sender()
    return delivery


def notice_sweep(*, now: datetime | None = None) -> int:
    """The every-minute sweep: publish due notices, queue due reminders, send due deliveries, so a
    broker that was down at publish time only delays delivery. Returns deliveries sent."""
    notices_publish_due(now=now)
    notice_reminders_send(now=now)
    return notice_deliveries_send(now=now)
